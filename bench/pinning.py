"""Keep the load generator off the server's CPU: the server under test (and its STS stand-in) on
one set of cores, the load generator on another, with `taskset` (util-linux).

On a 2-core machine an unpinned wrk takes CPU time from the one gunicorn worker whenever the
scheduler puts them together, so a route's req/s depends on where the scheduler put them rather
than on the route. Falls back to no pinning, and says so, with one core or without taskset.
BENCH_PIN=off turns pinning off on purpose.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from typing import List, Tuple


@dataclass(frozen=True)
class Pinning:
    server: Tuple[int, ...]  # empty: not pinned
    client: Tuple[int, ...]
    note: str

    @property
    def pinned(self) -> bool:
        return bool(self.server)

    def server_prefix(self) -> List[str]:
        return _taskset(self.server)

    def client_prefix(self) -> List[str]:
        return _taskset(self.client)

    @contextlib.contextmanager
    def client_threads(self):
        """For the in-process Python client: threads started inside inherit the client cores."""
        if not self.pinned:
            yield
            return
        before = os.sched_getaffinity(0)  # 0 is the calling thread on Linux
        os.sched_setaffinity(0, self.client)
        try:
            yield
        finally:
            os.sched_setaffinity(0, before)


def _taskset(cpus: Tuple[int, ...]) -> List[str]:
    return ["taskset", "-c", ",".join(map(str, cpus))] if cpus else []


def plan() -> Pinning:
    if os.environ.get("BENCH_PIN", "").strip().lower() in ("0", "off", "no", "false"):
        return Pinning((), (), "not pinned (BENCH_PIN=off): server and load generator share all cores")
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return Pinning((), (), "not pinned (no CPU affinity on this system): server and load generator share all cores")
    if len(cpus) < 2:
        return Pinning((), (), "not pinned (only 1 core available): server and load generator share it")
    if not shutil.which("taskset"):
        return Pinning((), (), "not pinned (taskset from util-linux not installed): server and load generator share all cores")
    server, client = tuple(cpus[:-1]), (cpus[-1],)
    return Pinning(server, client, f"pinned with taskset: server + STS stand-in on core {_names(server)}, "
                                   f"load generator on core {_names(client)}")


def _names(cpus: Tuple[int, ...]) -> str:
    return ",".join(map(str, cpus))
