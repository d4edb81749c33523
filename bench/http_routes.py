"""Requests per second of /generate_signature next to a trivial JSON route of the same app.

Both routes run through the same Flask app, threaded werkzeug server on 127.0.0.1 and one
keep-alive http.client connection, in alternating rounds, so the ratio isolates what signing
adds to a request.
"""
from __future__ import annotations

import http.client
import json
import logging
import socket
import tempfile
import threading
import time

from flask import jsonify
from werkzeug.serving import make_server

from server import create_app

from .gunicorn_run import QUOTA_ON
from .users import AUTH_ENV, tokens

GOAL_RATIO = 0.8
SIGN_PATH = "/generate_signature?filename=%E7%85%A7%E7%89%87.jpg&size=123456"
PING_PATH = "/bench/ping"
_AUTHS = [{"Authorization": f"Bearer {token}"} for token in tokens()]


def build_app(storage_dir: str):
    app = create_app(
        {
            "CREDENTIALS_TYPE": "local",
            "AUTH_REQUIRED": "false",
            "LOCAL_OSS_DIR": storage_dir,
            "SIGN_RATE_LIMIT": "1000000000/second",
            **QUOTA_ON,
            **AUTH_ENV,
        }
    )
    app.add_url_rule(PING_PATH, "bench_ping", lambda: jsonify({"ok": True}))
    return app


class Server:
    def __init__(self, app, port: int = 0):
        self._server = make_server("127.0.0.1", port, app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


def _hammer(connection: http.client.HTTPConnection, path: str, count: int) -> float:
    """Requests per second for `count` sequential requests on one kept-alive connection, signed in as
    the bench's users in turn (the trivial route ignores the header)."""
    started = time.perf_counter()
    for n in range(count):
        connection.request("GET", path, headers=_AUTHS[n % len(_AUTHS)])
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}: {body[:200]!r}")
    return count / (time.perf_counter() - started)


def measure(requests: int, rounds: int) -> tuple:
    quiet = logging.getLogger("werkzeug")
    level, quiet.level = quiet.level, logging.ERROR  # one access-log line per request would dominate
    server_log = logging.getLogger("server")
    server_level, server_log.level = server_log.level, logging.WARNING
    try:
        with tempfile.TemporaryDirectory() as storage, Server(build_app(storage)) as server:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            connection.connect()
            # Like any load generator: don't let Nagle's algorithm hold small requests back.
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # Warm up both routes (first fetch of credentials, imports, connection).
            _hammer(connection, SIGN_PATH, 5)
            _hammer(connection, PING_PATH, 5)
            json.loads(_get(connection, SIGN_PATH))  # the route really signs
            sign, ping = [], []
            for round_no in range(rounds):
                # Alternate which route goes first so neither always gets the warmer machine.
                order = [(SIGN_PATH, sign), (PING_PATH, ping)]
                for path, results in order if round_no % 2 == 0 else reversed(order):
                    results.append(_hammer(connection, path, requests))
            connection.close()
    finally:
        quiet.level = level
        server_log.level = server_level
    return max(sign), max(ping)


def _get(connection, path: str) -> bytes:
    connection.request("GET", path, headers=_AUTHS[0])
    return connection.getresponse().read()


def run(size) -> dict:
    sign_rps, ping_rps = measure(size.requests, size.http_rounds)
    ratio = sign_rps / ping_rps
    met = ratio >= GOAL_RATIO
    print(
        f"http (werkzeug threaded, 1 keep-alive client, {size.requests} requests x {size.http_rounds} rounds, best round):"
    )
    print(f"  /generate_signature: {sign_rps:,.0f} req/s")
    print(f"  {PING_PATH} (trivial JSON): {ping_rps:,.0f} req/s")
    print(f"  ratio: {ratio:.2f}; goal: >= {GOAL_RATIO} -> {'met' if met else 'NOT met'}")
    return {"sign_rps": sign_rps, "ping_rps": ping_rps, "ratio": ratio, "goal": GOAL_RATIO, "met": met}
