"""Login sessions: signed, expiring bearer tokens naming the user, and the user's folder."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Callable, Optional, Tuple

from itsdangerous import BadSignature, URLSafeSerializer


class SessionTokens:
    def __init__(self, secret_key: str, ttl_seconds: int, clock: Callable[[], datetime]):
        self._serializer = URLSafeSerializer(
            secret_key, salt="oss-upload.session", signer_kwargs={"digest_method": hashlib.sha256}
        )
        self._folder_key = hmac.new(secret_key.encode("utf-8"), b"oss-upload.folder", hashlib.sha256).digest()
        self._ttl = ttl_seconds
        self._clock = clock

    def issue(self, openid: str) -> Tuple[str, int]:
        expires = int(self._clock().timestamp()) + self._ttl
        return self._serializer.dumps({"sub": openid, "exp": expires}), self._ttl

    def verify(self, token: str) -> Optional[str]:
        """The openid a valid, unexpired token names; None for anything else."""
        try:
            claims = self._serializer.loads(token)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(claims, dict):
            return None
        subject, expires = claims.get("sub"), claims.get("exp")
        if not isinstance(subject, str) or not subject or not isinstance(expires, int):
            return None
        if self._clock().timestamp() >= expires:
            return None
        return subject

    def folder_for(self, openid: str) -> str:
        """A stable per-user folder name that does not reveal the openid (keyed hash)."""
        return hmac.new(self._folder_key, openid.encode("utf-8"), hashlib.sha256).hexdigest()[:24]
