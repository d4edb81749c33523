"""Reading and deleting objects: `GET`, `HEAD` and `DELETE /<key>` on a private bucket.

Who may read: a signed request (request_auth.py), or anyone for an object stored public-read.
GET adds OSS's extras: response-* header overrides (signed requests only), ranges (ranges.py),
image resizing (image_process.py); Archive-class objects are not readable until restored.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import BinaryIO, List, Mapping, Optional, Tuple

from werkzeug.datastructures import Headers
from werkzeug.http import http_date, is_resource_modified
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import wrap_file

from . import errors, image_process, ranges
from .errors import OssError
from .http_headers import is_field_value, is_safe
from .object_meta import FROZEN_CLASSES, is_public, object_type, storage_class, stored
from .request_auth import Principal
from .storage import Storage, StoredObject

# GetObject's response-* parameters and the header each one sets (OSS's GetObject doc).
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
# Stored headers that describe the object to the emulator, not to the reader.
NOT_SERVED = ("x-oss-object-acl", "x-oss-storage-class", "x-oss-forbid-overwrite")


def access_denied() -> OssError:
    # OSS's generic EC for a request its ACLs do not allow (0003-00000001).
    return OssError(403, "AccessDenied", "You have no right to access this object because of bucket acl.",
                    ec="0003-00000001")


def _object_headers(obj: StoredObject) -> Headers:
    # Security headers first: whatever follows, a client that stops reading early still has them.
    # Objects are served inline on the listing page's origin: a stored HTML or SVG page must not
    # run script there, nor be sniffed into one.
    headers = Headers([("Content-Security-Policy", "sandbox"), ("X-Content-Type-Options", "nosniff")])
    headers.add("Last-Modified", http_date(obj.last_modified))
    headers.add("ETag", f'"{obj.etag}"')
    headers.add("x-oss-object-type", object_type(obj))
    headers.add("x-oss-storage-class", storage_class(obj))
    for name, value in obj.headers.items():
        # A stored value that cannot be written as a header is left out rather than written
        # broken (uploads refuse them; older or foreign metadata may still hold one).
        if name.lower() not in NOT_SERVED and is_safe(name, value):
            headers.add(name, value)
    if "Content-Type" not in headers:
        headers.add("Content-Type", "application/octet-stream")
    headers.add("Accept-Ranges", "bytes")
    return headers


def _overrides(query: Mapping[str, str]) -> List[Tuple[str, str]]:
    chosen = []
    for param, header in RESPONSE_OVERRIDES.items():
        value = query.get(param)
        if value is None:
            continue
        if not is_field_value(value):
            # Strict (OSS's handling is undocumented): a value that is not a valid header is refused.
            raise OssError(400, "InvalidArgument", f"The value of {param} is not a valid header value.",
                           extra={"ArgumentName": param, "ArgumentValue": ""})
        chosen.append((header, value))
    return chosen


class ObjectReader:
    """GET and HEAD of one object; one per emulator, called per request."""

    def __init__(self, storage: Storage):
        self.storage = storage

    def __call__(self, request: Request, key: str, query: Mapping[str, str], principal: Optional[Principal]) -> Response:
        is_get = request.method == "GET"
        overrides = _overrides(query) if is_get else []
        if overrides and principal is None:
            raise OssError(400, "InvalidRequest", "Request specific response headers cannot be used for anonymous "
                                                   "GET requests.")
        process = query.get("x-oss-process") if is_get else None
        spec = image_process.parse(process) if process is not None else None
        found = self.storage.open(key)
        if principal is None and (found is None or not is_public(found[0])):
            if found is not None:
                found[1].close()
            raise access_denied()
        if found is None:
            if spec is not None:
                raise OssError(404, "NoSuchFile", "The specified file does not exist.", ec="0040-00000024")
            raise errors.no_such_key()
        obj, handle = found
        try:
            if is_get and storage_class(obj) in FROZEN_CLASSES:
                raise OssError(403, "InvalidObjectState", "The operation is not valid for the object's state",
                               ec="0016-00000404")
            headers = _object_headers(obj)
            if not is_get:
                handle.close()
                response = Response(b"", headers=headers)
                response.headers["Content-Length"] = str(obj.size)  # after the body, which would set 0
                return response
            modified = datetime.fromtimestamp(obj.last_modified, timezone.utc)
            if not is_resource_modified(request.environ, etag=obj.etag, last_modified=modified):
                handle.close()
                response = Response(b"", status=304, headers=headers)
                del response.headers["Content-Length"]
                return response
            if spec is not None:
                return self._processed(handle, obj, spec, headers, overrides)
            return self._content(request, handle, obj, headers, overrides)
        except BaseException:
            handle.close()
            raise

    def _processed(self, handle: BinaryIO, obj: StoredObject, spec, headers: Headers, overrides) -> Response:
        body, content_type = image_process.render(handle, obj.size, spec)
        handle.close()
        headers["Content-Type"] = content_type
        del headers["ETag"]  # the ETag names the stored bytes, not these
        del headers["Accept-Ranges"]
        for name, value in overrides:
            headers[name] = value
        headers["Content-Length"] = str(len(body))
        return Response(body, headers=headers)

    def _content(self, request: Request, handle: BinaryIO, obj: StoredObject, headers: Headers, overrides) -> Response:
        standard = request.headers.get("x-oss-range-behavior", "").strip().lower() == "standard"
        chosen = ranges.select(request.headers.get("Range"), obj.size, standard)
        for name, value in overrides:
            headers[name] = value
        if chosen is None:
            headers["Content-Length"] = str(obj.size)
            return Response(wrap_file(request.environ, handle), headers=headers, direct_passthrough=True)
        first, last = chosen
        handle.seek(first)
        headers["Content-Range"] = f"bytes {first}-{last}/{obj.size}"
        headers["Content-Length"] = str(last - first + 1)
        return Response(_Slice(handle, last - first + 1), status=206, headers=headers, direct_passthrough=True)


class _Slice:
    """A WSGI body: `length` bytes from `handle`'s position, in chunks; the server's close()
    closes the file even if the body was never read."""

    def __init__(self, handle: BinaryIO, length: int, chunk: int = 256 * 1024):
        self.handle, self.length, self.chunk = handle, length, chunk

    def __iter__(self):
        while self.length > 0:
            data = self.handle.read(min(self.chunk, self.length))
            if not data:
                return
            self.length -= len(data)
            yield data

    def close(self) -> None:
        self.handle.close()


def delete(storage: Storage, key: str, principal: Optional[Principal]) -> Response:
    """DeleteObject: 204 whether or not the key exists (OSS). Anonymous only for an object stored
    public-read-write (OSS: anyone may read and write such an object)."""
    if principal is None:
        obj = storage.get(key)
        if obj is None or stored(obj, "x-oss-object-acl") != "public-read-write":
            raise access_denied()
    storage.delete(key)
    return Response(b"", status=204)
