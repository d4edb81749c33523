"""Signing throughput of the shipped gunicorn config with 1 and with 2 workers, side by side.

deploy/gunicorn.conf.py runs a worker per core when the rate limits are shared (Redis) and one with
memory://. Here both servers use the same config and the same store (memory://; the bench's limit
is never reached), and only `-w` differs, so the ratio is what the second worker adds. Neither is
pinned: two workers need both cores, so the load generator shares them, as any client on the same
machine would. Rounds alternate the two servers; medians are reported.
"""
from __future__ import annotations

import statistics

from . import loadgen
from .gunicorn_apps import SIGN_PATH
from .gunicorn_run import gunicorn
from .users import AUTH_ENV, tokens

CONNECTIONS = 8
WORKERS = (1, 2)
# (seconds per run, rounds)
PLAN = {"tiny": (1, 1), "small": (3, 3), "full": (5, 5)}


def measure(seconds: float, rounds: int) -> dict:
    results = {n: [] for n in WORKERS}
    env = {"CREDENTIALS_TYPE": "local", **AUTH_ENV}
    users = tokens()
    with gunicorn("server:create_app()", env, args=("-w", "1")) as one, \
            gunicorn("server:create_app()", env, args=("-w", "2")) as two:
        ports = {1: one, 2: two}
        for workers, port in ports.items():
            if loadgen.exactly(port, SIGN_PATH, CONNECTIONS, 200, tokens=users):
                raise RuntimeError(f"{workers} worker(s): failed requests while warming up")
        for round_no in range(rounds):
            for workers in WORKERS if round_no % 2 == 0 else WORKERS[::-1]:
                load = loadgen.run(ports[workers], SIGN_PATH, CONNECTIONS, seconds, tokens=users)
                if load.failed:
                    raise RuntimeError(f"{workers} worker(s): {load.failed} failed requests under load")
                results[workers].append(load)
    return results


def run(size) -> dict:
    seconds, rounds = PLAN[size.name]
    loads = measure(seconds, rounds)
    rps = {n: statistics.median(load.rps for load in loads[n]) for n in WORKERS}
    p50 = {n: statistics.median(load.p50_ms for load in loads[n]) for n in WORKERS}
    ratio = rps[2] / rps[1]
    print(f"gunicorn workers (deploy config with -w 1 / -w 2, quota and login on, SQLite; {loadgen.tool()}, {CONNECTIONS} "
          f"connections, not pinned; {rounds} alternating round(s) x {seconds} s, median):")
    for n in WORKERS:
        print(f"  {n} worker(s): /generate_signature {rps[n]:,.0f} req/s, p50 {p50[n]:.2f} ms")
    print(f"  2 workers / 1 worker: {ratio:.2f}x")
    return {"name": "gunicorn_workers", "rps": rps, "p50_ms": p50, "ratio": ratio, "met": True,
            "rows": [("signing req/s, 2 workers vs 1 (gunicorn, not pinned)", f"{ratio:.2f}x "
                      f"({rps[2]:,.0f} / {rps[1]:,.0f})", "measured", None)]}
