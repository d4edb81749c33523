"""Loopback networking for tests: a free port, and servers run in a background thread."""
from __future__ import annotations

import contextlib
import socket
import threading

from werkzeug.serving import make_server


def free_port() -> int:
    """A port free on 127.0.0.1 right now (another process may still take it; tests accept that)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running(server):
    """Serve a socketserver-style `server` in a daemon thread; shut down and closed on exit."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def serve(app, port: int = 0):
    """Run a WSGI app on 127.0.0.1 (a free port unless given); yields its base URL."""
    with running(make_server("127.0.0.1", port, app, threaded=True)) as server:
        yield f"http://127.0.0.1:{server.server_port}"
