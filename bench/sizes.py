"""How much work each bench size does. `tiny` only proves the bench still runs (CI)."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    signatures: int  # per round of the signing core
    core_rounds: int
    requests: int  # per route per round
    http_rounds: int


SIZES = {
    "tiny": Size("tiny", signatures=200, core_rounds=1, requests=20, http_rounds=1),
    "small": Size("small", signatures=5_000, core_rounds=3, requests=300, http_rounds=3),
    "full": Size("full", signatures=20_000, core_rounds=5, requests=1_500, http_rounds=4),
}


def pick(argv) -> Size:
    """First argument, else BENCH_SIZE, else full."""
    name = (argv[0] if argv else os.environ.get("BENCH_SIZE") or "full").strip().lower()
    if name not in SIZES:
        raise SystemExit(f"unknown bench size {name!r}; choose one of: {', '.join(SIZES)}")
    return SIZES[name]
