"""Loopback networking for tests: a free port, and servers run in a background thread."""
from __future__ import annotations

import contextlib
import socket
import threading

from werkzeug.serving import make_server

from server.serving import PathOnlyLogHandler


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


def reserve_port() -> socket.socket:
    """A listening socket on a free loopback port, held until `serve(app, sock=...)` takes it over:
    unlike free_port(), nobody else can take the port in between (tests run in parallel)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@contextlib.contextmanager
def serve(app, port: int = 0, sock: socket.socket = None):
    """Run a WSGI app on 127.0.0.1 (a free port unless given, or a reserve_port() socket); yields
    its base URL."""
    if sock is not None:
        port = sock.getsockname()[1]
        server = make_server("127.0.0.1", port, app, threaded=True, fd=sock.fileno(), request_handler=PathOnlyLogHandler)
        sock.close()  # the server holds its own duplicate
    else:
        # The access log of `python -m server`: paths without queries (they hold signatures and tokens).
        server = make_server("127.0.0.1", port, app, threaded=True, request_handler=PathOnlyLogHandler)
        port = server.server_port
    with running(server):
        yield f"http://127.0.0.1:{port}"
