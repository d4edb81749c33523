"""Keep-alive HTTP load on 127.0.0.1: wrk when installed, else a threaded Python client.

Both report the same numbers: requests, requests/s, p50/p99 latency (ms) and failed requests.
Every run is bounded by `seconds`.
"""
from __future__ import annotations

import http.client
import itertools
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence

from .pinning import Pinning


@dataclass
class Load:
    tool: str
    connections: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    failed: int


def tool() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def run(port: int, path: str, connections: int, seconds: float, pin: Optional[Pinning] = None,
        tokens: Sequence[str] = ()) -> Load:
    """Load for `seconds`; with `pin`, the client runs on the pinning's client cores. With `tokens`, the
    requests carry `Authorization: Bearer <token>`, taking the tokens in turn (many signed-in users)."""
    if tool() == "wrk":
        if pin and pin.pinned:
            return _wrk(port, path, connections, seconds, pin.client_prefix(), len(pin.client), tokens)
        return _wrk(port, path, connections, seconds, [], 2, tokens)
    if pin:
        with pin.client_threads():
            return _python(port, path, connections, seconds, tokens)
    return _python(port, path, connections, seconds, tokens)


def _rotation(tokens: Sequence[str]):
    """Headers for the next request: the tokens in turn (none without tokens); thread-safe enough (GIL)."""
    if not tokens:
        return lambda: {}
    turn = itertools.cycle([{"Authorization": f"Bearer {token}"} for token in tokens])
    return lambda: next(turn)


# wrk asks this script for every request: the tokens in turn, one counter per wrk thread.
_WRK_TOKENS = """local tokens = {%s}
local turn = 0
request = function()
  turn = turn %% #tokens + 1
  return wrk.format(nil, nil, {["Authorization"] = "Bearer " .. tokens[turn]})
end
"""


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def _wrk(port: int, path: str, connections: int, seconds: float, prefix: List[str], threads: int,
         tokens: Sequence[str] = ()) -> Load:
    threads = min(threads, connections)  # one wrk thread per core it may use
    command = [*prefix, "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
               "--timeout", "5s", f"http://127.0.0.1:{port}{path}"]
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        if tokens:
            script = os.path.join(folder, "tokens.lua")
            with open(script, "w", encoding="ascii") as handle:
                handle.write(_WRK_TOKENS % ", ".join(f'"{token}"' for token in tokens))
            command[-1:-1] = ["-s", script]
        out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    requests = int(total.group(1))
    elapsed = _ms(total.group(2) + total.group(3)) / 1000
    failed = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors:
        failed += sum(int(n) for n in errors.groups())
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    return Load("wrk", connections, requests, elapsed, requests / elapsed, p50, p99, failed)


def _python(port: int, path: str, connections: int, seconds: float, tokens: Sequence[str] = ()) -> Load:
    latencies: List[List[float]] = [[] for _ in range(connections)]
    headers = _rotation(tokens)
    failures = [0] * connections
    deadline = time.perf_counter() + seconds

    def client(slot: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mine = latencies[slot]
        while True:
            started = time.perf_counter()
            if started >= deadline:
                break
            ok = _get_ok(connection, path, headers())
            mine.append((time.perf_counter() - started) * 1000)
            failures[slot] += 0 if ok else 1
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 15)
    elapsed = time.perf_counter() - started
    merged = sorted(value for mine in latencies for value in mine)
    if not merged:
        raise RuntimeError(f"no request to {path} completed")
    return Load("python", connections, len(merged), elapsed, len(merged) / elapsed,
                percentile(merged, 50), percentile(merged, 99), sum(failures))


def _get_ok(connection: http.client.HTTPConnection, path: str, headers: Optional[dict] = None) -> bool:
    """One GET on a keep-alive connection; a broken connection is closed so the next call reopens it."""
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        connection.close()
        return False


def percentile(ordered: List[float], pct: float) -> float:
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def exactly(port: int, path: str, connections: int, total: int, timeout: float = 300.0,
            tokens: Sequence[str] = ()) -> int:
    """Send exactly `total` requests over `connections` keep-alive connections; the number that failed."""
    headers = _rotation(tokens)
    lock = threading.Lock()
    left = [total]
    failed = [0]
    deadline = time.monotonic() + timeout

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < deadline:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
            ok = _get_ok(connection, path, headers())
            if not ok:
                with lock:
                    failed[0] += 1
        connection.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 15)
    return failed[0] + left[0]
