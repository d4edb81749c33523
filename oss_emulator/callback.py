"""The upload callback, made the way OSS makes it (PostObject now; CompleteMultipartUpload can call
`run_callback` the same way).

After the object is stored, OSS POSTs a body built from the `callback` template to `callbackUrl`,
signed with RSA (PKCS#1 v1.5, MD5) over `url_decode(path) + "?" + raw query + "\\n" + body`. A 200
answer with a JSON body goes back to the uploader; anything else gives the uploader 203
CallbackFailed, with the object kept. OSS signs with its own key; the emulator signs with one of
its own, created on first use under `<storage dir>/keys/` and served at PUBLIC_KEY_PATH.

Sources: OSS's Callback doc (notes section 1; messages from the 400 and 203 troubleshooting pages).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import http.client
import json
import logging
import os
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import quote, unquote_to_bytes, urlsplit

from Crypto.Hash import MD5
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15
from werkzeug.wrappers import Response

from .errors import REQUEST_ID, OssError, error_response

log = logging.getLogger("oss_emulator")

PUBLIC_KEY_PATH = "/oss-emulator/callback_pub_key.pem"
KEY_FILE = os.path.join("keys", "callback-private.pem")
KEY_BITS = 2048
DEFAULT_TIMEOUT = 5.0  # seconds: OSS gives the callback server 5 s, and never retries
MAX_CALLBACK = 5 * 1024  # the Base64 value of `callback` (and `callback-var`)
MAX_URLS = 5
MAX_ANSWER = 1024 * 1024  # "Body大小不要超过1MB" (another revision says 3 MB: the strict one)
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
SYSTEM_VARIABLES = ("bucket", "object", "etag", "size", "mimeType",
                    "imageInfo.height", "imageInfo.width", "imageInfo.format")
# "用户自定义参数的Key一定要以x:开头，且必须为小写" (the Callback doc); its examples use digits and '_'.
CUSTOM_VARIABLE = re.compile(r"^x:[a-z0-9_]+$")
_TEMPLATE_VARIABLE = re.compile(r"\$\{([^{}]*)\}")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$")
_URL_CHARACTERS = re.compile(r"^[\x21-\x7e]+$")


@dataclass(frozen=True)
class CallbackConfig:
    urls: Tuple[str, ...]  # tried in order until one succeeds
    body: str  # the template
    body_type: str = FORM
    host: Optional[str] = None  # the Host header; default: the URL's own host
    sni: bool = False  # accepted and validated; Python's TLS always sends SNI (not modelled)


@dataclass(frozen=True)
class ObjectInfo:
    """The stored object, for the system variables; `path` is its bytes on disk (image info)."""
    bucket: str
    key: str
    etag: str  # as in the ETag header, without the quotes
    size: int
    mime_type: str
    path: str


@dataclass
class CallbackOutcome:
    """What the uploader gets: 200 with the callback server's JSON body, or 203 CallbackFailed."""
    ok: bool
    body: bytes = b""  # the callback server's answer when ok
    content_type: str = JSON
    message: str = ""  # OSS's CallbackFailed message when not ok
    ec: Optional[str] = None

    @property
    def status(self) -> int:
        return 200 if self.ok else 203

    def error(self) -> OssError:
        return OssError(203, "CallbackFailed", self.message, ec=self.ec)


class _Failed(Exception):
    def __init__(self, message: str, ec: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.ec = ec


# -- parsing and validating the `callback` value ------------------------------------------------

def _invalid(message: str, ec: Optional[str] = None, name: str = "callback") -> OssError:
    # OSS also echoes the value as ArgumentValue; left out, since the callbackUrl carries a token
    # and nothing here returns one.
    return OssError(400, "InvalidArgument", message, ec=ec, extra={"ArgumentName": name})


def _url(raw: str) -> str:
    """One callbackUrl entry, normalised to carry its scheme; OssError if OSS would refuse it."""
    candidate = raw.strip()
    # OSS's own examples omit the scheme ("121.43.113.8:23456/index.html"): http is meant.
    if "://" not in candidate:
        candidate = "http://" + candidate
    if not _URL_CHARACTERS.match(candidate):  # "需做url编码处理": non-ASCII and spaces must be encoded
        raise _invalid("The callback url configuration is invalid.", "0007-00000004")
    parts = urlsplit(candidate)
    try:
        port = parts.port  # ValueError for a port that is not a number in range
    except ValueError:
        raise _invalid("The callback url configuration is invalid.", "0007-00000004") from None
    # IPv6 addresses are not supported by OSS's callback; user info is never meant.
    if (parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc
            or "[" in parts.netloc or port == 0 or parts.fragment):
        raise _invalid("The callback url configuration is invalid.", "0007-00000004")
    return candidate


def check_template(body: str, body_type: str) -> None:
    """Every `${...}` names a system variable or an `x:` variable; JSON bodies parse as JSON."""
    if "${" in _TEMPLATE_VARIABLE.sub("", body):
        raise _invalid("The callback body is invalid.")  # an unclosed or nested `${`
    for name in _TEMPLATE_VARIABLE.findall(body):
        if name not in SYSTEM_VARIABLES and not CUSTOM_VARIABLE.match(name):
            # Strict reading: the documented variables only (newer ones like ${crc64} unverified).
            raise _invalid("The callback body is invalid.")
    if body_type == JSON:
        try:
            json.loads(_TEMPLATE_VARIABLE.sub('""', body))
        except ValueError:
            # OSS's troubleshooting page gives this message for a JSON callbackBody that is not JSON.
            raise _invalid("The callback configuration is not json format.", "0007-00000003") from None


def parse_callback(value: str) -> CallbackConfig:
    """The Base64 JSON of a `callback` form field (or `x-oss-callback` header); OssError 400
    InvalidArgument with OSS's message for anything OSS refuses."""
    if len(value.encode("utf-8")) > MAX_CALLBACK:
        raise _invalid("The length of callback exceed max value.", "0007-00000001")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeError, ValueError):
        raise _invalid("The callback configuration is not base64 encoded.", "0007-00000002") from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        document = None
    if not isinstance(document, dict):
        raise _invalid("The callback configuration is not json format.", "0007-00000003")

    raw_urls = document.get("callbackUrl")
    if not isinstance(raw_urls, str) or not raw_urls.strip():
        raise _invalid("The callback url configuration is invalid.", "0007-00000004")
    pieces = raw_urls.split(";")
    if len(pieces) > MAX_URLS:
        raise _invalid("The number of callback url exceed max value.")
    urls = tuple(_url(piece) for piece in pieces)

    host = document.get("callbackHost")
    if host is not None and not (isinstance(host, str) and _HOST.match(host)):
        raise _invalid("The callback host configuration is invalid.")

    body = document.get("callbackBody")
    if body is None or body == "":
        raise _invalid("The callback body is empty.", "0007-00000011")
    if not isinstance(body, str):
        raise _invalid("The callback body is invalid.")

    body_type = document.get("callbackBodyType", FORM)
    if body_type not in (FORM, JSON):
        raise _invalid("The callback body type configuration is invalid.", "0007-00000012")

    sni = document.get("callbackSNI", False)
    if not isinstance(sni, bool):  # a JSON boolean only; "true" as a string is refused
        raise _invalid("The callback sni is invalid.")

    check_template(body, body_type)
    return CallbackConfig(urls, body, body_type, host, sni)


def parse_callback_var(value: str) -> Dict[str, str]:
    """The Base64 JSON of `x-oss-callback-var` (PutObject, CompleteMultipartUpload):
    `{"x:var1": "value1", ...}`; OssError with OSS's messages otherwise."""
    if len(value.encode("utf-8")) > MAX_CALLBACK:
        raise _invalid("The length of callback var exceed max value.", "0007-00000102", "callback-var")
    try:
        document = json.loads(base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeError, ValueError):
        document = None
    if not (isinstance(document, dict)
            and all(CUSTOM_VARIABLE.match(k) and isinstance(v, str) for k, v in document.items())):
        raise _invalid("The callback var is not expecten json.", "0007-00000103", "callback-var")  # sic
    return document


def custom_variables(fields) -> Dict[str, str]:
    """The `x:` variables among PostObject form fields ((name, value) pairs), each its own field
    (PostObject has no callback-var); OssError for a name OSS refuses."""
    variables = {}
    for name, value in fields:
        if name[:2].lower() == "x:":
            if not CUSTOM_VARIABLE.match(name):
                # Unverified wording; the rule is the Callback doc's (lower case, starting with x:).
                raise _invalid("The custom variable name must be lower case and start with 'x:'.", name=name)
            variables[name] = value
    return variables


# -- the body ------------------------------------------------------------------------------------

def _image_info(path: str) -> Tuple[str, str, str]:
    """(height, width, format) when the object is an image Pillow can identify, else empty."""
    try:
        from PIL import Image

        with Image.open(path) as image:  # reads the header only
            width, height = image.size
            kind = (image.format or "").lower()
    except Exception:  # not an image, damaged, or too large for Pillow: "对于非图片格式，该变量的值为空"
        return "", "", ""
    return str(height), str(width), {"jpeg": "jpg"}.get(kind, kind)


def system_variables(info: ObjectInfo, template: str) -> Dict[str, str]:
    values = {"bucket": info.bucket, "object": info.key, "etag": info.etag, "size": str(info.size),
              "mimeType": info.mime_type, "imageInfo.height": "", "imageInfo.width": "", "imageInfo.format": ""}
    if "${imageInfo." in template:
        values["imageInfo.height"], values["imageInfo.width"], values["imageInfo.format"] = _image_info(info.path)
    return values


def render_body(config: CallbackConfig, values: Mapping[str, str]) -> bytes:
    """The template with each `${name}` replaced: URL-encoded in form bodies, a JSON string in
    JSON bodies (the template holds no quotes around placeholders: `{"size":${size}}`). A variable
    without a value is empty."""
    if config.body_type == JSON:
        def one(match):
            return json.dumps(values.get(match.group(1), ""), ensure_ascii=False)
    else:
        def one(match):
            return quote(values.get(match.group(1), ""), safe="")
    return _TEMPLATE_VARIABLE.sub(one, config.body).encode("utf-8")


# -- the key -------------------------------------------------------------------------------------

_keys: Dict[str, RSA.RsaKey] = {}
_keys_lock = threading.Lock()


def _create_key(path: str) -> None:
    """Write a new key at `path` unless one appears first (another emulator on the same folder):
    complete the moment it appears (link), readable by its owner only."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    pem = RSA.generate(KEY_BITS).export_key("PEM")
    temp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # someone else's key won: use that one
        except OSError:  # no hard links here: claim the name, then fill it in
            try:
                claimed = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            except FileExistsError:
                return
            with os.fdopen(claimed, "wb") as handle:
                handle.write(pem)
    finally:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass


def _load_key(storage_dir: str) -> RSA.RsaKey:
    path = os.path.join(os.path.abspath(storage_dir), KEY_FILE)
    with _keys_lock:
        key = _keys.get(path)
        if key is not None:
            return key
        if not os.path.exists(path):
            _create_key(path)
        deadline = time.monotonic() + 2
        while True:
            try:
                with open(path, "rb") as handle:
                    key = RSA.import_key(handle.read())
                break
            except ValueError:  # a key another process is still writing (no-hard-link fallback)
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        _keys[path] = key
        return key


def callback_public_key_pem(storage_dir: str) -> bytes:
    """The PEM (SubjectPublicKeyInfo) of the emulator's callback key; the key is created on first use."""
    return _load_key(storage_dir).publickey().export_key("PEM") + b"\n"


def sign(message: bytes, storage_dir: str) -> str:
    """Base64 of the RSA PKCS#1 v1.5 signature over MD5(message), as OSS signs callbacks."""
    return base64.b64encode(pkcs1_15.new(_load_key(storage_dir)).sign(MD5.new(message))).decode("ascii")


def string_to_sign(url: str, body: bytes) -> bytes:
    """`url_decode(path) + ("?" + raw query, if the URL has one) + "\\n" + body`."""
    parts = urlsplit(url)
    query = ("?" + parts.query).encode("ascii") if "?" in url else b""
    return unquote_to_bytes(parts.path or "/") + query + b"\n" + body


def public_key_url(settings) -> str:
    return f"{settings.upload_host}{PUBLIC_KEY_PATH}"


# -- sending -------------------------------------------------------------------------------------

def _send(url: str, config: CallbackConfig, body: bytes, headers: Dict[str, str], timeout: float) -> CallbackOutcome:
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    target = (parts.path or "/") + ("?" + parts.query if "?" in url else "")
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    request_headers = dict(headers, Host=config.host or parts.netloc)
    try:
        try:
            connection.request("POST", target, body=body, headers=request_headers)
            response = connection.getresponse()
        except socket.timeout:
            raise _Failed("Cost too long time.") from None
        except (OSError, http.client.HTTPException):
            raise _Failed("Error Status : -1.OSS can not connect to your callbackUrl, please check it.") from None
        try:
            if response.status != 200:
                # Any other status fails, redirects included; EC as observed for a 301.
                raise _Failed(f"Error status : {response.status}.", "0007-00000203")
            length = response.getheader("Content-Length")
            if length is None:
                raise _Failed("Error Status : 400.User server missing content-length.")
            if not length.strip().isdigit():
                raise _Failed("Error Status : 400.User server return invalid conent-length value.")  # sic
            if int(length) > MAX_ANSWER:
                raise _Failed("Error Status : 400.User server return too long content-length value.")
            answer = bytearray()
            while len(answer) < int(length):
                if time.monotonic() > deadline:
                    raise _Failed("Cost too long time.")
                chunk = response.read(min(65536, int(length) - len(answer)))
                if not chunk:
                    raise _Failed("Error Status : 400.User server return invalid conent-length value.")  # sic
                answer += chunk
        except socket.timeout:
            raise _Failed("Cost too long time.") from None
        except (OSError, http.client.HTTPException):
            raise _Failed("Error Status : -1.OSS can not connect to your callbackUrl, please check it.") from None
        if time.monotonic() > deadline:
            raise _Failed("Cost too long time.")
        try:
            json.loads(bytes(answer).decode("utf-8"))
        except ValueError:
            raise _Failed("Response body is not valid json format.") from None
        return CallbackOutcome(True, bytes(answer), response.getheader("Content-Type") or JSON)
    finally:
        connection.close()


def run_callback(callback_b64: str, variables: Mapping[str, str], object_info: ObjectInfo, settings,
                 storage_dir: str, timeout: float = DEFAULT_TIMEOUT) -> CallbackOutcome:
    """Call back for a stored object: `callback_b64` is the `callback` value (validate it with
    `parse_callback` before storing, so a bad one is a 400 with nothing stored; here it raises the
    same OssError), `variables` the custom `x:` variables by full name. Each URL is tried in order
    with `timeout` seconds until one answers 200 with JSON."""
    config = parse_callback(callback_b64)
    values = dict(variables)
    values.update(system_variables(object_info, config.body))
    body = render_body(config, values)
    failure = _Failed("Error Status : -1.OSS can not connect to your callbackUrl, please check it.")
    for number, url in enumerate(config.urls, 1):
        headers = {
            "Authorization": sign(string_to_sign(url, body), storage_dir),
            "x-oss-pub-key-url": base64.b64encode(public_key_url(settings).encode("utf-8")).decode("ascii"),
            "Content-Type": config.body_type,
            "Content-Length": str(len(body)),
            "Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode("ascii"),
            "Date": formatdate(usegmt=True),
            "User-Agent": "aliyun-oss-callback",
            "x-oss-bucket": object_info.bucket,
            "x-oss-tag": "CALLBACK",
            "Connection": "close",
        }
        try:
            return _send(url, config, body, headers, timeout)
        except _Failed as failed:
            failure = failed  # the URL itself is never logged: its query carries a token
            log.info("本地 OSS 回调失败（第 %d 个地址）：%s", number, failed.message)
    return CallbackOutcome(False, message=failure.message, ec=failure.ec)


def callback_response(outcome: CallbackOutcome, etag: str, request) -> Response:
    """What the uploader gets: 200 with the callback server's body and type (whatever else the
    upload asked for), or 203 CallbackFailed; the object's ETag either way."""
    if outcome.ok:
        response = Response(outcome.body, status=200, content_type=outcome.content_type)
    else:
        response = error_response(outcome.error(), request.environ.get(REQUEST_ID, ""), request.host)
    response.headers["ETag"] = f'"{etag}"'
    return response


def header_hook(settings, storage_dir: str, timeout: Callable[[], float]):
    """The upload callback of PutObject and CompleteMultipartUpload (`x-oss-callback`, `x-oss-callback-var`
    headers): checked before the body is read or anything is assembled, run after the object is stored."""

    def check(request):
        callback_b64 = request.headers["x-oss-callback"]
        parse_callback(callback_b64)  # a bad parameter: 400, nothing assembled
        raw_vars = request.headers.get("x-oss-callback-var")
        variables = parse_callback_var(raw_vars) if raw_vars is not None else {}

        def finish(obj):
            info = ObjectInfo(settings.bucket, obj.key, obj.etag, obj.size, obj.content_type,
                              os.path.join(storage_dir, "blobs", obj.blob))
            outcome = run_callback(callback_b64, variables, info, settings, storage_dir, timeout())
            return callback_response(outcome, obj.etag, request)

        return finish

    return check
