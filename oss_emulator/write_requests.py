"""What a write request (PutObject, InitiateMultipartUpload, UploadPart, CopyObject) says about its
body and its object, read from its headers the way OSS reads them."""
from __future__ import annotations

import base64
import hashlib
import binascii
import mimetypes
from typing import Callable, Dict, Optional

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

from .errors import OssError
from .http_headers import is_field_value
from .object_meta import OBJECT_ACLS, STORAGE_CLASSES

MAX_USER_METADATA = 8 * 1024  # OSS's limit for all x-oss-meta-* together
# Request headers InitiateMultipartUpload keeps for the object, by lower-case name.
OBJECT_HEADERS = {
    "content-type": "Content-Type",
    "content-disposition": "Content-Disposition",
    "cache-control": "Cache-Control",
    "content-encoding": "Content-Encoding",
    "expires": "Expires",
    "x-oss-storage-class": "x-oss-storage-class",
    "x-oss-object-acl": "x-oss-object-acl",
}


def argument(message: str, name: str, value: str, ec: Optional[str] = None) -> OssError:
    return OssError(400, "InvalidArgument", message, ec=ec, extra={"ArgumentName": name, "ArgumentValue": value})


def read_body(request: Request) -> Callable[[int], bytes]:
    def read(size: int) -> bytes:
        try:
            return request.stream.read(size)
        except (HTTPException, OSError, ValueError):  # the client went away mid-body
            raise OssError(400, "IncompleteBody", "You did not provide the number of bytes specified by the "
                                                   "Content-Length HTTP header.") from None
    return read


def content_md5(request: Request) -> Optional[bytes]:
    raw = request.headers.get("Content-MD5")
    if raw is None:
        return None
    try:
        digest = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise OssError(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
    return digest


def digest_mismatch() -> OssError:
    return OssError(400, "InvalidDigest", "The Content-MD5 you specified did not match what we received.")


def forbid_overwrite(request: Request) -> Optional[bool]:
    raw = request.headers.get("x-oss-forbid-overwrite")
    if raw is None:
        return None
    if raw.strip().lower() not in ("true", "false"):
        raise argument("x-oss-forbid-overwrite must be true or false.", "x-oss-forbid-overwrite", raw)
    return raw.strip().lower() == "true"


def object_headers(request: Request, key: str) -> Dict[str, str]:
    """What PutObject, Initiate and a CopyObject with REPLACE keep for the object; refuses values OSS refuses or no header can carry."""
    headers: Dict[str, str] = {}
    metadata = 0
    for name, value in request.headers.items():
        lower = name.lower()
        if lower in OBJECT_HEADERS:
            kept = OBJECT_HEADERS[lower]
        elif lower.startswith("x-oss-meta-"):
            kept = lower
            metadata += len(lower) + len(value.encode("latin-1"))
        else:
            continue
        if not is_field_value(value):
            raise argument(f"The header {name} holds a character a header cannot carry.", name, "")
        headers[kept] = value
    if metadata > MAX_USER_METADATA:
        raise OssError(400, "InvalidArgument", "Your metadata headers exceed the maximum allowed metadata size.")
    storage_class = headers.get("x-oss-storage-class")
    if storage_class is not None and storage_class not in STORAGE_CLASSES:
        raise argument("Invalid storage class.", "x-oss-storage-class", storage_class)
    acl = headers.get("x-oss-object-acl")
    if acl is not None and acl not in OBJECT_ACLS:
        raise argument("Invalid object acl.", "x-oss-object-acl", acl)
    if "Content-Type" not in headers:
        # Strict reading (OSS documents no default): guessed from the key, as for PostObject here.
        headers["Content-Type"] = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return headers


def xml_body(request: Request, limit: int) -> bytes:
    """A small request body read whole (at most `limit` bytes), checked against Content-MD5."""
    expected_md5 = content_md5(request)
    read = read_body(request)
    body = read(limit + 1)
    while len(body) <= limit:
        more = read(limit + 1 - len(body))
        if not more:
            break
        body += more
    if len(body) > limit:
        raise OssError(400, "MalformedXML", "The XML you provided was too large.")
    if expected_md5 is not None and hashlib.md5(body).digest() != expected_md5:
        raise digest_mismatch()
    return body


def check_length(request: Request, max_size: int) -> None:
    """A body must announce its length (or be chunked) and fit `max_size`, before any of it is read."""
    length = request.content_length
    if length is None and not request.environ.get("wsgi.input_terminated"):
        raise OssError(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
    if length is not None and length > max_size:
        raise OssError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
