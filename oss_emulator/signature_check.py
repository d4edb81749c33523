"""Who signed the form: V4 credential scope, date window, key id, security token, signature."""
from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta, timezone
from typing import Mapping

from server.credentials.local import TEMP_ID_PREFIX, TokenError, check_token
from server.post_form import REQUEST_TYPE, SERVICE, SIGNATURE_VERSION, sign_policy
from . import errors
from .errors import OssError

MAX_AHEAD = timedelta(minutes=15)
MAX_AGE = timedelta(days=7)
_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_DAY = re.compile(r"^\d{8}$")
_KEY_ID = re.compile(r"^[\x21-\x7e]+$")


def _invalid(message: str, ec: str = None, name: str = None, value: str = None) -> OssError:
    extra = {"ArgumentName": name, "ArgumentValue": value} if name else None
    return OssError(400, "InvalidArgument", message, ec=ec, extra=extra)


def _parse_date(raw: str) -> datetime:
    if not _DATE.match(raw):
        raise _invalid("Invalid x-oss-date, expected YYYYMMDD'T'HHMMSS'Z'.", name="x-oss-date", value=raw)
    try:
        return datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise _invalid("Invalid x-oss-date, expected YYYYMMDD'T'HHMMSS'Z'.", name="x-oss-date", value=raw) from None


def authenticate(fields: Mapping[str, str], settings, now: datetime) -> None:
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
        raise _invalid("Invalid signature version, only OSS4-HMAC-SHA256 is supported.",
                       name="x-oss-signature-version", value=version or "")
    policy = fields.get("policy")
    if not policy:
        raise _invalid("Form field 'policy' is required with a V4 signature.", name="policy", value="")

    credential = fields.get("x-oss-credential", "")
    parts = credential.split("/")
    if len(parts) != 5 or parts[3] != SERVICE or parts[4] != REQUEST_TYPE:
        raise _invalid("Invalid credential in x-oss-credential.", "0002-00000710", "x-oss-credential", credential)
    key_id, day, region = parts[0], parts[1], parts[2]
    if not _KEY_ID.match(key_id):
        raise _invalid("Invalid AccessKeyId in x-oss-credential.", "0002-00000708", "x-oss-credential", credential)
    if not _DAY.match(day):
        raise _invalid("Invalid signing date in x-oss-credential.", "0002-00000709", "x-oss-credential", credential)
    if region != settings.region:
        raise _invalid("The signing region in credential is invalid.", "0002-00000715", "x-oss-credential", credential)

    signed_at = _parse_date(fields.get("x-oss-date", ""))
    if signed_at.strftime("%Y%m%d") != day:
        raise _invalid("Invalid signing date in x-oss-credential.", "0002-00000709", "x-oss-credential", credential)
    # The notes word the 15-minute rule loosely (unverified): strict reading, a date more than
    # 15 minutes ahead of our clock is refused, and a signature lives at most 7 days.
    if signed_at - now > MAX_AHEAD:
        raise OssError(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
    if now - signed_at > MAX_AGE:
        raise OssError(403, "AccessDenied", "Request has expired.")

    secret = _secret_for(key_id, fields.get("x-oss-security-token"), settings, now)
    expected = sign_policy(policy, secret, day, region) if policy.isascii() else ""
    provided = fields.get("x-oss-signature", "").encode("utf-8")
    if not hmac.compare_digest(expected.encode("ascii"), provided):
        raise errors.signature_mismatch()


def _secret_for(key_id: str, token, settings, now: datetime) -> str:
    if key_id.startswith(TEMP_ID_PREFIX):
        try:
            return check_token(key_id, token, settings.local_access_key_id, settings.local_access_key_secret, now)
        except TokenError as error:
            raise OssError(403, error.code, error.message) from None
    if hmac.compare_digest(key_id, settings.local_access_key_id):
        return settings.local_access_key_secret
    raise errors.unknown_access_key()
