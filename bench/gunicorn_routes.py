"""/generate_signature next to a trivial JSON route of the same app, both under gunicorn with
deploy/gunicorn.conf.py on 127.0.0.1, loaded by a keep-alive client (wrk when installed).

Local mode with login off: the route's own cost (plan, sign, JSON), not STS or WeChat.
"""
from __future__ import annotations

from . import loadgen
from .gunicorn_apps import PING_PATH
from .gunicorn_run import gunicorn

GOAL_RATIO = 0.8
SIGN_PATH = "/generate_signature?filename=%E7%85%A7%E7%89%87.jpg&size=123456"
# (seconds per run, runs per route, connections)
PLAN = {"tiny": (1, 1, 8), "small": (3, 2, 8), "full": (8, 3, 8)}


def measure(seconds: float, runs: int, connections: int) -> dict:
    env = {"CREDENTIALS_TYPE": "local"}
    with gunicorn("bench.gunicorn_apps:signer_with_ping()", env) as port:
        loadgen.run(port, SIGN_PATH, connections, 1)  # warm-up: imports, first credentials
        loadgen.run(port, PING_PATH, connections, 1)
        best = {}
        for run_no in range(runs):
            # Alternate the order so neither route always gets the quieter machine.
            order = [("sign", SIGN_PATH), ("ping", PING_PATH)]
            for name, path in order if run_no % 2 == 0 else reversed(order):
                result = loadgen.run(port, path, connections, seconds)
                if result.failed:
                    raise RuntimeError(f"{path}: {result.failed} failed requests under load")
                if name not in best or result.rps > best[name].rps:
                    best[name] = result
    return best


def run(size) -> dict:
    seconds, runs, connections = PLAN[size.name]
    best = measure(seconds, runs, connections)
    sign, ping = best["sign"], best["ping"]
    ratio = sign.rps / ping.rps
    met = ratio >= GOAL_RATIO
    print(f"gunicorn (deploy config, {loadgen.tool()}, {connections} keep-alive connections, "
          f"{runs} x {seconds} s per route, best run):")
    for label, r in (("/generate_signature", sign), (f"{PING_PATH} (trivial JSON)", ping)):
        print(f"  {label}: {r.rps:,.0f} req/s, p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms")
    print(f"  ratio: {ratio:.2f}; goal: >= {GOAL_RATIO} -> {'met' if met else 'NOT met'}")
    return {
        "name": "gunicorn_routes", "tool": sign.tool, "connections": connections,
        "sign": vars(sign), "ping": vars(ping), "ratio": ratio, "met": met,
        "rows": [("/generate_signature vs trivial route under gunicorn (req/s ratio)", f"{ratio:.2f}",
                  f">= {GOAL_RATIO}", met)],
    }
