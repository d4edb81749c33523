"""Is this upload callback from OSS? The trusted public keys and the RSA check, nothing else.

OSS signs `url_decode(path) + ("?" + raw query) + "\\n" + body` with RSA PKCS#1 v1.5 over MD5 and
names its public key by URL in `x-oss-pub-key-url` (Base64). We never fetch that URL: the key is
pinned here (OSS documents that it does not change), and a URL we do not trust is refused without
any request to it. The key is RSA-512, and any OSS customer can make OSS call our URL with a body
of their choosing: a valid signature only says "probably sent by OSS". The single-use token in the
query and the HEAD of the object (records.py) are what make a callback safe to act on.
"""
from __future__ import annotations

import base64
import binascii
import threading
from typing import Callable, Dict, Optional

from .errors import ApiError

# pycryptodome is imported when the first callback arrives, not at start-up (signing never needs it).

# The key served at https://gosspublic.alicdn.com/callback_pub_key_v1.pem. The example signature in
# OSS's Callback documentation verifies against it (tests/test_oss_callback.py).
OSS_CALLBACK_PUBLIC_KEY = b"""-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKs/JBGzwUB2aVht4crBx3oIPBLNsjGs
C0fTXv+nvlmklvkcolvpvXLTjaxUHR3W9LXxQ2EHXAJfCB+6H2YF1k8CAwEAAQ==
-----END PUBLIC KEY-----
"""
# Exact prefixes, trailing slash included: "gosspublic.alicdn.com.evil.example" is not OSS.
OSS_KEY_URL_PREFIXES = ("http://gosspublic.alicdn.com/", "https://gosspublic.alicdn.com/")


class CallbackRejected(ApiError):
    """403 to OSS (which then answers the uploader 203 CallbackFailed); `reason` is for the log only."""

    def __init__(self, reason: str, kind: str = "signature"):
        super().__init__(403, "CallbackRejected", "上传回调校验失败")
        self.reason = reason
        self.kind = kind  # the metrics' label: key_url, signature, token, mismatch, replay, body


class CallbackKeys:
    """Which key verifies a callback, by the key URL it names.

    `oss_key_pem`: OSS's key (OSS_CALLBACK_PUBLIC_KEY unless the operator overrides it).
    `local`: in local mode only, (exact key URL, loader of the emulator's public key PEM).
    """

    def __init__(self, oss_key_pem: bytes = OSS_CALLBACK_PUBLIC_KEY,
                 local: Optional[tuple] = None):
        self._loaders: Dict[str, Callable[[], bytes]] = {}  # "oss" / "local" -> PEM, parsed once on first use
        self._loaders["oss"] = lambda: oss_key_pem
        self._local_url: Optional[str] = local[0] if local else None
        if local:
            self._loaders["local"] = local[1]
        self._keys: Dict[str, object] = {}
        self._lock = threading.Lock()

    def key_for(self, url: str):
        if url.startswith(OSS_KEY_URL_PREFIXES):
            return self._key("oss")
        if self._local_url is not None and url == self._local_url:
            return self._key("local")
        return None

    def _key(self, which: str):
        key = self._keys.get(which)
        if key is None:  # read once, then kept: never per request
            from Crypto.PublicKey import RSA

            with self._lock:
                key = self._keys.get(which) or RSA.import_key(self._loaders[which]())
                self._keys[which] = key
        return key


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise CallbackRejected(f"{what} is not Base64") from None


def signed_string(path: str, raw_query: bytes, body: bytes) -> bytes:
    """What OSS signs: the URL-decoded path, the raw query with its "?", a newline, the raw body."""
    query = b"?" + raw_query if raw_query else b""
    return path.encode("utf-8") + query + b"\n" + body


def verify_signature(keys: CallbackKeys, headers: Dict[str, str], path: str, raw_query: bytes, body: bytes) -> None:
    """Return if OSS (or, in local mode, the emulator) signed this request; CallbackRejected otherwise.

    In this order: the key URL is one we trust (checked before anything else, and never fetched),
    then the signature.
    """
    encoded_url = headers.get("x-oss-pub-key-url")
    if not encoded_url:
        raise CallbackRejected("no x-oss-pub-key-url header", "key_url")
    try:
        url = _b64(encoded_url, "x-oss-pub-key-url").decode("utf-8")
    except UnicodeDecodeError:
        raise CallbackRejected("x-oss-pub-key-url is not UTF-8", "key_url") from None
    key = keys.key_for(url)
    if key is None:
        raise CallbackRejected(f"untrusted public key URL {url[:120]!r}", "key_url")
    authorization = headers.get("authorization")
    if not authorization:
        raise CallbackRejected("no authorization header")
    signature = _b64(authorization, "authorization")
    from Crypto.Hash import MD5
    from Crypto.Signature import pkcs1_15

    try:
        pkcs1_15.new(key).verify(MD5.new(signed_string(path, raw_query, body)), signature)
    except (ValueError, TypeError):
        raise CallbackRejected("signature does not verify") from None


def valid_public_key(pem: bytes) -> bool:
    from Crypto.PublicKey import RSA

    try:
        return RSA.import_key(pem).has_private() is False
    except (ValueError, IndexError, TypeError):
        return False
