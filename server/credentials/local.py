"""Local mode: STS-style temporary credentials minted from the local long-term key.

Stateless on purpose: the emulator recomputes the secret and checks the token with the same
long-term secret, so signer and emulator agree across threads, processes and restarts.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from ..post_form import Credentials

TEMP_ID_PREFIX = "STS."


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _mac(long_secret: str, purpose: str, message: str) -> bytes:
    return hmac.new(long_secret.encode("utf-8"), f"{purpose}\n{message}".encode("utf-8"), hashlib.sha256).digest()


def temporary_secret(long_secret: str, temp_id: str) -> str:
    return _b64(_mac(long_secret, "secret", temp_id))


def mint(long_id: str, long_secret: str, now: datetime, duration_seconds: int, nonce: Optional[str] = None) -> Credentials:
    temp_id = TEMP_ID_PREFIX + (nonce or secrets.token_hex(8))
    expiration = (now + timedelta(seconds=duration_seconds)).astimezone(timezone.utc).replace(microsecond=0)
    claims = f"{temp_id}|{long_id}|{int(expiration.timestamp())}"
    token = _b64(claims.encode("utf-8")) + "." + _b64(_mac(long_secret, "token", claims))
    return Credentials(temp_id, temporary_secret(long_secret, temp_id), token, expiration)


class TokenError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def check_token(temp_id: str, token: Optional[str], long_id: str, long_secret: str, now: datetime) -> str:
    """The secret for temp_id if `token` is its valid, unexpired token; TokenError otherwise."""
    if not token:
        raise TokenError("InvalidAccessKeyId", "The security token you provided is invalid or missing.")
    try:
        encoded, mac = token.split(".", 1)
        claims = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
        token_id, token_owner, expires = claims.split("|")
        expires_at = datetime.fromtimestamp(int(expires), tz=timezone.utc)
    except (ValueError, UnicodeDecodeError):
        raise TokenError("InvalidSecurityToken", "The security token you provided is invalid.") from None
    if not hmac.compare_digest(_b64(_mac(long_secret, "token", claims)), mac) or token_owner != long_id:
        raise TokenError("InvalidSecurityToken", "The security token you provided is invalid.")
    if token_id != temp_id:
        raise TokenError("InvalidAccessKeyId", "The security token does not belong to this AccessKeyId.")
    if now >= expires_at:
        raise TokenError("SecurityTokenExpired", "The security token you provided has expired.")
    return temporary_secret(long_secret, temp_id)


class LocalStsSource:
    mode = "local"

    def __init__(self, settings, clock: Callable[[], datetime]):
        self._long_id = settings.local_access_key_id
        self._long_secret = settings.local_access_key_secret
        self._duration = settings.sts_duration_seconds
        self._clock = clock

    def fetch(self) -> Credentials:
        return mint(self._long_id, self._long_secret, self._clock(), self._duration)
