"""Per-key request limits (moving window), in memory or in Redis for several instances."""
from __future__ import annotations

import math
import time

import limits
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .errors import ApiError


class RateLimits:
    def __init__(self, storage_uri: str):
        # Redis connections are made lazily, so a down Redis shows up per request, not at start.
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, rule: str, scope: str, key: str) -> None:
        """Count one request; ApiError 429 with Retry-After once the window is full."""
        item = limits.parse(rule)
        try:
            allowed = self._limiter.hit(item, scope, key)
        except Exception:
            # A broken limiter store must not open the gate silently, nor crash into a 500.
            raise ApiError(503, "RateLimitUnavailable", "限流存储暂时不可用, 请稍后再试") from None
        if allowed:
            return
        reset_at, _ = self._limiter.get_window_stats(item, scope, key)
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise ApiError(429, "TooManyRequests", "请求太频繁, 请稍后再试", {"Retry-After": str(retry_after)})
