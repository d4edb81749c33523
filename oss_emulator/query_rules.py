"""Which query parameters each kind of request may carry: what the emulator models answers, any
other sub-resource OSS knows is refused as not implemented (never served as a plain read, write or
listing the client would misread), and the values OSS checks are checked."""
from __future__ import annotations

from werkzeug.wrappers import Request

from .access_keys import invalid_argument
from .request_auth_v1 import SUBRESOURCES

__all__ = ["BUCKET_SUBRESOURCES", "OBJECT_SUBRESOURCES", "SERVICE_PARAMETERS", "SUBRESOURCES", "check_traffic_limit",
           "signing_parameter"]

# Bucket sub-resources OSS answers on `GET /` that the emulator does not model: refused as such
# rather than answered with a listing the client would misread.
BUCKET_SUBRESOURCES = frozenset((
    "cors", "encryption", "inventory", "lifecycle", "logging", "policy",
    "qos", "referer", "replication", "requestPayment", "stat", "tagging", "versioning", "versions", "website",
    "worm",
))

# The sub-resources an object request may carry here; any other one OSS knows (tagging, symlink,
# append, restore...) is refused as not implemented, never served as a plain GET or PUT of the key.
OBJECT_SUBRESOURCES = frozenset((
    "acl", "uploads", "uploadId", "partNumber", "objectMeta", "x-oss-process", "security-token",
    # A speed limit: its value is checked as OSS checks it, the limit itself not enforced (loopback).
    "x-oss-traffic-limit",
    "response-content-type", "response-content-language", "response-expires", "response-cache-control",
    "response-content-disposition", "response-content-encoding",
))

# What ListBuckets (a `GET /` to the service itself) takes.
SERVICE_PARAMETERS = frozenset(("prefix", "marker", "max-keys"))

# "限速值取值范围为819200~838860800，单位为bit/s" (OSS's 单链接限速; out of range: 0004-00000502).
TRAFFIC_LIMIT = (819_200, 838_860_800)


def check_traffic_limit(request: Request, query) -> None:
    """x-oss-traffic-limit, in the query (presigned URLs) or as a header: a number in OSS's range."""
    for value in (query.get("x-oss-traffic-limit"), request.headers.get("x-oss-traffic-limit")):
        if value is not None and not (value.isdigit() and len(value) <= 10
                                      and TRAFFIC_LIMIT[0] <= int(value) <= TRAFFIC_LIMIT[1]):
            raise invalid_argument(f"x-oss-traffic-limit must be between {TRAFFIC_LIMIT[0]} and {TRAFFIC_LIMIT[1]} "
                                   "bit/s.", "0004-00000502", "x-oss-traffic-limit", value[:64])


def signing_parameter(name: str) -> bool:
    """A presigned URL's own parameters (V4 `x-oss-*`, V1 and its STS token)."""
    return name.startswith("x-oss-") or name in ("OSSAccessKeyId", "Expires", "Signature", "security-token")
