"""Presigned URLs with OSS's signature V4 in the query string. Pure: no I/O, the time passed in.

The list of 我的文件 presigns two URLs per file; through the SDK's request pipeline that cost
about 0.2 ms a URL, a dozen times a whole signing request, so the V4 query signing is written
out here (about 20 µs a URL). It reproduces OSS's published presign vectors byte for byte
(tests/test_presign_v4.py) and the emulator's verifier, which is independent, accepts it.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from functools import lru_cache
from typing import Dict, Iterable, Optional
from urllib.parse import quote

from .clock import require_aware
from .post_form import REQUEST_TYPE, SERVICE, SIGNATURE_VERSION, credential_scope, signing_key, x_oss_date

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_EXPIRES = 604800  # OSS: x-oss-expires is 1..604800 s


@lru_cache(maxsize=4096)
def _encode(text: str) -> str:
    # RFC 3986 unreserved characters stay; everything else (including "/" and "+") is escaped.
    # Cached: parameter names, the thumbnail's process and a page's download names repeat.
    return quote(text, safe="-_.~")


@lru_cache(maxsize=4096)
def _encode_path(key: str) -> str:
    # Cached: a page signs the download and the thumbnail URL of the same key, and pages are re-read.
    return quote(key, safe="/")


def _is_signed_header(name: str) -> bool:
    return name.startswith("x-oss-") or name in ("content-type", "content-md5")


def _additional(names: Iterable[str], headers: Dict[str, str]) -> list:
    """As OSS's SDKs list them: lower-case, sorted, only headers present and not signed anyway."""
    present = {name.lower() for name in headers}
    return sorted({name.lower() for name in names} & present - {n for n in present if _is_signed_header(n)})


class QuerySigner:
    """Presigns any number of URLs with one set of credentials, one signing time and one expiry.

    What all those URLs share (scope, signing key, the encoded V4 parameters, among them a long
    security token) is worked out once: a page of 我的文件 signs dozens of URLs.
    """

    def __init__(self, access_key_id: str, access_key_secret: str, security_token: Optional[str], region: str,
                 signed_at: datetime, expires_seconds: int):
        if not 1 <= expires_seconds <= MAX_EXPIRES:
            raise ValueError(f"expires_seconds must be 1..{MAX_EXPIRES}")
        self._date = x_oss_date(require_aware(signed_at, "signed_at"))
        day = self._date[:8]
        common = {
            "x-oss-signature-version": SIGNATURE_VERSION,
            "x-oss-date": self._date,
            "x-oss-expires": str(expires_seconds),
            "x-oss-credential": credential_scope(access_key_id, day, region),
        }
        if security_token:
            common["x-oss-security-token"] = security_token
        self._common = [(_encode(name), _encode(value)) for name, value in common.items()]
        self._common_query = "&".join(f"{k}={v}" for k, v in self._common)
        self._scope = f"{day}/{region}/{SERVICE}/{REQUEST_TYPE}"
        self._string_to_sign_head = f"{SIGNATURE_VERSION}\n{self._date}\n{self._scope}\n"
        self._key = signing_key(access_key_secret, day, region)

    def url(self, method: str, base_url: str, bucket: str, key: str, params: Optional[Dict[str, str]] = None,
            headers: Optional[Dict[str, str]] = None, additional: Iterable[str] = ()) -> str:
        """A URL for `method` on `key`.

        `base_url` is where the bucket's keys sit at the path root (https://bucket.oss-region.aliyuncs.com,
        a bound domain, or the emulator). `params` are the request's own query parameters ("" for a
        bare one such as `uploads`); `headers` are the ones the request must carry with exactly these
        values: content-type, content-md5 and x-oss-* are always signed, any other only when its name is
        in `additional` (V4's x-oss-additional-headers; e.g. content-length binds a part's exact size).
        """
        listed = _additional(additional, headers) if headers else []
        own = [(_encode(name), _encode(value)) for name, value in params.items()] if params else []
        if listed:
            own.append(("x-oss-additional-headers", _encode(";".join(listed))))
        canonical_query = "&".join(f"{k}={v}" if v else k for k, v in sorted(own + self._common))
        signed = sorted((name.lower(), value) for name, value in headers.items()
                        if _is_signed_header(name.lower()) or name.lower() in listed) if headers else []
        canonical_headers = "".join(f"{name}:{value}\n" for name, value in signed)
        path = _encode_path(key)
        # The canonical URI names the bucket even where the URL does not (a bound domain, the emulator).
        canonical = "\n".join([method, f"/{_encode(bucket)}/{path}", canonical_query, canonical_headers,
                               ";".join(listed), UNSIGNED_PAYLOAD])
        string_to_sign = self._string_to_sign_head + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        signature = hmac.digest(self._key, string_to_sign.encode("utf-8"), "sha256").hex()
        own_query = "&".join(f"{k}={v}" if v else k for k, v in own)
        url_query = f"{own_query}&{self._common_query}" if own_query else self._common_query
        return f"{base_url}/{path}?{url_query}&x-oss-signature={signature}"


def presign(method: str, base_url: str, bucket: str, key: str, access_key_id: str, access_key_secret: str,
            security_token: Optional[str], region: str, signed_at: datetime, expires_seconds: int,
            params: Optional[Dict[str, str]] = None, headers: Optional[Dict[str, str]] = None,
            additional: Iterable[str] = ()) -> str:
    """One presigned URL (QuerySigner for many)."""
    signer = QuerySigner(access_key_id, access_key_secret, security_token, region, signed_at, expires_seconds)
    return signer.url(method, base_url, bucket, key, params, headers, additional)
