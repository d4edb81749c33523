"""server/ratelimit.py's in-process store (memory://): a moving window per key, no background threads."""
from __future__ import annotations

import threading

import pytest

from server import ratelimit
from server.errors import ApiError


def test_moving_window_frees_hits_as_they_age_and_forgets_idle_keys(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: now[0])
    limits = ratelimit.RateLimits("memory://")
    threads_before = threading.active_count()
    for _ in range(2):
        limits.hit("2/minute", "sign-user", "alice")
        now[0] += 20
    with pytest.raises(ApiError) as refused:  # 2 hits in the last 60 s
        limits.hit("2/minute", "sign-user", "alice")
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "20"  # the first hit ages out at 60 s
    limits.hit("2/minute", "sign-user", "bob")  # another key has its own window
    now[0] += 20
    limits.hit("2/minute", "sign-user", "alice")  # the first hit left the window
    assert threading.active_count() == threads_before
    now[0] += ratelimit.SWEEP_EVERY_SECONDS + 60
    limits.hit("2/minute", "login-ip", "carol")  # the sweep forgets keys idle for a whole window
    assert set(limits._memory._hits) == {("login-ip", "carol")}
