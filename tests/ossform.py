"""Test-side OSS PostObject client, written independently of `server.post_form`.

An independent V4 form signer (so the emulator and the signer are checked against a second
implementation, not against themselves), a multipart body builder that puts `file` last as
wx.uploadFile does, and a function that runs a WSGI app on a free loopback port.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta, timezone
from typing import Iterable, List, Optional, Sequence, Tuple


V4 = "OSS4-HMAC-SHA256"

# The shared V4 test vector from the OSS notes (ali-oss and alibabacloud-oss-v2 agree on it).
VECTOR_POLICY = (
    '{"expiration":"2026-11-29T03:00:00.000Z","conditions":[{"bucket":"test-bucket"},'
    '{"x-oss-signature-version":"OSS4-HMAC-SHA256"},'
    '{"x-oss-credential":"STS.testid/20261129/cn-hangzhou/oss/aliyun_v4_request"},'
    '{"x-oss-date":"20261129T020000Z"},{"x-oss-security-token":"test-token"},'
    '["content-length-range",1,10485760],["starts-with","$key","uploads/"],'
    '["eq","$success_action_status","200"]]}'
)
VECTOR_SIGNATURE = "e19cb2b0e88060acf3482f8e896ed4ff651bd7f310c783d3e3c1c0a8859ebdbf"


def v4_signature(secret: str, day: str, region: str, string_to_sign: str) -> str:
    key = ("aliyun_v4" + secret).encode()
    for part in (day, region, "oss", "aliyun_v4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def b64_policy(policy) -> str:
    """`policy` is a dict (compact JSON) or already-serialised JSON text (sent as is)."""
    text = policy if isinstance(policy, str) else json.dumps(policy, separators=(",", ":"))
    return base64.b64encode(text.encode()).decode()


def signed_fields(
    key: str,
    key_id: str,
    secret: str,
    region: str,
    now: datetime,
    conditions: Optional[list] = None,
    token: Optional[str] = None,
    expires_in: int = 600,
    extra: Sequence[Tuple[str, str]] = (),
    policy=None,
) -> List[Tuple[str, str]]:
    """Form fields (file excluded) for one upload, in the order a careful client sends them."""
    day = now.strftime("%Y%m%d")
    date = now.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{key_id}/{day}/{region}/oss/aliyun_v4_request"
    if policy is None:
        base = [{"x-oss-signature-version": V4}, {"x-oss-credential": credential}, {"x-oss-date": date}]
        if token:
            base.append({"x-oss-security-token": token})
        expiration = (now + timedelta(seconds=expires_in)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        policy = {"expiration": expiration, "conditions": base + list(conditions or [])}
    encoded = b64_policy(policy)
    fields = [
        ("key", key),
        ("policy", encoded),
        ("x-oss-signature-version", V4),
        ("x-oss-credential", credential),
        ("x-oss-date", date),
        ("x-oss-signature", v4_signature(secret, day, region, encoded)),
    ]
    if token:
        fields.append(("x-oss-security-token", token))
    return fields + list(extra)


def multipart_parts(parts: Iterable[Tuple[str, bytes, Optional[str]]], boundary: str,
                    file_type: Optional[str] = None) -> bytes:
    """Parts as (name, value bytes, filename or None), in the given order, then the closing boundary.

    A part with a filename carries `Content-Type: <file_type>` when file_type is given. OSS stores
    that type over the Content-Type field (only x-oss-content-type outranks it); what wx.uploadFile
    puts there is not documented, so by default the part has none and the fields decide.
    """
    out = bytearray()
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None and file_type is not None:
            out += f"Content-Type: {file_type}\r\n".encode()
        out += b"\r\n" + value + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def multipart(fields: Iterable[Tuple[str, str]], file_bytes: Optional[bytes] = b"data", filename: str = "a.bin",
              boundary: Optional[str] = None, file_type: Optional[str] = None) -> Tuple[bytes, str]:
    """(body, Content-Type header). The file part, when given, comes last (as wx.uploadFile sends it)."""
    boundary = boundary or "----wxFormBoundary" + secrets.token_hex(8)
    parts = [(name, value.encode(), None) for name, value in fields]
    if file_bytes is not None:
        parts.append(("file", file_bytes, filename))
    return multipart_parts(parts, boundary, file_type), f"multipart/form-data; boundary={boundary}"


def error_code(response) -> Optional[str]:
    import xml.etree.ElementTree as ET

    if not response.content:
        return None
    return ET.fromstring(response.content).findtext("Code")


def error_message(response) -> Optional[str]:
    import xml.etree.ElementTree as ET

    return ET.fromstring(response.content).findtext("Message")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)
