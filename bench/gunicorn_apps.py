"""WSGI apps the benches start under gunicorn (`bench.gunicorn_apps:<factory>()`)."""
from __future__ import annotations

from flask import jsonify

from server import create_app

PING_PATH = "/bench/ping"
FIXED_PATH = "/bench/fixed"
# What the routes bench asks the signer for; the fixed route answers a copy of this answer.
SIGN_QUERY = "filename=%E7%85%A7%E7%89%87.jpg&size=123456"
SIGN_PATH = "/generate_signature?" + SIGN_QUERY


def signer_with_ping():
    """The production app from the environment (local mode), plus two trivial JSON routes as baselines:
    a tiny answer, and a fixed answer of the same size and shape as the signing route's."""
    app = create_app()
    app.add_url_rule(PING_PATH, "bench_ping", lambda: jsonify({"ok": True}))
    # One real answer, taken once: serialising it per request costs what the signing route's
    # serialisation costs, so the ratio isolates the signing work itself.
    fixed = app.extensions["upload_signer"].sign("照片.jpg", "123456")

    def fixed_answer():
        response = jsonify(fixed)
        response.headers["Cache-Control"] = "no-store"  # the same headers as the signing route
        return response

    app.add_url_rule(FIXED_PATH, "bench_fixed", fixed_answer)
    return app
