"""Reading objects back: `GET` and `HEAD /<key>` with their stored headers and range requests."""
from __future__ import annotations

from werkzeug.http import http_date
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import wrap_file

from . import errors
from .storage import Storage


class ObjectReader:
    def __init__(self, storage: Storage):
        self.storage = storage

    def __call__(self, request: Request, key: str) -> Response:
        found = self.storage.open(key)
        if found is None:
            raise errors.no_such_key()
        obj, handle = found
        headers = {
            "Last-Modified": http_date(obj.last_modified),
            "x-oss-object-type": "Normal",
            "x-oss-storage-class": "Standard",
        }
        headers.update(obj.headers)
        # Objects are served inline on the listing page's origin: a stored HTML or SVG page must not
        # run script there, nor be sniffed into one.
        headers["Content-Security-Policy"] = "sandbox"
        headers["X-Content-Type-Options"] = "nosniff"
        if request.method == "HEAD":
            handle.close()
            response = Response(b"", headers=headers)
            response.headers["Content-Length"] = str(obj.size)
            response.set_etag(obj.etag)
            return response
        response = Response(wrap_file(request.environ, handle), headers=headers, direct_passthrough=True)
        response.content_length = obj.size
        response.set_etag(obj.etag)
        response = response.make_conditional(request, accept_ranges=True, complete_length=obj.size)
        response.headers.pop("Date", None)  # the HTTP server adds its own
        return response

