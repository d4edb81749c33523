"""The emulator as a WSGI app: one bucket host, requests routed to the handler that owns them.

POST /        PostObject (V4 forms only)                     post_object.py
GET  /<key>   the object, with its stored headers             objects.py
HEAD /<key>   the same headers                                objects.py
GET  /        an HTML list of stored objects, newest first    listing.py
GET  /oss-emulator/callback_pub_key.pem
              the public key of the callback signatures       callback.py
"""
from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Callable, Optional

from werkzeug.wrappers import Request, Response

from server.clock import utc_now

from . import callback, errors, listing
from .errors import OssError
from .objects import ObjectReader
from .form_parser import drain
from .post_object import REQUEST_ID, PostObject
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

    def __init__(self, settings, clock: Callable[[], datetime], storage_dir: str):
        self.settings = settings
        self.clock = clock
        self.storage = Storage(storage_dir)
        self.storage.sweep()  # what a killed emulator left behind (storage.py)
        self.post_object = PostObject(settings, clock, self.storage, lambda: self.callback_timeout)
        self.read_object = ObjectReader(self.storage)

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
            response = errors.error_response(error, request_id, request.host)
        except Exception:
            log.exception("本地 OSS 内部错误")
            drain(request.stream)
            error = OssError(500, "InternalError", "We encountered an internal error. Please try again.")
            response = errors.error_response(error, request_id, request.host)
        response.headers["x-oss-request-id"] = request_id
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        key = request.path[1:]
        if request.method == "POST" and key == "":
            return self.post_object(request)
        if request.method in ("GET", "HEAD"):
            if request.path == callback.PUBLIC_KEY_PATH:
                return self._callback_public_key()
            return self._listing() if key == "" else self.read_object(request, key)
        drain(request.stream)
        raise errors.method_not_allowed()

    def _callback_public_key(self) -> Response:
        pem = callback.callback_public_key_pem(self.directory)
        return Response(pem, content_type="application/x-pem-file")

    def _listing(self) -> Response:
        page = listing.render(self.settings.bucket, self.settings.region, self.directory, self.storage.list())
        response = Response(page, content_type="text/html; charset=utf-8")
        response.headers["Cache-Control"] = "no-store"
        return response


def create_emulator_app(settings, clock: Optional[Callable[[], datetime]] = None,
                        storage_dir: Optional[str] = None) -> Emulator:
    """The emulator for `settings.bucket` in `settings.region`, storing under `storage_dir`
    (default: LOCAL_OSS_DIR, else `<instance folder>/local-oss/<bucket>`)."""
    directory = storage_dir or settings.local_oss_dir or default_storage_dir(settings.bucket)
    return Emulator(settings, clock or utc_now, directory)
