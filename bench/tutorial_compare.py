"""Our server (ram_role_arn, cached credentials) against the tutorial's design (AssumeRole on
every request), both under deploy/gunicorn.conf.py, both behind the same loopback STS stand-in
that answers after 50 ms.

Both servers and the stand-in share the same pinned cores, the load generator has its own
(bench/pinning.py). Both servers stay up while the rounds alternate between them; the medians
of the rounds are reported.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import statistics
import subprocess
import sys

from . import loadgen, pinning
from .gunicorn_run import gunicorn
from .users import AUTH_ENV, tokens

STS_DELAY_MS = 50
GOAL_LATENCY_X = 50
GOAL_RPS_X = 10
CONCURRENT = 8
SIGN_PATH = "/generate_signature?filename=a.jpg&size=1024"
# (seconds of sequential requests, seconds at 8 connections, rounds, counted signatures: ours, tutorial's)
PLAN = {"tiny": (1, 1, 1, 50, 50), "small": (2, 3, 3, 2_000, 300), "full": (3, 5, 5, 10_000, 2_000)}
WORKERS, THREADS = 1, 8  # deploy/gunicorn.conf.py (memory:// rate limits: one worker)
# (name, app, its own settings, readiness probe). Ours signs for signed-in users (users.py) with the quota
# on, as in production; the tutorial's design has neither, and ignores the header.
APPS = (("ours", "server:create_app()", AUTH_ENV, "/healthz"), ("tutorial", "bench.tutorial_app:app", {}, SIGN_PATH))
USERS = tokens()

CLOUD_ENV = {
    # The tutorial's own names; our server accepts them as aliases.
    "OSS_ACCESS_KEY_ID": "LTAI5tBenchAccessKeyId",
    "OSS_ACCESS_KEY_SECRET": "bench-long-term-secret",
    "OSS_STS_ROLE_ARN": "acs:ram::1234567890123456:role/bench",
    "CREDENTIALS_TYPE": "ram_role_arn",
}


@contextlib.contextmanager
def sts_standin(prefix=()):
    child = subprocess.Popen([*prefix, sys.executable, "-m", "bench.sts_standin", "--delay-ms", str(STS_DELAY_MS)],
                             stdout=subprocess.PIPE, text=True)
    try:
        yield int(child.stdout.readline())
    finally:
        child.terminate()
        child.wait(10)


def sts_calls(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/calls")
    calls = json.loads(connection.getresponse().read())["calls"]
    connection.close()
    return calls


@contextlib.contextmanager
def _started(app_spec: str, settings: dict, ready_path: str, sts_port: int, counted: int, pin):
    """Yield (port, STS calls over the server's life so far) after `counted` signatures."""
    env = {**CLOUD_ENV, "STS_ENDPOINT": f"http://127.0.0.1:{sts_port}", **settings}
    before = sts_calls(sts_port)
    with gunicorn(app_spec, env, ready_path=ready_path, prefix=pin.server_prefix()) as port:
        # STS calls over the server's whole life, start-up included, for a known number of
        # signatures (a timed load generator cuts requests off mid-flight, so it can't count them).
        probes = 1 if ready_path == SIGN_PATH else 0  # a readiness probe that signed
        failed = loadgen.exactly(port, SIGN_PATH, CONCURRENT, counted - probes, tokens=USERS)
        if failed:
            raise RuntimeError(f"{app_spec}: {failed} failed requests")
        yield port, sts_calls(sts_port) - before


def _load(port: int, connections: int, seconds: float, pin) -> loadgen.Load:
    result = loadgen.run(port, SIGN_PATH, connections, seconds, pin, USERS)
    if result.failed:
        raise RuntimeError(f"{result.failed} failed requests at {connections} connection(s)")
    return result


def _measure(sts_port: int, seq_seconds: float, conc_seconds: float, rounds: int, counts: dict, pin) -> dict:
    with contextlib.ExitStack() as stack:
        ports, calls = {}, {}
        for name, app_spec, settings, ready_path in APPS:  # one after the other: each server's STS calls are its own
            ports[name], calls[name] = stack.enter_context(
                _started(app_spec, settings, ready_path, sts_port, counts[name], pin))
        sequential = {name: [] for name, *_ in APPS}
        concurrent = {name: [] for name, *_ in APPS}
        for round_no in range(rounds):
            order = APPS if round_no % 2 == 0 else APPS[::-1]
            for name, *_ in order:
                sequential[name].append(_load(ports[name], 1, seq_seconds, pin))
                concurrent[name].append(_load(ports[name], CONCURRENT, conc_seconds, pin))
    return {name: {"sequential": _medians(sequential[name]), "concurrent": _medians(concurrent[name]),
                   "concurrent_rounds": [r.rps for r in concurrent[name]],
                   "sts_calls": calls[name], "signatures": counts[name]} for name, *_ in APPS}


def _medians(loads: list) -> dict:
    return {"tool": loads[0].tool, "connections": loads[0].connections, "rounds": len(loads),
            "rps": statistics.median(load.rps for load in loads),
            "p50_ms": statistics.median(load.p50_ms for load in loads),
            "p99_ms": statistics.median(load.p99_ms for load in loads)}


def run(size) -> dict:
    seq_seconds, conc_seconds, rounds, ours_count, tutorial_count = PLAN[size.name]
    pin = pinning.plan()
    with sts_standin(pin.server_prefix()) as sts_port:
        measured = _measure(sts_port, seq_seconds, conc_seconds, rounds,
                            {"ours": ours_count, "tutorial": tutorial_count}, pin)
    ours, tutorial = measured["ours"], measured["tutorial"]
    latency_x = tutorial["sequential"]["p50_ms"] / ours["sequential"]["p50_ms"]
    rps_x = ours["concurrent"]["rps"] / tutorial["concurrent"]["rps"]
    per_10k = {name: r["sts_calls"] / r["signatures"] * 10_000 for name, r in (("ours", ours), ("tutorial", tutorial))}
    workers = WORKERS
    met = {"latency": latency_x >= GOAL_LATENCY_X, "rps": rps_x >= GOAL_RPS_X,
           "sts": ours["sts_calls"] <= workers}
    print(f"against the tutorial's design (STS stand-in answers in {STS_DELAY_MS} ms; gunicorn deploy config; "
          f"{loadgen.tool()}; {rounds} alternating round(s), median of rounds):")
    print(f"  {pin.note}")
    for label, r in (("ours (cached STS credentials)", ours), ("tutorial (AssumeRole per request)", tutorial)):
        print(f"  {label}: sequential p50 {r['sequential']['p50_ms']:.2f} ms; "
              f"{CONCURRENT} connections {r['concurrent']['rps']:,.0f} req/s (p99 {r['concurrent']['p99_ms']:.1f} ms); "
              f"STS calls {r['sts_calls']} for {r['signatures']:,} signatures")
    print(f"  median latency {latency_x:,.0f}x lower; goal: >= {GOAL_LATENCY_X}x -> {'met' if met['latency'] else 'NOT met'}")
    print(f"  req/s at {CONCURRENT} connections {rps_x:,.1f}x higher; goal: >= {GOAL_RPS_X}x -> {'met' if met['rps'] else 'NOT met'}")
    print(f"  the tutorial's ceiling: {THREADS} gthreads / {STS_DELAY_MS} ms per AssumeRole = "
          f"{THREADS * 1000 / STS_DELAY_MS:,.0f} req/s; {GOAL_RPS_X}x its measured rate needs "
          f"{GOAL_RPS_X * tutorial['concurrent']['rps']:,.0f} req/s from our {WORKERS} worker")
    print(f"  STS calls: ours {ours['sts_calls']} for {ours['signatures']:,} signatures ({workers} worker, one "
          f"credential lifetime); tutorial {tutorial['sts_calls']} for {tutorial['signatures']:,} "
          f"(= {per_10k['tutorial']:,.0f} per 10,000); goal: ours <= {workers} per worker per credential lifetime -> "
          f"{'met' if met['sts'] else 'NOT met'}")
    return {
        "name": "tutorial_compare", "tool": loadgen.tool(), "pinning": pin.note, "pinned": pin.pinned,
        "ours": ours, "tutorial": tutorial,
        "latency_x": latency_x, "rps_x": rps_x, "sts_per_10k": per_10k, "met": all(met.values()),
        "rows": [
            ("vs tutorial: sequential median latency (x lower)", f"{latency_x:,.0f}x", f">= {GOAL_LATENCY_X}x", met["latency"]),
            (f"vs tutorial: req/s at {CONCURRENT} connections (x higher)", f"{rps_x:,.1f}x", f">= {GOAL_RPS_X}x", met["rps"]),
            ("STS calls for N signatures (ours / tutorial's)",
             f"{ours['sts_calls']} per {ours['signatures']:,} / {tutorial['sts_calls']:,} per {tutorial['signatures']:,}",
             f"ours <= {workers} (1 worker, 1 lifetime)", met["sts"]),
        ],
    }
