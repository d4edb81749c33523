"""The credential source interface and its errors.

A source makes one network fetch per call and knows nothing about caching; CredentialCache
(cache.py) decides when to call it. Local mode, STS AssumeRole and ECS metadata plug in here.
"""
from __future__ import annotations

from typing import Protocol

from ..errors import ApiError
from ..post_form import Credentials


class SourceError(Exception):
    """A fetch failed. `cause` is a short code for the log, `hint` tells the operator the fix."""

    def __init__(self, cause: str, detail: str, hint: str = ""):
        super().__init__(f"{cause}: {detail}")
        self.cause = cause
        self.detail = detail
        self.hint = hint


class CredentialsUnavailable(ApiError):
    """No usable credentials right now: 503 to the caller, the cause (`cause`) stays in the log."""

    def __init__(self, cause: str):
        super().__init__(503, "CredentialsUnavailable", "服务端暂时拿不到上传凭证，请稍后重试", {"Retry-After": "5"})
        self.cause = cause


class CredentialSource(Protocol):
    mode: str

    def fetch(self) -> Credentials:
        """One fetch of fresh temporary credentials; raises SourceError."""
        ...
