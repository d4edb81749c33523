"""The pure signing core: OSS PostObject policy + signature V4 (OSS4-HMAC-SHA256).

No I/O and no clock of its own: callers pass aware UTC datetimes, so the same inputs always
give the same form, and tests can reproduce the published vector byte for byte.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Optional

from .clock import require_aware

SIGNATURE_VERSION = "OSS4-HMAC-SHA256"
SERVICE = "oss"
REQUEST_TYPE = "aliyun_v4_request"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    access_key_secret: str
    security_token: Optional[str]
    expiration: datetime  # aware UTC

    def __repr__(self) -> str:  # never let a secret reach a log through repr()
        return f"Credentials(access_key_id={self.access_key_id!r}, expiration={self.expiration.isoformat()})"


@dataclass(frozen=True)
class UploadSpec:
    """What one upload may be: every field the form sends is pinned by an exact condition.

    `min_size`..`max_size` is the byte range OSS accepts; the signer makes it the one declared size.
    OSS does not check form fields the policy leaves out (they are stored as sent): what the
    policy cannot forbid is checked when the upload is recorded (records.py).
    """

    bucket: str
    key: str
    min_size: int
    max_size: int
    content_type: str
    content_disposition: str
    success_action_status: str = "200"
    # Pinned, never the client's choice: an archive class costs minimum-storage fees and cannot be
    # read without a restore; a public ACL would publish the file.
    storage_class: str = "Standard"
    object_acl: str = "private"
    callback: Optional[str] = None  # base64 JSON of OSS's upload callback, pinned when set


@dataclass(frozen=True)
class SignedForm:
    policy: str
    signature: str
    credential: str
    date: str
    expires_at: datetime
    fields: dict  # every form field to send, the file excluded, in sending order


# %-formatting of the fields: the same text as strftime, in a third of the time (on every request).
def iso8601_ms(moment: datetime) -> str:
    """Policy `expiration` format, e.g. 2026-11-29T03:00:00.000Z."""
    m = require_aware(moment, "moment")
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (m.year, m.month, m.day, m.hour, m.minute, m.second, m.microsecond // 1000)


def x_oss_date(moment: datetime) -> str:
    m = require_aware(moment, "moment")
    return "%04d%02d%02dT%02d%02d%02dZ" % (m.year, m.month, m.day, m.hour, m.minute, m.second)


def _day(utc: datetime) -> str:
    return "%04d%02d%02d" % (utc.year, utc.month, utc.day)


def credential_scope(access_key_id: str, day: str, region: str) -> str:
    return f"{access_key_id}/{day}/{region}/{SERVICE}/{REQUEST_TYPE}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


@lru_cache(maxsize=64)
def signing_key(access_key_secret: str, day: str, region: str) -> bytes:
    """HMAC chain over day, region, service, request type; the same all day for one secret."""
    key = _hmac(("aliyun_v4" + access_key_secret).encode("utf-8"), day)
    key = _hmac(key, region)
    key = _hmac(key, SERVICE)
    return _hmac(key, REQUEST_TYPE)


def sign_policy(policy_b64: str, access_key_secret: str, day: str, region: str) -> str:
    """The signature is over the base64 policy string exactly as sent, never a re-serialisation."""
    return hmac.new(signing_key(access_key_secret, day, region), policy_b64.encode("ascii"), hashlib.sha256).hexdigest()


# Built once: json.dumps with non-default options builds a new encoder on every call.
_POLICY_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)


def encode_policy(policy: dict) -> str:
    """Compact JSON (the form the published test vector uses), then base64."""
    # Values never carry a literal `$` (OSS would need it written `\$`): keys and headers are ours.
    text = _POLICY_JSON.encode(policy)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def policy_expiry(now: datetime, expire_seconds: int, credentials_expiration: datetime) -> datetime:
    """A policy never outlives the credentials that sign it."""
    return min(
        require_aware(now, "now") + timedelta(seconds=expire_seconds),
        require_aware(credentials_expiration, "credentials_expiration"),
    )


def build_policy(spec: UploadSpec, credential: str, date: str, security_token: Optional[str], expires_at: datetime) -> dict:
    conditions = [
        {"bucket": spec.bucket},
        {"x-oss-signature-version": SIGNATURE_VERSION},
        {"x-oss-credential": credential},
        {"x-oss-date": date},
    ]
    if security_token:
        conditions.append({"x-oss-security-token": security_token})
    conditions += [["eq", "$" + name, value] for name, value in _pinned_fields(spec).items()]
    conditions.append(["content-length-range", spec.min_size, spec.max_size])
    return {"expiration": iso8601_ms(expires_at), "conditions": conditions}


def _pinned_fields(spec: UploadSpec) -> dict:
    """The form fields after the signature fields, in sending order; each one is pinned."""
    fields = {
        "key": spec.key,
        "success_action_status": spec.success_action_status,
        "Content-Type": spec.content_type,
        # OSS ranks x-oss-content-type above both Content-Type fields (the file part's own and
        # the form field): pinning it is what makes the stored type ours.
        "x-oss-content-type": spec.content_type,
        "Content-Disposition": spec.content_disposition,
        "x-oss-forbid-overwrite": "true",
        "x-oss-storage-class": spec.storage_class,
        "x-oss-object-acl": spec.object_acl,
    }
    if spec.callback:
        fields["callback"] = spec.callback
    return fields


def sign_upload(spec: UploadSpec, creds: Credentials, region: str, now: datetime, expires_at: datetime) -> SignedForm:
    """Policy + signature for one upload; `fields` is what the client posts before the file."""
    now = require_aware(now, "now")
    day = _day(now)
    date = x_oss_date(now)
    credential = credential_scope(creds.access_key_id, day, region)
    policy_b64 = encode_policy(build_policy(spec, credential, date, creds.security_token, expires_at))
    signature = sign_policy(policy_b64, creds.access_key_secret, day, region)

    # `key` first: OSS requires it before the file, and some clients keep insertion order.
    fields = {
        "key": spec.key,
        "policy": policy_b64,
        "x-oss-signature-version": SIGNATURE_VERSION,
        "x-oss-credential": credential,
        "x-oss-date": date,
        "x-oss-signature": signature,
    }
    if creds.security_token:
        fields["x-oss-security-token"] = creds.security_token
    pinned = _pinned_fields(spec)
    del pinned["key"]  # already first
    fields.update(pinned)
    return SignedForm(
        policy=policy_b64,
        signature=signature,
        credential=credential,
        date=date,
        expires_at=require_aware(expires_at, "expires_at"),
        fields=fields,
    )
