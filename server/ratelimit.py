"""Per-key request limits (moving window), in this process's memory or in Redis for several instances."""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from functools import lru_cache
from typing import Dict, Optional, Tuple

from .errors import ApiError

# How often idle keys are forgotten (memory://): a key whose newest hit is older than its window.
SWEEP_EVERY_SECONDS = 60


@lru_cache(maxsize=32)
def _item(rule: str):
    """"30/minute" as limits' rate item, parsed once per rule (the settings are checked at start-up)."""
    import limits

    return limits.parse(rule)


class _InProcessWindows:
    """memory://: a moving window of hit times per key. limits' own memory store expires hits with a
    timer thread it starts again every 10 ms, a thread start every few requests under load; here a
    key's old hits are dropped when it is next counted, and idle keys in a sweep now and then."""

    def __init__(self):
        self._hits: Dict[tuple, Tuple[int, deque]] = {}
        self._lock = threading.Lock()
        self._next_sweep = time.monotonic() + SWEEP_EVERY_SECONDS

    def hit(self, amount: int, seconds: int, key: tuple) -> Optional[float]:
        """Count one hit and return None, or (window full) return the seconds until one frees up."""
        now = time.monotonic()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            entry = self._hits.get(key)
            if entry is None:
                entry = self._hits[key] = (seconds, deque())
            hits = entry[1]
            while hits and hits[0] <= now - seconds:
                hits.popleft()
            if len(hits) < amount:
                hits.append(now)
                return None
            return hits[0] + seconds - now

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_EVERY_SECONDS
        for key in [k for k, (seconds, hits) in self._hits.items() if not hits or hits[-1] <= now - seconds]:
            del self._hits[key]


class RateLimits:
    def __init__(self, storage_uri: str):
        self._memory = _InProcessWindows() if storage_uri.startswith("memory://") else None
        if self._memory is None:
            from limits.storage import storage_from_string
            from limits.strategies import MovingWindowRateLimiter

            # Redis connections are made lazily, so a down Redis shows up per request, not at start.
            self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, rule: str, scope: str, key: str) -> None:
        """Count one request; ApiError 429 with Retry-After once the window is full."""
        if self._memory is not None:
            item = _item(rule)
            wait = self._memory.hit(item.amount, item.get_expiry(), (scope, key))
        else:
            wait = self._shared_hit(rule, scope, key)
        if wait is None:
            return
        raise ApiError(429, "TooManyRequests", "请求太频繁，请稍后再试", {"Retry-After": str(max(1, math.ceil(wait)))})

    def _shared_hit(self, rule: str, scope: str, key: str) -> Optional[float]:
        item = _item(rule)
        try:
            if self._limiter.hit(item, scope, key):
                return None
            reset_at, _ = self._limiter.get_window_stats(item, scope, key)
        except Exception:
            # A broken limiter store must not open the gate silently, nor crash into a 500.
            raise ApiError(503, "RateLimitUnavailable", "限流存储暂时不可用，请稍后再试") from None
        return reset_at - time.time()
