"""WSGI apps the benches start under gunicorn (`bench.gunicorn_apps:<factory>()`)."""
from __future__ import annotations

from flask import jsonify

from server import create_app

PING_PATH = "/bench/ping"


def signer_with_ping():
    """The production app from the environment, plus a trivial JSON route as the baseline."""
    app = create_app()
    app.add_url_rule(PING_PATH, "bench_ping", lambda: jsonify({"ok": True}))
    return app
