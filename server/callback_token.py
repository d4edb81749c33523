"""The token in the callback URL's query: which upload a callback is for, until when, used once.

OSS signs only path, query and body, and it signs for every one of its customers alike, so the
callback URL carries our own proof: an HMAC (keyed from SECRET_KEY) over the bucket, the object
key, the uploader's folder, an expiry and a random id. The id is what makes the token single use
(the database remembers used ids until they expire). Pure: no I/O, the clock is passed in.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from .clock import require_aware

MAX_TOKEN_LENGTH = 2048


@dataclass(frozen=True)
class CallbackGrant:
    """What a valid token says."""

    token_id: str
    bucket: str
    key: str
    folder: str
    expires_at: datetime


class TokenInvalid(Exception):
    """Forged, damaged, expired or for something else; the message is for the log."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CallbackTokens:
    def __init__(self, secret: str):
        # A key of its own, so a callback token can never pass for a login token or vice versa.
        self._key = hmac.new(secret.encode("utf-8"), b"oss-upload.callback-token", hashlib.sha256).digest()

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, bucket: str, key: str, folder: str, expires_at: datetime) -> str:
        """URL-safe (Base64url and one dot), so it is the whole query string as it is."""
        claims = {"b": bucket, "k": key, "f": folder, "e": int(require_aware(expires_at, "expires_at").timestamp()),
                  "n": secrets.token_hex(16)}
        payload = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: datetime) -> CallbackGrant:
        """The grant of a token we issued and that has not expired; TokenInvalid otherwise."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise TokenInvalid("missing or malformed token")
        payload, _, mac = token.partition(".")
        if not hmac.compare_digest(self._mac(payload).encode("ascii"), mac.encode("ascii")):
            raise TokenInvalid("token HMAC does not match")
        try:
            claims = json.loads(_unb64(payload))
            grant = CallbackGrant(
                token_id=str(claims["n"]), bucket=str(claims["b"]), key=str(claims["k"]), folder=str(claims["f"]),
                expires_at=datetime.fromtimestamp(int(claims["e"]), tz=timezone.utc),
            )
        except (ValueError, KeyError, TypeError, binascii.Error, OverflowError):
            raise TokenInvalid("token payload is damaged") from None
        if require_aware(now, "now") >= grant.expires_at:
            raise TokenInvalid("token has expired")
        return grant
