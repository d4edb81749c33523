"""The emulator as a WSGI app: one private bucket host, requests routed to the handler that owns them.

POST   /                              PostObject (V4 forms only)                  post_object.py
GET    /                              ListObjects                                 bucket_listing.py
GET    /?list-type=2                  ListObjectsV2                               bucket_listing.py
GET    /?uploads                      ListMultipartUploads                        multipart.py
GET    /<key>, HEAD /<key>            the object (signed, or public-read)         objects.py
DELETE /<key>                         DeleteObject                                objects.py
POST   /<key>?uploads                 InitiateMultipartUpload                     multipart.py
PUT    /<key>?partNumber=&uploadId=   UploadPart                                  multipart.py
GET    /<key>?uploadId=               ListParts                                   multipart.py
POST   /<key>?uploadId=               CompleteMultipartUpload                     multipart.py
DELETE /<key>?uploadId=               AbortMultipartUpload                        multipart.py

GET    /oss-emulator/callback_pub_key.pem   the public key of upload callbacks          callback.py
GET    /-/console (unsigned)                the local console: stored objects, paged    listing.py

Every request but PostObject's is authenticated first (request_auth.py: V4 header or presigned
query); the bucket is private, so bucket operations need a signature.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Callable, Optional
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from server.clock import utc_now

from . import bucket_listing, callback, errors, listing, objects, request_auth
from .access_keys import invalid_argument
from .errors import OssError
from .form_parser import drain
from .multipart import MultipartApi
from .numbers import decimal
from .objects import ObjectReader
from .errors import REQUEST_ID
from .post_object import PostObject
from .storage import Storage

log = logging.getLogger("oss_emulator")

# Bucket sub-resources OSS answers on `GET /` that the emulator does not model: refused as such
# rather than answered with a listing the client would misread.
BUCKET_SUBRESOURCES = frozenset((
    "acl", "bucketInfo", "cors", "encryption", "inventory", "lifecycle", "location", "logging", "policy",
    "qos", "referer", "replication", "requestPayment", "stat", "tagging", "versioning", "versions", "website",
    "worm",
))


def default_storage_dir(bucket: str, instance_path: Optional[str] = None) -> str:
    """`<instance folder>/local-oss/<bucket>`; the instance folder is the signer app's."""
    if instance_path is None:
        from flask import Flask

        instance_path = Flask("server", instance_relative_config=True).instance_path
    return os.path.join(instance_path, "local-oss", bucket)


class Emulator:
    callback_timeout = callback.DEFAULT_TIMEOUT  # seconds per callback URL; tests shorten it

    def __init__(self, settings, clock: Callable[[], datetime], storage_dir: str):
        self.settings = settings
        self.clock = clock
        self.storage = Storage(storage_dir)
        self.storage.sweep()  # what a killed emulator left behind (storage.py)
        self.post_object = PostObject(settings, clock, self.storage, lambda: self.callback_timeout)
        self.read_object = ObjectReader(self.storage)
        self.multipart = MultipartApi(settings, clock, self.storage,
                                      callback.multipart_hook(settings, self.directory, lambda: self.callback_timeout))

    @property
    def directory(self) -> str:
        return self.storage.root

    def __call__(self, environ, start_response):
        request = Request(environ)
        request_id = errors.new_request_id()
        environ[REQUEST_ID] = request_id
        try:
            response = self._dispatch(request)
        except OssError as error:
            log.info("本地 OSS 拒绝 %s %s: %s %s", request.method, request.path, error.status, error.code)
            # Not drained: a refused upload is answered at once (werkzeug discards what is left of
            # the body after the answer), instead of reading up to 5 GiB first.
            response = errors.error_response(error, request_id, request.host, head=request.method == "HEAD")
        except Exception:
            log.exception("本地 OSS 内部错误")
            drain(request.stream)
            error = OssError(500, "InternalError", "We encountered an internal error. Please try again.")
            response = errors.error_response(error, request_id, request.host, head=request.method == "HEAD")
        response.headers["x-oss-request-id"] = request_id
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        key, method = request.path[1:], request.method
        if method in ("GET", "HEAD") and request.path == callback.PUBLIC_KEY_PATH:
            return self._callback_public_key()
        if key == "" and method == "POST":
            return self.post_object(request)
        pairs = request_auth.parse_query(request.query_string.decode("utf-8", "replace"))
        query = {}
        for name, value in pairs:
            query.setdefault(name, value)
        signed = request_auth.SignedRequest(method, key, pairs, list(request.headers.items()))
        if (method in ("GET", "HEAD") and request.path == listing.CONSOLE_PATH
                and not request_auth.carries_signature(signed)):
            return self._listing(request)
        handler = self._bucket_route(method, query) if key == "" else self._route(method, query)
        if handler is None:
            raise errors.method_not_allowed()
        principal = request_auth.authenticate(signed, self.settings.bucket, self.settings, self.clock())
        return handler(request, key, query, principal)

    def _bucket_route(self, method: str, query) -> Optional[Callable]:
        """The handler of a bucket operation, `method /?query` (signed only: the bucket is private)."""
        if method != "GET":
            return None
        unsupported = sorted(BUCKET_SUBRESOURCES & query.keys())
        if unsupported:
            raise OssError(501, "NotImplemented", f"The emulator does not implement GET /?{unsupported[0]}.")
        if "uploads" in query:
            operation = self._list_uploads
        elif "list-type" in query:
            if query["list-type"] != "2":
                raise invalid_argument("The list-type must be 2.", name="list-type",
                                       value=query["list-type"][:64])
            operation = self._list_objects_v2
        else:
            operation = self._list_objects
        return _signed_only(operation)

    def _list_objects(self, request: Request, key: str, query) -> Response:
        return bucket_listing.list_objects(self.storage.index, self.settings.bucket, query)

    def _list_objects_v2(self, request: Request, key: str, query) -> Response:
        return bucket_listing.list_objects_v2(self.storage.index, self.settings.bucket, query)

    def _list_uploads(self, request: Request, key: str, query) -> Response:
        return self.multipart.list_uploads(request, query)

    def _route(self, method: str, query) -> Optional[Callable]:
        """The handler of `method /<key>?query`: (request, key, query, principal) -> Response."""
        if "uploadId" in query:
            operation = {"PUT": self.multipart.upload_part, "GET": self.multipart.list_parts,
                         "POST": self.multipart.complete, "DELETE": self.multipart.abort}.get(method)
        elif method == "POST" and "uploads" in query:
            operation = self.multipart.initiate
        elif method in ("GET", "HEAD"):
            return self.read_object  # anonymous too, for public-read objects
        elif method == "DELETE":
            return self._delete  # anonymous too, for public-read-write objects
        else:
            return None
        return operation and _signed_only(operation)

    def _delete(self, request: Request, key: str, query, principal) -> Response:
        return objects.delete(self.storage, key, principal)

    def _link(self, key: str, params) -> str:
        """A presigned GET of `key` for the listing page, with the local long-term key."""
        settings = self.settings
        signed = request_auth.presign("GET", settings.bucket, key, list(params), settings.local_access_key_id,
                                      settings.local_access_key_secret, settings.region, self.clock(),
                                      listing.LINK_SECONDS)
        return "/" + quote(key, safe="/") + "?" + signed

    def _callback_public_key(self) -> Response:
        pem = callback.callback_public_key_pem(self.directory)
        return Response(pem, content_type="application/x-pem-file")

    def _listing(self, request: Request) -> Response:
        page = decimal(request.args.get("page"), 6) or 1
        found, total = self.storage.page((page - 1) * listing.PAGE_SIZE, listing.PAGE_SIZE)
        body = listing.render(self.settings.bucket, self.settings.region, self.directory, found, total, page,
                              self._link)
        response = Response(body, content_type="text/html; charset=utf-8")
        response.headers["Cache-Control"] = "no-store"
        # The page holds presigned links: never sent on to another site.
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def _signed_only(operation: Callable) -> Callable:
    def run(request: Request, key: str, query, principal) -> Response:
        if principal is None:
            raise objects.access_denied()
        return operation(request, key, query)
    return run


def create_emulator_app(settings, clock: Optional[Callable[[], datetime]] = None,
                        storage_dir: Optional[str] = None) -> Emulator:
    """The emulator for `settings.bucket` in `settings.region`, storing under `storage_dir`
    (default: LOCAL_OSS_DIR, else `<instance folder>/local-oss/<bucket>`)."""
    directory = storage_dir or settings.local_oss_dir or default_storage_dir(settings.bucket)
    return Emulator(settings, clock or utc_now, directory)
