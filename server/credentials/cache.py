"""Cached temporary credentials: refreshed ahead of expiry, one fetch at a time.

Requests never wait on a refresh while the cached credentials are still usable: the refresh
runs in one background thread. Only when nothing usable is cached do requests wait, and then
for at most `wait_timeout` seconds, so a slow or dead STS turns into a quick 503.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Callable, Optional

from ..post_form import Credentials
from .base import CredentialSource, CredentialsUnavailable, SourceError

log = logging.getLogger("server.credentials")


class CredentialCache:
    def __init__(
        self,
        source: CredentialSource,
        clock: Callable[[], datetime],
        *,
        refresh_before: timedelta,
        min_remaining: timedelta,
        wait_timeout: float = 1.5,
        max_backoff: float = 10.0,
    ):
        self.source = source
        self._clock = clock
        self._refresh_before = refresh_before
        self._min_remaining = min_remaining
        self._wait_timeout = wait_timeout
        self._max_backoff = max_backoff
        self._cond = threading.Condition()
        self._creds: Optional[Credentials] = None
        self._refreshing = False
        self._failures = 0
        self._next_attempt: Optional[datetime] = None
        self._last_error: Optional[SourceError] = None

    @property
    def mode(self) -> str:
        return self.source.mode

    def _usable(self, creds: Optional[Credentials], now: datetime) -> bool:
        return creds is not None and creds.expiration - now >= self._min_remaining

    def start(self) -> None:
        """Begin the first fetch without blocking start-up."""
        with self._cond:
            self._start_refresh(self._clock())

    def _fresh(self, creds: Optional[Credentials], now: datetime) -> bool:
        """Not yet due for a refresh."""
        return creds is not None and now < creds.expiration - self._refresh_before

    def get(self) -> Credentials:
        now = self._clock()
        if self._fresh(self._creds, now):
            return self._creds  # fast path: no lock
        with self._cond:
            # A refresh may have finished since the unlocked read: don't start a second one.
            if self._fresh(self._creds, now):
                return self._creds
            self._start_refresh(now)
            if self._usable(self._creds, now):
                return self._creds
            deadline = time.monotonic() + self._wait_timeout
            while self._refreshing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            now = self._clock()
            if self._usable(self._creds, now):
                return self._creds
            raise CredentialsUnavailable(self._describe_failure())

    def status(self) -> dict:
        now = self._clock()
        creds = self._creds
        usable = self._usable(creds, now)
        return {
            "usable": usable,
            "expiresInSeconds": int((creds.expiration - now).total_seconds()) if usable else 0,
            "lastError": self._last_error.cause if self._last_error else None,
        }

    def _describe_failure(self) -> str:
        if self._last_error is not None:
            return self._last_error.cause
        return "refresh in progress" if self._refreshing else "no credentials yet"

    def _start_refresh(self, now: datetime) -> None:
        # Caller holds the lock.
        if self._refreshing or (self._next_attempt is not None and now < self._next_attempt):
            return
        self._refreshing = True
        threading.Thread(target=self._refresh, name="credentials-refresh", daemon=True).start()

    def _refresh(self) -> None:
        try:
            creds = self.source.fetch()
            now = self._clock()
            if not self._usable(creds, now):
                raise SourceError(
                    "ExpiredCredentials",
                    f"the source returned credentials expiring at {creds.expiration.isoformat()}",
                    "检查服务器时钟（chrony）和凭证来源；ECS 元数据服务不可达时 SDK 会返回过期凭证",
                )
        except SourceError as error:
            self._record_failure(error)
        except Exception as error:  # a bug or an SDK surprise must not kill the refresher
            self._record_failure(SourceError("UnexpectedError", f"{type(error).__name__}: {error}"))
        else:
            with self._cond:
                recovered = self._last_error is not None
                self._creds = creds
                self._failures = 0
                self._last_error = None
                # If what we got is already due (a short-lived role), don't refetch on every request.
                due = not self._fresh(creds, now)
                self._next_attempt = now + timedelta(seconds=30) if due else None
            if recovered:
                log.info("临时凭证已恢复（%s），有效期至 %s", self.mode, creds.expiration.isoformat())
        finally:
            with self._cond:
                self._refreshing = False
                self._cond.notify_all()

    def _record_failure(self, error: SourceError) -> None:
        with self._cond:
            self._failures += 1
            backoff = min(self._max_backoff, 2 ** (self._failures - 1))
            self._next_attempt = self._clock() + timedelta(seconds=backoff)
            self._last_error = error
        log.warning(
            "拿不到临时凭证（%s）：%s：%s%s；%g 秒后重试",
            self.mode,
            error.cause,
            error.detail,
            f"；修复建议：{error.hint}" if error.hint else "",
            backoff,
        )
