"""Who may sign: the keys the emulator accepts and the V4 pieces that name them.

Shared by the PostObject form check (signature_check.py) and request authentication
(request_auth.py), so a form and a request signed with the same key are judged the same way.
"""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NamedTuple, Optional

from server.credentials.local import TEMP_ID_PREFIX, TokenError, check_token
from server.post_form import REQUEST_TYPE, SERVICE
from . import errors
from .errors import OssError

_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_DAY = re.compile(r"^\d{8}$")
_KEY_ID = re.compile(r"^[\x21-\x7e]+$")


@dataclass(frozen=True)
class Scope:
    """`<key id>/<day>/<region>/oss/aliyun_v4_request`, taken apart."""

    key_id: str
    day: str
    region: str

    def text(self) -> str:
        return f"{self.day}/{self.region}/{SERVICE}/{REQUEST_TYPE}"


class ScopeCodes(NamedTuple):
    """The EC OSS's troubleshooting pages give for each credential fault where this signature
    is carried (None where no page names one)."""

    field: str  # the name the client knows the credential by
    malformed: Optional[str]
    key_id: Optional[str]
    day: Optional[str]
    region: Optional[str]


def invalid_argument(message: str, ec: Optional[str] = None, name: Optional[str] = None,
                     value: Optional[str] = None) -> OssError:
    extra = {"ArgumentName": name, "ArgumentValue": value} if name else None
    return OssError(400, "InvalidArgument", message, ec=ec, extra=extra)


def time_skewed() -> OssError:
    return OssError(403, "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too large.")


def request_expired() -> OssError:
    return OssError(403, "AccessDenied", "Request has expired.")


def parse_scope(credential: str, region: str, codes: ScopeCodes) -> Scope:
    """The credential's parts; 400 InvalidArgument for a malformed one or another region."""
    parts = credential.split("/")
    field = codes.field
    if len(parts) != 5 or parts[3] != SERVICE or parts[4] != REQUEST_TYPE:
        raise invalid_argument(f"Invalid credential in {field}.", codes.malformed, field, credential)
    key_id, day, signed_region = parts[0], parts[1], parts[2]
    if not _KEY_ID.match(key_id):
        raise invalid_argument(f"Invalid AccessKeyId in {field}.", codes.key_id, field, credential)
    if not _DAY.match(day):
        raise invalid_argument(f"Invalid signing date in {field}.", codes.day, field, credential)
    if signed_region != region:
        raise invalid_argument("The signing region in credential is invalid.", codes.region, field, credential)
    return Scope(key_id, day, signed_region)


def parse_signing_date(raw: str) -> Optional[datetime]:
    """`YYYYMMDDTHHMMSSZ` as an aware UTC datetime; None when it is not one."""
    if not _DATE.match(raw):
        return None
    try:
        return datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def secret_for(key_id: str, token: Optional[str], settings, now: datetime) -> str:
    """The secret that signs for `key_id`: the local long-term key, or a local STS key whose
    security token is valid now. 403 InvalidAccessKeyId / InvalidSecurityToken / SecurityTokenExpired."""
    if key_id.startswith(TEMP_ID_PREFIX):
        try:
            return check_token(key_id, token, settings.local_access_key_id, settings.local_access_key_secret, now)
        except TokenError as error:
            raise OssError(403, error.code, error.message) from None
    if hmac.compare_digest(key_id, settings.local_access_key_id):
        return settings.local_access_key_secret
    raise errors.unknown_access_key()
