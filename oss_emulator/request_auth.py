"""V4 request signatures (OSS4-HMAC-SHA256): the `Authorization` header and presigned query URLs;
`authenticate` hands V1 signatures to request_auth_v1.py.

Pure: no I/O and no clock of its own. The same canonical request serves both sides, the
emulator's check (`authenticate`) and the few places that sign for themselves (the listing
page's presigned links, `presign`; `sign_headers` for clients without the SDK).

The canonical URI is `/<bucket>/<key>` even though the emulator serves objects at `/<key>`:
the SDK signs that way in CNAME style (research: oss-sdk.md, "The V4 canonical URI").
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import quote, unquote

from server.post_form import SIGNATURE_VERSION, credential_scope, signing_key, x_oss_date
from . import errors, request_auth_v1
from .access_keys import (Scope, ScopeCodes, invalid_argument, parse_scope, parse_signing_date, request_expired,
                          secret_for, time_skewed)
from .errors import OssError
from .numbers import decimal

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_SKEW = timedelta(minutes=15)
MAX_EXPIRES = 604800  # seconds (7 days)
# The query parameters that make a presigned URL; `x-oss-signature` itself is not signed.
QUERY_AUTH = ("x-oss-signature-version", "x-oss-credential", "x-oss-date", "x-oss-expires", "x-oss-signature")
# ECs from OSS's troubleshooting pages (0002-00000213 / 206 for the header, 224 for the query).
HEADER_SCOPE = ScopeCodes("Credential", "0002-00000213", "0002-00000206", None, None)
QUERY_SCOPE = ScopeCodes("x-oss-credential", "0002-00000224", None, None, None)

Pairs = Sequence[Tuple[str, str]]


@dataclass(frozen=True)
class SignedRequest:
    """What a signature covers, as the emulator received it."""

    method: str
    key: str  # decoded object key ("" for the bucket itself)
    query: Pairs  # decoded (name, value) pairs in the order sent
    headers: Pairs  # (name, value) as received; names in any case


@dataclass(frozen=True)
class Principal:
    """Who signed a request that passed every check."""

    access_key_id: str
    presigned: bool


# -- the canonical request (OSS's V4 document, section "Canonical request") --------------------

def parse_query(raw: str) -> List[Tuple[str, str]]:
    """A raw query string as decoded pairs. `+` stays `+`: the SDK percent-encodes everything,
    and a space is `%20` in a canonical query."""
    pairs = []
    for piece in raw.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def canonical_uri(bucket: Optional[str], key: str) -> str:
    """`/<bucket>/<key>` URI-encoded; `/` for a request to the service itself (bucket None)."""
    return "/" if bucket is None else quote(f"/{bucket}/{key}", safe="/")


def canonical_query(pairs: Pairs) -> str:
    """Every pair URI-encoded, sorted by encoded name (then value), `name` alone when empty."""
    encoded = sorted((quote(name, safe=""), quote(value, safe="")) for name, value in pairs)
    return "&".join(f"{name}={value}" if value else name for name, value in encoded)


def _is_signed(name: str, additional: Iterable[str]) -> bool:
    return name.startswith("x-oss-") or name in ("content-type", "content-md5") or name in additional


def canonical_headers(headers: Pairs, additional: Sequence[str]) -> str:
    """`name:value\\n` for every `x-oss-*`, Content-Type, Content-MD5 and additional header,
    sorted by lower-case name; values as sent (the SDK does not trim them)."""
    signed: Dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        if _is_signed(lower, additional):
            signed[lower] = f"{signed[lower]},{value}" if lower in signed else value
    return "".join(f"{name}:{signed[name]}\n" for name in sorted(signed))


def canonical_request(method: str, bucket: str, key: str, query: Pairs, headers: Pairs,
                      additional: Sequence[str] = ()) -> str:
    payload = next((v for n, v in headers if n.lower() == "x-oss-content-sha256"), UNSIGNED_PAYLOAD)
    return "\n".join([
        method.upper(),
        canonical_uri(bucket, key),
        canonical_query(query),
        canonical_headers(headers, additional),  # ends with "\n": an empty line follows
        ";".join(additional),
        payload,
    ])


def string_to_sign(date: str, scope: Scope, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{SIGNATURE_VERSION}\n{date}\n{scope.text()}\n{digest}"


def signature(secret: str, scope: Scope, to_sign: str) -> str:
    key = signing_key(secret, scope.day, scope.region)
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _additional(names: Iterable[str], headers: Pairs) -> List[str]:
    """What the SDK signs as additional: present, not signed anyway, lower-case, sorted."""
    present = {n.lower() for n, v in headers if v}
    return sorted({n.lower() for n in names} & {n for n in present if not _is_signed(n, ())})


# -- signing (the emulator's own links, and clients without the SDK) ----------------------------

def presign(method: str, bucket: str, key: str, params: Pairs, access_key_id: str, secret: str, region: str,
            now: datetime, expires: int, security_token: Optional[str] = None, headers: Pairs = (),
            additional_headers: Iterable[str] = ()) -> str:
    """The query string of a presigned URL for `/<key>`: `params`, then the signature's own, as
    the SDK orders them. The client must send `headers` (the signed ones) exactly."""
    if not 1 <= expires <= MAX_EXPIRES:
        raise ValueError(f"expires must be 1..{MAX_EXPIRES} seconds")
    date = x_oss_date(now)
    scope = Scope(access_key_id, date[:8], region)
    additional = _additional(additional_headers, headers)
    signed = list(params) + [
        ("x-oss-signature-version", SIGNATURE_VERSION),
        ("x-oss-date", date),
        ("x-oss-expires", str(expires)),
        ("x-oss-credential", credential_scope(access_key_id, scope.day, region)),
    ]
    if security_token:
        signed.append(("x-oss-security-token", security_token))
    if additional:
        signed.append(("x-oss-additional-headers", ";".join(additional)))
    canonical = canonical_request(method, bucket, key, signed, headers, additional)
    signed.append(("x-oss-signature", signature(secret, scope, string_to_sign(date, scope, canonical))))
    return "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" if v else quote(n, safe="") for n, v in signed)


def sign_headers(method: str, bucket: str, key: str, params: Pairs, headers: Pairs, access_key_id: str,
                 secret: str, region: str, now: datetime, security_token: Optional[str] = None,
                 additional_headers: Iterable[str] = ()) -> Dict[str, str]:
    """The headers to add for header authentication: x-oss-date, x-oss-content-sha256,
    x-oss-security-token (STS) and Authorization."""
    date = x_oss_date(now)
    scope = Scope(access_key_id, date[:8], region)
    added = {"x-oss-date": date, "x-oss-content-sha256": UNSIGNED_PAYLOAD}
    if security_token:
        added["x-oss-security-token"] = security_token
    base = [(n, v) for n, v in headers if n.lower() not in added]
    everything = base + list(added.items())
    additional = _additional(additional_headers, everything)
    canonical = canonical_request(method, bucket, key, params, everything, additional)
    value = f"{SIGNATURE_VERSION} Credential={access_key_id}/{scope.text()}"
    if additional:
        value += f",AdditionalHeaders={';'.join(additional)}"
    value += f",Signature={signature(secret, scope, string_to_sign(date, scope, canonical))}"
    added["Authorization"] = value
    return added


# -- checking ----------------------------------------------------------------------------------

def _first(pairs: Pairs, name: str, lower: bool = False) -> Optional[str]:
    for n, v in pairs:
        if (n.lower() if lower else n) == name:
            return v
    return None


def _mismatch(to_sign: str, provided: str) -> OssError:
    error = errors.signature_mismatch()
    error.ec = "0002-00000201"
    # What OSS echoes to help a client debug (it holds only a hash of the canonical request).
    error.extra = {"StringToSign": to_sign, "SignatureProvided": provided}
    return error


def _verify(request: SignedRequest, bucket: str, settings, now: datetime, scope: Scope, date: str,
            token: Optional[str], additional: Sequence[str], query: Pairs, provided: str) -> None:
    secret = secret_for(scope.key_id, token, settings, now)
    canonical = canonical_request(request.method, bucket, request.key, query, request.headers, additional)
    to_sign = string_to_sign(date, scope, canonical)
    if not hmac.compare_digest(signature(secret, scope, to_sign).encode("ascii"), provided.encode("utf-8")):
        raise _mismatch(to_sign, provided)


def _signing_date(raw: Optional[str], scope: Scope, codes: ScopeCodes, credential: str) -> datetime:
    signed_at = parse_signing_date(raw or "")
    if signed_at is None:
        # "If the date header is missing or malformed: 403 AccessDenied" (OSS's signature doc, V1 era).
        raise OssError(403, "AccessDenied", "The x-oss-date is missing or not in the form YYYYMMDD'T'HHMMSS'Z'.")
    if signed_at.strftime("%Y%m%d") != scope.day:
        raise invalid_argument(f"Invalid signing date in {codes.field}.", codes.day, codes.field, credential)
    return signed_at


def _parse_authorization(value: str) -> Tuple[str, List[str], str]:
    """(credential, additional headers, signature) from `OSS4-HMAC-SHA256 Credential=..,..`."""
    malformed = invalid_argument("Authorization header is invalid.", name="Authorization", value=value)
    scheme, _, rest = value.strip().partition(" ")
    if scheme != SIGNATURE_VERSION:
        # V1 (`OSS ak:signature`) is request_auth_v1.py's; other schemes are refused.
        raise invalid_argument("Invalid signature version, only OSS4-HMAC-SHA256 is supported.",
                               name="Authorization", value=scheme)
    items: Dict[str, str] = {}
    for item in rest.split(","):
        name, sep, item_value = item.strip().partition("=")
        if not sep or name not in ("Credential", "AdditionalHeaders", "Signature") or name in items:
            raise malformed
        items[name] = item_value
    if "Credential" not in items or "Signature" not in items:
        raise malformed
    if not items["Signature"]:
        raise invalid_argument("The Signature in the Authorization header is empty.", "0002-00000208",
                               "Authorization", value)
    additional = items["AdditionalHeaders"].split(";") if items.get("AdditionalHeaders") else []
    return items["Credential"], additional, items["Signature"]


def _by_header(request: SignedRequest, value: str, bucket: str, settings, now: datetime) -> Principal:
    credential, additional, provided = _parse_authorization(value)
    scope = parse_scope(credential, settings.region, HEADER_SCOPE)
    raw_date = _first(request.headers, "x-oss-date", lower=True)
    signed_at = _signing_date(raw_date, scope, HEADER_SCOPE, credential)
    if abs(signed_at - now) > MAX_SKEW:
        raise time_skewed()
    payload = _first(request.headers, "x-oss-content-sha256", lower=True)
    if payload != UNSIGNED_PAYLOAD:
        # Strict: only unsigned payloads (what the SDK sends); a body hash is not checked here.
        raise invalid_argument("x-oss-content-sha256 must be UNSIGNED-PAYLOAD.", "0002-00000214",
                               "x-oss-content-sha256", payload or "")
    token = _first(request.headers, "x-oss-security-token", lower=True)
    _verify(request, bucket, settings, now, scope, raw_date, token, additional, request.query, provided)
    return Principal(scope.key_id, presigned=False)


def _by_query(request: SignedRequest, bucket: str, settings, now: datetime) -> Principal:
    params: Dict[str, str] = {}
    for name, value in request.query:
        if name.startswith("x-oss-") and name in params:
            raise invalid_argument(f"The query parameter {name} is specified more than once.", name=name, value=value)
        params[name] = value
    version = params.get("x-oss-signature-version")
    if version != SIGNATURE_VERSION:
        raise invalid_argument("Invalid signature version, only OSS4-HMAC-SHA256 is supported.",
                               name="x-oss-signature-version", value=version or "")
    for name, ec in (("x-oss-credential", None), ("x-oss-date", None), ("x-oss-expires", "0002-00000215"),
                     ("x-oss-signature", "0002-00000219")):
        if not params.get(name):
            # "Missing presign parameters: 403 AccessDenied" (OSS's presigned URL doc).
            raise OssError(403, "AccessDenied", f"Query string parameter {name} is missing or empty.", ec=ec)
    credential = params["x-oss-credential"]
    scope = parse_scope(credential, settings.region, QUERY_SCOPE)
    raw_date = params["x-oss-date"]
    signed_at = _signing_date(raw_date, scope, QUERY_SCOPE, credential)
    raw_expires = params["x-oss-expires"]
    expires = decimal(raw_expires, 7) or 0
    if not 1 <= expires <= MAX_EXPIRES:
        raise invalid_argument(f"x-oss-expires must be an integer between 1 and {MAX_EXPIRES}.", "0002-00000232",
                               "x-oss-expires", raw_expires)
    if signed_at - now > MAX_SKEW:
        raise time_skewed()
    if now > signed_at + timedelta(seconds=expires):
        error = request_expired()
        error.ec = "0002-00000236"
        error.extra = {"Expires": (signed_at + timedelta(seconds=expires)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        raise error
    additional = params["x-oss-additional-headers"].split(";") if params.get("x-oss-additional-headers") else []
    query = [(n, v) for n, v in request.query if n != "x-oss-signature"]
    _verify(request, bucket, settings, now, scope, raw_date, params.get("x-oss-security-token"), additional, query,
            params["x-oss-signature"])
    return Principal(scope.key_id, presigned=True)


def carries_signature(request: SignedRequest) -> bool:
    """Whether `request` is signed at all (well or not), V4 or V1."""
    return (_first(request.headers, "authorization", lower=True) is not None
            or any(name in QUERY_AUTH or name in request_auth_v1.QUERY_AUTH for name, _ in request.query))


def authenticate(request: SignedRequest, bucket: Optional[str], settings, now: datetime) -> Optional[Principal]:
    """Who signed `request` (to `bucket`, or to the service itself when None); None when it carries
    no signature at all (anonymous).

    Raises OssError with OSS's code for a signature that is present but not good. Messages
    OSS's documentation does not quote are unverified; ECs are those of its troubleshooting pages.
    """
    header = _first(request.headers, "authorization", lower=True)
    in_query = any(name in QUERY_AUTH for name, _ in request.query)
    v1_query = any(name in ("OSSAccessKeyId", "Signature") for name, _ in request.query)
    if header is not None and (in_query or v1_query):
        # 400 InvalidArgument is OSS's ("Add signatures to a URL"); the wording is unverified.
        raise invalid_argument("A request may carry its signature in the Authorization header or in the query "
                               "string, not both.", name="Authorization", value="")
    if header is not None and header.strip().startswith("OSS "):
        return Principal(request_auth_v1.by_header(request, header, bucket, settings, now), presigned=False)
    if header is not None:
        return _by_header(request, header, bucket, settings, now)
    if in_query:
        return _by_query(request, bucket, settings, now)
    if v1_query:
        return Principal(request_auth_v1.by_query(request, bucket, settings, now), presigned=True)
    return None
