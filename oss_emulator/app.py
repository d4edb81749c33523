"""The emulator as a WSGI app: one private bucket host, requests routed to the handler that owns them.

POST   /                              PostObject (V4 forms only)                  post_object.py
GET    /                              ListObjects                                 bucket_listing.py
GET    /?list-type=2                  ListObjectsV2                               bucket_listing.py
GET    /?uploads                      ListMultipartUploads                        multipart.py
POST   /?delete                       DeleteMultipleObjects                       delete_objects.py
PUT    /<key>                         PutObject                                   put_object.py
PUT    /<key> + x-oss-copy-source     CopyObject                                  copy_object.py
GET    /<key>?acl, PUT /<key>?acl     GetObjectACL, PutObjectACL                  object_acl.py
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

import hmac
import logging
import os
from datetime import datetime
from typing import Callable, Optional, Tuple
from urllib.parse import quote, unquote

from werkzeug.wrappers import Request, Response

from server.clock import utc_now

from . import (bucket_info, bucket_listing, callback, chunked, copy_object, delete_objects, errors, listing,
               object_acl, objects, request_auth)
from .access_keys import invalid_argument
from .errors import OssError
from .form_parser import drain
from .multipart import MultipartApi
from .numbers import decimal
from .objects import ObjectReader
from .errors import REQUEST_ID
from .post_object import PostObject
from .put_object import PutObject
from .query_rules import (BUCKET_SUBRESOURCES, OBJECT_SUBRESOURCES, SERVICE_PARAMETERS, SUBRESOURCES,
                          check_traffic_limit, signing_parameter)
from .service_listing import list_buckets
from .storage import Storage

log = logging.getLogger("oss_emulator")

def default_storage_dir(bucket: str, instance_path: Optional[str] = None) -> str:
    """`<instance folder>/local-oss/<bucket>`; the instance folder is the signer app's."""
    if instance_path is None:
        from flask import Flask

        instance_path = Flask("server", instance_relative_config=True).instance_path
    return os.path.join(instance_path, "local-oss", bucket)


class Emulator:
    callback_timeout = callback.DEFAULT_TIMEOUT  # seconds per callback URL; tests shorten it
    # Set when listening beyond loopback: the console then needs `?token=` (listing.py).
    console_token: Optional[str] = None

    def __init__(self, settings, clock: Callable[[], datetime], storage_dir: str):
        self.settings = settings
        self.clock = clock
        self.storage = Storage(storage_dir)
        self.storage.sweep()  # what a killed emulator left behind (storage.py)
        self.post_object = PostObject(settings, clock, self.storage, lambda: self.callback_timeout)
        self.read_object = ObjectReader(self.storage)
        header_callback = callback.header_hook(settings, self.directory, lambda: self.callback_timeout)
        self.multipart = MultipartApi(settings, clock, self.storage, header_callback)
        self.put_object = PutObject(clock, self.storage, header_callback)

    @property
    def directory(self) -> str:
        return self.storage.root

    def __call__(self, environ, start_response):
        chunked.guard(environ)
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
        if key == "" and method == "POST" and "delete" not in _names(request.query_string):
            return self.post_object(request)
        pairs = request_auth.parse_query(request.query_string.decode("utf-8", "replace"))
        query = {}
        for name, value in pairs:
            query.setdefault(name, value)
        headers = list(request.headers.items())
        if (method in ("GET", "HEAD") and request.path == listing.CONSOLE_PATH
                and not request_auth.carries_signature(request_auth.SignedRequest(method, key, pairs, headers))):
            return self._listing(request)
        key, principal = self._resolve(method, key, pairs, headers)
        if key is None:
            handler = self._service_route(method, query)
        elif key == "":
            handler = self._bucket_route(method, query)
        else:
            check_traffic_limit(request, query)
            handler = self._route(method, query)
        if handler is None:
            raise errors.method_not_allowed()
        return handler(request, key, query, principal)

    def _resolve(self, method: str, path: str, pairs, headers) -> Tuple[Optional[str], Optional[request_auth.Principal]]:
        """(object key, who signed) of a request for `/<path>`; the key is None for a request to the
        service itself (ListBuckets: `GET /` signed as `/`, where a bucket request signs `/<bucket>/`).

        Clients address the bucket two ways: as its own host (CNAME style, `/<key>`, what the kit's
        server sends) or path style (`/<bucket>/<key>`, what oss2, ali-oss and alibabacloud-oss-v2
        send to an IP endpoint by default). Both sign `/<bucket>/<key>`, so the signature says which
        was meant: CNAME style first, then path style. A path-style request naming another bucket
        is NoSuchBucket. An unsigned request is path style only when its first segment is this
        bucket's name (strict reading: the emulator serves one bucket).
        """
        bucket, now = self.settings.bucket, self.clock()
        signed = request_auth.SignedRequest(method, path, pairs, headers)
        first, _, rest = path.partition("/")
        if not request_auth.carries_signature(signed):
            return (rest if first == bucket else path), None
        try:
            return path, request_auth.authenticate(signed, bucket, self.settings, now)
        except OssError as error:
            if error.code == "SignatureDoesNotMatch" and not path and method == "GET":
                return None, self._service_principal(signed, now, error)
            if error.code != "SignatureDoesNotMatch" or not first:
                raise
            try:
                principal = request_auth.authenticate(request_auth.SignedRequest(method, rest, pairs, headers), first,
                                                      self.settings, now)
            except OssError:
                raise error from None
        if first != bucket:
            raise copy_object.no_such_bucket()
        return rest, principal

    def _service_principal(self, signed, now, refusal: OssError) -> request_auth.Principal:
        """Who signed `signed` as a request to the service; `refusal` (the bucket's verdict) if nobody did."""
        try:
            return request_auth.authenticate(signed, None, self.settings, now)
        except OssError:
            raise refusal from None

    def _service_route(self, method: str, query) -> Callable:
        """ListBuckets, with its own parameters only: anything else asked of the service (regions,
        QoS, tag filters...) is refused as not implemented, never answered with a bucket list."""
        unsupported = sorted(name for name in query if name not in SERVICE_PARAMETERS and not signing_parameter(name))
        if unsupported:
            raise OssError(501, "NotImplemented", f"The emulator does not implement GET /?{unsupported[0]} on the service.")
        return _signed_only(self._list_buckets)

    def _list_buckets(self, request: Request, key: str, query) -> Response:
        settings = self.settings
        return list_buckets(settings.bucket, settings.region, self.storage.created, query)

    def _bucket_route(self, method: str, query) -> Optional[Callable]:
        """The handler of a bucket operation, `method /?query` (signed only: the bucket is private)."""
        if method == "POST" and "delete" in query:
            return _signed_only(self._delete_objects)
        if method != "GET":
            return None
        unsupported = sorted(BUCKET_SUBRESOURCES & query.keys())
        if unsupported:
            raise OssError(501, "NotImplemented", f"The emulator does not implement GET /?{unsupported[0]}.")
        if query.keys() & {"bucketInfo", "location", "acl"}:
            operation = self._describe_bucket
        elif "uploads" in query:
            operation = self._list_uploads
        elif "list-type" in query:
            if query["list-type"] != "2":
                raise invalid_argument("The list-type must be 2.", name="list-type",
                                       value=query["list-type"][:64])
            operation = self._list_objects_v2
        else:
            operation = self._list_objects
        return _signed_only(operation)

    def _describe_bucket(self, request: Request, key: str, query) -> Response:
        settings = self.settings
        if "bucketInfo" in query:
            return bucket_info.bucket_info(settings.bucket, settings.region, self.storage.created)
        if "location" in query:
            return bucket_info.bucket_location(settings.region)
        return bucket_info.bucket_acl()

    def _list_objects(self, request: Request, key: str, query) -> Response:
        return bucket_listing.list_objects(self.storage.index, self.settings.bucket, query)

    def _list_objects_v2(self, request: Request, key: str, query) -> Response:
        return bucket_listing.list_objects_v2(self.storage.index, self.settings.bucket, query)

    def _list_uploads(self, request: Request, key: str, query) -> Response:
        return self.multipart.list_uploads(request, query)

    def _delete_objects(self, request: Request, key: str, query) -> Response:
        return delete_objects.delete_objects(self.storage, request, query)

    def _route(self, method: str, query) -> Optional[Callable]:
        """The handler of `method /<key>?query`: (request, key, query, principal) -> Response."""
        # versionId too: OSS refuses any on a bucket without versioning (EC 0012-00000301), as this one is.
        unsupported = sorted((SUBRESOURCES - OBJECT_SUBRESOURCES) & query.keys())
        if unsupported:
            # Checked after the caller is known: an anonymous request is AccessDenied first, as in OSS.
            return _signed_only(_not_implemented(f"{method} /<key>?{unsupported[0]}"))
        if "acl" in query and method in ("GET", "PUT"):
            operation = self._get_acl if method == "GET" else self._put_acl
        elif "uploadId" in query:
            operation = {"PUT": self.multipart.upload_part, "GET": self.multipart.list_parts,
                         "POST": self.multipart.complete, "DELETE": self.multipart.abort}.get(method)
        elif method == "POST" and "uploads" in query:
            operation = self.multipart.initiate
        elif method == "PUT":
            operation = self._put
        elif method in ("GET", "HEAD"):
            return self.read_object  # anonymous too, for public-read objects
        elif method == "DELETE":
            return self._delete  # anonymous too, for public-read-write objects
        else:
            return None
        return operation and _signed_only(operation)

    def _put(self, request: Request, key: str, query) -> Response:
        if request.headers.get("x-oss-copy-source") is not None:
            return copy_object.copy_object(self.storage, self.clock, self.settings.bucket, request, key, query)
        return self.put_object(request, key, query)

    def _get_acl(self, request: Request, key: str, query) -> Response:
        return object_acl.get_acl(self.storage, key)

    def _put_acl(self, request: Request, key: str, query) -> Response:
        return object_acl.put_acl(self.storage, request, key, query)

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
        token = self.console_token
        if token and not hmac.compare_digest(request.args.get("token", "").encode("utf-8"), token.encode("utf-8")):
            return Response(listing.token_refused(), status=403, content_type="text/html; charset=utf-8")
        page = decimal(request.args.get("page"), 6) or 1
        found, total = self.storage.page((page - 1) * listing.PAGE_SIZE, listing.PAGE_SIZE)
        body = listing.render(self.settings.bucket, self.settings.region, self.directory, found, total, page,
                              self._link, token)
        response = Response(body, content_type="text/html; charset=utf-8")
        response.headers["Cache-Control"] = "no-store"
        # The page holds presigned links: never sent on to another site.
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def _names(raw_query: bytes) -> set:
    """The parameter names of a raw query string."""
    return {unquote(piece.partition("=")[0]) for piece in raw_query.decode("utf-8", "replace").split("&") if piece}


def _not_implemented(what: str) -> Callable:
    def refuse(request: Request, key: str, query) -> Response:
        raise OssError(501, "NotImplemented", f"The emulator does not implement {what}.")
    return refuse


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
