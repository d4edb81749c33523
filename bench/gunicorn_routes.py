"""/generate_signature next to trivial JSON routes of the same app, all under gunicorn with
deploy/gunicorn.conf.py on 127.0.0.1, loaded by a keep-alive client (wrk when installed).

Local mode, with the quota on and login on: the bench's users sign in turn (users.py), so the route's
cost is production's (token, rate-limit count, quota hold, plan, sign, JSON), not STS or WeChat.
The goal compares against a trivial route whose answer has the signing answer's size and shape
(a fixed copy of one real answer), so the ratio measures what signing adds; the tiny-answer route
is printed next to it for transparency. Rounds alternate the routes' order; medians are reported.
"""
from __future__ import annotations

import statistics

from . import loadgen, pinning
from .gunicorn_apps import FIXED_PATH, PING_PATH, SIGN_PATH
from .gunicorn_run import gunicorn
from .users import AUTH_ENV, tokens

GOAL_RATIO = 0.8
# (seconds per run, rounds, connections)
PLAN = {"tiny": (1, 1, 8), "small": (3, 3, 8), "full": (5, 7, 8)}
ROUTES = (("sign", SIGN_PATH), ("fixed", FIXED_PATH), ("ping", PING_PATH))
WARM_UP = 200  # requests per route: imports, first credentials, connection set-up


def measure(seconds: float, rounds: int, connections: int, pin) -> list:
    """One dict per round: route name -> loadgen.Load."""
    env = {"CREDENTIALS_TYPE": "local", **AUTH_ENV}
    users = tokens()  # every route gets the same header; only signing reads it
    with gunicorn("bench.gunicorn_apps:signer_with_ping()", env, prefix=pin.server_prefix()) as port:
        for _, path in ROUTES:
            if loadgen.exactly(port, path, connections, WARM_UP, tokens=users):
                raise RuntimeError(f"{path}: failed requests while warming up")
        results = []
        for round_no in range(rounds):
            # Rotate the order so no route always runs first (or last) in a round.
            shift = round_no % len(ROUTES)
            this_round = {}
            for name, path in ROUTES[shift:] + ROUTES[:shift]:
                result = loadgen.run(port, path, connections, seconds, pin, users)
                if result.failed:
                    raise RuntimeError(f"{path}: {result.failed} failed requests under load")
                this_round[name] = result
            results.append(this_round)
    return results


def _median_load(loads: list) -> dict:
    """Per-metric medians over rounds (a single noisy round cannot decide)."""
    first = loads[0]
    return {"tool": first.tool, "connections": first.connections, "rounds": len(loads),
            "requests": sum(load.requests for load in loads),
            "rps": statistics.median(load.rps for load in loads),
            "p50_ms": statistics.median(load.p50_ms for load in loads),
            "p99_ms": statistics.median(load.p99_ms for load in loads)}


def run(size) -> dict:
    seconds, rounds, connections = PLAN[size.name]
    pin = pinning.plan()
    per_round = measure(seconds, rounds, connections, pin)
    medians = {name: _median_load([r[name] for r in per_round]) for name, _ in ROUTES}
    # Ratios within a round (routes measured back to back), then the median over rounds.
    ratios = [r["sign"].rps / r["fixed"].rps for r in per_round]
    tiny_ratios = [r["sign"].rps / r["ping"].rps for r in per_round]
    ratio, tiny_ratio = statistics.median(ratios), statistics.median(tiny_ratios)
    met = ratio >= GOAL_RATIO
    sign, fixed, ping = medians["sign"], medians["fixed"], medians["ping"]
    print(f"gunicorn (deploy config, {loadgen.tool()}, {connections} keep-alive connections, "
          f"{rounds} round(s) x {seconds} s per route, median of rounds):")
    print(f"  {pin.note}")
    labels = (("/generate_signature", sign),
              (f"{FIXED_PATH} (trivial JSON, same size as the signing answer)", fixed),
              (f"{PING_PATH} (trivial JSON, tiny answer)", ping))
    for label, r in labels:
        print(f"  {label}: {r['rps']:,.0f} req/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms")
    print(f"  per-round ratios vs same-size route: {', '.join(f'{x:.2f}' for x in ratios)}")
    print(f"  ratio vs same-size route: {ratio:.2f}; goal: >= {GOAL_RATIO} -> {'met' if met else 'NOT met'}")
    print(f"  (for transparency, ratio vs tiny-answer route: {tiny_ratio:.2f})")
    return {
        "name": "gunicorn_routes", "tool": loadgen.tool(), "connections": connections, "pinning": pin.note,
        "pinned": pin.pinned, "sign": sign, "fixed": fixed, "ping": ping, "ratio": ratio, "ratio_tiny": tiny_ratio,
        "round_ratios": ratios, "round_ratios_tiny": tiny_ratios, "met": met,
        "rows": [
            ("/generate_signature vs same-size trivial route, gunicorn (req/s ratio)", f"{ratio:.2f}",
             f">= {GOAL_RATIO}", met),
            ("/generate_signature vs tiny trivial route, gunicorn (req/s ratio)", f"{tiny_ratio:.2f}", "-", None),
        ],
    }
