"""Who signed the form: V4 credential scope, date window, key id, security token, signature."""
from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Mapping

from server.post_form import SIGNATURE_VERSION, sign_policy
from . import errors
from .access_keys import (ScopeCodes, invalid_argument, parse_scope, parse_signing_date, request_expired,
                          secret_for, time_skewed)
from .errors import OssError

MAX_AHEAD = timedelta(minutes=15)
MAX_AGE = timedelta(days=7)
# The ECs of OSS's PostObject troubleshooting pages.
FORM_SCOPE = ScopeCodes("x-oss-credential", "0002-00000710", "0002-00000708", "0002-00000709", "0002-00000715")


def authenticate(fields: Mapping[str, str], settings, now) -> None:
    """Raise the first refusal; return when the form is signed by a key the emulator accepts.

    `fields` is keyed by lower-case form field name. Messages not quoted in OSS's documentation
    are unverified; the EC values are those of OSS's troubleshooting pages.
    """
    version = fields.get("x-oss-signature-version")
    if version is None and "policy" not in fields:
        # An unsigned form on a private bucket (local mode stores like public-read, not public-write).
        raise OssError(403, "AccessDenied", "You have no right to access this object because of bucket acl.")
    if version != SIGNATURE_VERSION:
        # Strict: only V4 forms are accepted (V1 OSSAccessKeyId/Signature forms included).
        raise invalid_argument("Invalid signature version, only OSS4-HMAC-SHA256 is supported.",
                               name="x-oss-signature-version", value=version or "")
    policy = fields.get("policy")
    if not policy:
        raise invalid_argument("Form field 'policy' is required with a V4 signature.", name="policy", value="")

    credential = fields.get("x-oss-credential", "")
    scope = parse_scope(credential, settings.region, FORM_SCOPE)
    raw_date = fields.get("x-oss-date", "")
    signed_at = parse_signing_date(raw_date)
    if signed_at is None:
        raise invalid_argument("Invalid x-oss-date, expected YYYYMMDD'T'HHMMSS'Z'.", name="x-oss-date", value=raw_date)
    if signed_at.strftime("%Y%m%d") != scope.day:
        raise invalid_argument("Invalid signing date in x-oss-credential.", FORM_SCOPE.day, FORM_SCOPE.field, credential)
    # The notes word the 15-minute rule loosely (unverified): strict reading, a date more than
    # 15 minutes ahead of our clock is refused, and a signature lives at most 7 days.
    if signed_at - now > MAX_AHEAD:
        raise time_skewed()
    if now - signed_at > MAX_AGE:
        raise request_expired()

    secret = secret_for(scope.key_id, fields.get("x-oss-security-token"), settings, now)
    expected = sign_policy(policy, secret, scope.day, scope.region) if policy.isascii() else ""
    provided = fields.get("x-oss-signature", "").encode("utf-8")
    if not hmac.compare_digest(expected.encode("ascii"), provided):
        raise errors.signature_mismatch()
