"""OSS's upload callback: what the signed form asks OSS to send, and checking what arrives.

After storing the object OSS POSTs to `<PUBLIC_BASE_URL>/api/oss-callback?<token>` and hands our
JSON answer to the uploader. The checks run in a fixed order, each one before anything is parsed
or written: the public key URL is one we trust, the RSA signature, the token (HMAC, expiry), that
the body names the bucket and object the token was issued for, the token not used before, and
then the object itself (records.py: HEAD with our own credentials) before anything is recorded.
"""
from __future__ import annotations

import base64
import json
import logging
from datetime import datetime, timedelta
from typing import Callable, Mapping
from urllib.parse import parse_qs

from .callback_token import CallbackTokens, TokenInvalid
from .metrics import CALLBACK_REJECTED
from .oss_callback import CallbackKeys, CallbackRejected, verify_signature
from .records import ObjectNotFound, ObjectRejected

log = logging.getLogger("server.callback")

CALLBACK_PATH = "/api/oss-callback"
# OSS calls back right after the upload, which must have arrived before the policy expired; the
# margin covers clock differences between OSS and us.
TOKEN_MARGIN = timedelta(minutes=5)
# OSS substitutes these, URL-encoded (callbackBodyType form, OSS's default).
CALLBACK_BODY = "bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}"


class UploadCallbacks:
    def __init__(self, settings, keys: CallbackKeys, tokens: CallbackTokens, db, records,
                 clock: Callable[[], datetime]):
        self.settings = settings
        self.keys = keys
        self.tokens = tokens
        self.db = db
        self.records = records
        self.clock = clock

    def form_field(self, key: str, folder: str, policy_expires_at: datetime) -> str:
        """The `callback` form field for one upload (Base64 JSON); the policy pins it exactly."""
        token = self.tokens.issue(self.settings.bucket, key, folder, policy_expires_at + TOKEN_MARGIN)
        document = {
            "callbackUrl": f"{self.settings.public_base_url}{CALLBACK_PATH}?{token}",
            "callbackBody": CALLBACK_BODY,
            "callbackBodyType": "application/x-www-form-urlencoded",
        }
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=True)
        return base64.b64encode(text.encode("ascii")).decode("ascii")

    def receive(self, headers: Mapping[str, str], path: str, raw_query: bytes, body: bytes):
        """The record for a genuine callback; CallbackRejected (403) for anything else."""
        try:
            verify_signature(self.keys, headers, path, raw_query, body)
            try:
                grant = self.tokens.verify(raw_query.decode("ascii"), self.clock())
            except (TokenInvalid, UnicodeDecodeError) as error:
                raise CallbackRejected(f"token: {error}", "token") from None
            fields = _form(body)
            if fields.get("bucket") != grant.bucket or fields.get("object") != grant.key:
                raise CallbackRejected("body names another bucket or object than the token", "mismatch")
            if not self.db.use_callback_token(grant.token_id, grant.expires_at):
                raise CallbackRejected("token already used (a replay)", "replay")
        except CallbackRejected as error:
            log.warning("拒绝上传回调：%s", error.reason)
            CALLBACK_REJECTED.labels(error.kind).inc()
            raise
        try:
            return self.records.record(grant.key, grant.folder)
        except (ObjectNotFound, ObjectRejected):
            CALLBACK_REJECTED.labels("object").inc()
            raise


def _form(body: bytes) -> dict:
    """The callback body's fields; each may appear once (an ambiguous body is refused)."""
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise CallbackRejected("body is not UTF-8", "body") from None
    if any(len(values) != 1 for values in parsed.values()):
        raise CallbackRejected("a body field appears more than once", "body")
    return {name: values[0] for name, values in parsed.items()}
