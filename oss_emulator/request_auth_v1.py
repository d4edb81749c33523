"""V1 request signatures (`Authorization: OSS <id>:<signature>` and presigned `OSSAccessKeyId`,
`Expires`, `Signature`): HMAC-SHA1 over OSS's V1 string to sign. `ali-oss` and `oss2` sign this way
by default; the same keys and security tokens as V4 (access_keys.py), the same refusals.

String to sign (OSS's V1 signature doc):
  VERB \\n Content-MD5 \\n Content-Type \\n Date \\n CanonicalizedOSSHeaders CanonicalizedResource
where Date is `x-oss-date` when sent, else the Date header (the presigned `Expires` in a URL),
CanonicalizedOSSHeaders every `x-oss-*` header as `name:value\\n` sorted by lower-case name, and
CanonicalizedResource `/<bucket>/<key>` plus the sub-resources OSS signs, sorted, unencoded.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from typing import Dict, Optional, Sequence, Tuple

from werkzeug.http import parse_date

from . import errors
from .access_keys import invalid_argument, request_expired, secret_for, time_skewed
from .errors import OssError
from .numbers import decimal

MAX_SKEW = timedelta(minutes=15)
QUERY_AUTH = ("OSSAccessKeyId", "Expires", "Signature")
# The query parameters OSS counts as sub-resources in V1 (the list oss2's Auth signs by).
SUBRESOURCES = frozenset((
    "acl", "uploads", "location", "cors", "logging", "website", "referer", "lifecycle", "delete", "append",
    "tagging", "objectMeta", "uploadId", "partNumber", "security-token", "position", "img", "style", "styleName",
    "replication", "replicationProgress", "replicationLocation", "cname", "bucketInfo", "comp", "qos", "live",
    "status", "vod", "startTime", "endTime", "symlink", "x-oss-process", "response-content-type",
    "response-content-language", "response-expires", "response-cache-control", "response-content-disposition",
    "response-content-encoding", "udf", "udfName", "udfImage", "udfId", "udfImageDesc", "udfApplication",
    "udfApplicationLog", "restore", "callback", "callback-var", "qosInfo", "policy", "stat", "encryption",
    "versions", "versioning", "versionId", "requestPayment", "x-oss-request-payer", "sequential", "inventory",
    "inventoryId", "continuation-token", "asyncFetch", "worm", "wormId", "wormExtend", "x-oss-traffic-limit",
    "objectInfo", "link", "group", "transferAcceleration", "metaQuery", "resourceGroup", "x-oss-async-process",
    "regionList", "httpsConfig", "publicAccessBlock", "accessPoint", "accessPointPolicy",
))

Pairs = Sequence[Tuple[str, str]]


def _header(headers: Pairs, name: str) -> Optional[str]:
    return next((v for n, v in headers if n.lower() == name), None)


def canonical_resource(bucket: Optional[str], key: str, query: Pairs) -> str:
    """`/<bucket>/<key>` and the sub-resources; `/` for a request to the service itself (bucket None)."""
    chosen = sorted((n, v) for n, v in query if n in SUBRESOURCES)
    resource = "/" if bucket is None else f"/{bucket}/{key}"
    if chosen:
        resource += "?" + "&".join(f"{n}={v}" if v else n for n, v in chosen)
    return resource


def string_to_sign(method: str, bucket: str, key: str, query: Pairs, headers: Pairs, date: str) -> str:
    oss: Dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        if lower.startswith("x-oss-"):
            oss[lower] = value.strip()
    lines = [method.upper(), _header(headers, "content-md5") or "", _header(headers, "content-type") or "", date]
    return "\n".join(lines) + "\n" + "".join(f"{n}:{oss[n]}\n" for n in sorted(oss)) + \
        canonical_resource(bucket, key, query)


def signature(secret: str, to_sign: str) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1).digest()).decode()


def _verify(request, bucket: str, settings, now: datetime, key_id: str, token: Optional[str], date: str,
            provided: str, query: Pairs) -> None:
    secret = secret_for(key_id, token, settings, now)
    to_sign = string_to_sign(request.method, bucket, request.key, query, request.headers, date)
    if not hmac.compare_digest(signature(secret, to_sign).encode("ascii"), provided.encode("utf-8")):
        error = errors.signature_mismatch()
        error.extra = {"StringToSign": to_sign, "SignatureProvided": provided}
        raise error


def by_header(request, value: str, bucket: str, settings, now: datetime) -> str:
    """The key id of a good `Authorization: OSS <id>:<signature>` request."""
    key_id, sep, provided = value.strip()[4:].rpartition(":")
    if not sep or not key_id or not provided:
        raise invalid_argument("Authorization header is invalid.", name="Authorization", value=value[:64])
    date = _header(request.headers, "x-oss-date") or _header(request.headers, "date")
    signed_at = parse_date(date) if date else None
    if signed_at is None:
        raise OssError(403, "AccessDenied", "The request must carry a Date or x-oss-date header in RFC 1123 form.")
    if abs(signed_at.replace(tzinfo=timezone.utc) - now) > MAX_SKEW:
        raise time_skewed()
    token = _header(request.headers, "x-oss-security-token")
    _verify(request, bucket, settings, now, key_id, token, date, provided, request.query)
    return key_id


def by_query(request, bucket: str, settings, now: datetime) -> str:
    """The key id of a good presigned V1 URL."""
    params: Dict[str, str] = {}
    for name, value in request.query:
        if name in QUERY_AUTH and name in params:
            raise invalid_argument(f"The query parameter {name} is specified more than once.", name=name,
                                   value=value[:64])
        params.setdefault(name, value)
    for name in QUERY_AUTH:
        if not params.get(name):
            raise OssError(403, "AccessDenied", f"Query string parameter {name} is missing or empty.")
    expires = decimal(params["Expires"], 12)
    if expires is None:
        raise invalid_argument("Expires must be a Unix time in seconds.", name="Expires", value=params["Expires"][:64])
    expiry = datetime.fromtimestamp(expires, timezone.utc)
    if now > expiry:
        error = request_expired()
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        error.extra = {"Expires": expiry.strftime(stamp), "ServerTime": now.strftime(stamp)}
        raise error
    query = [(n, v) for n, v in request.query if n not in QUERY_AUTH]
    _verify(request, bucket, settings, now, params["OSSAccessKeyId"], params.get("security-token"),
            params["Expires"], params["Signature"], query)
    return params["OSSAccessKeyId"]
