"""The emulator as a WSGI app: a bucket host at `/` that judges PostObject forms like OSS.

POST /        PostObject (V4 forms only)
GET  /<key>   the object, with its stored Content-Type and Content-Disposition (public-read)
HEAD /<key>   the same headers
GET  /        an HTML list of stored objects, newest first
"""
from __future__ import annotations

import logging
import mimetypes
import os
import re
from datetime import datetime
from typing import Callable, Dict, Optional
from urllib.parse import quote

from werkzeug.http import http_date, parse_options_header
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import wrap_file

from server.clock import utc_now

from . import errors, listing
from .errors import OssError, xml_text
from .form_parser import ParsedForm, parse_form
from .post_policy import decode_policy, form_lookup, judge, judge_size
from .storage import ObjectExists, Storage
from .signature_check import authenticate

log = logging.getLogger("oss_emulator")

# Form fields OSS stores as object headers, by lower-case name -> canonical name.
STORED_HEADERS = {
    "content-type": "Content-Type",
    "content-disposition": "Content-Disposition",
    "cache-control": "Cache-Control",
    "content-encoding": "Content-Encoding",
    "expires": "Expires",
}
MAX_USER_METADATA = 8 * 1024
MAX_KEY_BYTES = 1023
SUCCESS_STATUSES = {"200": 200, "201": 201, "204": 204}


def default_storage_dir(bucket: str, instance_path: Optional[str] = None) -> str:
    """`<instance folder>/local-oss/<bucket>`; the instance folder is the signer app's."""
    if instance_path is None:
        from flask import Flask

        instance_path = Flask("server", instance_relative_config=True).instance_path
    return os.path.join(instance_path, "local-oss", bucket)


def _drain(stream) -> None:
    try:
        while stream.read(256 * 1024):
            pass
    except Exception:  # the client is gone; nothing left to read
        pass


def _unique_fields(form: ParsedForm) -> Dict[str, str]:
    fields: Dict[str, str] = {}
    for name, value in form.fields:
        lowered = name.lower()
        if lowered in fields:
            # Strict: OSS's behaviour with repeated names is undocumented; an ambiguous form is refused.
            raise OssError(400, "InvalidArgument", f"The form field '{name}' is specified more than once.")
        fields[lowered] = value
    return fields


# Strict reading (OSS documents only the length and the leading '/' or '\\'): a key holding a C0
# control character, DEL or anything else XML 1.0 cannot carry is refused, since OSS would have to
# echo it in PostResponse XML and listings.
_BAD_KEY_CHARACTERS = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _object_key(raw: str, filename: str) -> str:
    key = raw.replace("${filename}", os.path.basename(filename.replace("\\", "/")))
    encoded = key.encode("utf-8", "surrogatepass")
    if (not encoded or len(encoded) > MAX_KEY_BYTES or key[0] in "/\\" or _BAD_KEY_CHARACTERS.search(key)
            # Strict reading: a "." or ".." segment is refused, because every URL built from the key
            # (Location, the listing's links) is normalised by clients to another object, and
            # percent-encoding does not help: "%2e" counts as a dot segment too (WHATWG URL).
            or any(segment in (".", "..") for segment in key.split("/"))):
        raise OssError(400, "InvalidObjectName", "The specified object is not valid.")
    return key


def _stored_headers(fields: Dict[str, str], key: str) -> Dict[str, str]:
    headers = {}
    metadata = 0
    for name, value in fields.items():
        if name in STORED_HEADERS:
            headers[STORED_HEADERS[name]] = value
        elif name.startswith("x-oss-meta-"):
            headers[name] = value
            metadata += len(name) + len(value.encode("utf-8"))
        else:
            continue
        if "\r" in value or "\n" in value:
            raise OssError(400, "InvalidArgument", f"The form field '{name}' contains a line break.")
    if metadata > MAX_USER_METADATA:
        # Unverified code and wording; the 8 KB limit is OSS's.
        raise OssError(400, "InvalidArgument", "Your metadata headers exceed the maximum allowed metadata size.")
    if "Content-Type" not in headers:
        headers["Content-Type"] = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return headers


class Emulator:
    def __init__(self, settings, clock: Callable[[], datetime], storage_dir: str):
        self.settings = settings
        self.clock = clock
        self.storage = Storage(storage_dir)
        self.storage.clear_temp()

    @property
    def directory(self) -> str:
        return self.storage.root

    def __call__(self, environ, start_response):
        request = Request(environ)
        request_id = errors.new_request_id()
        try:
            response = self._dispatch(request, request_id)
        except OssError as error:
            log.info("本地 OSS 拒绝 %s %s: %s %s", request.method, request.path, error.status, error.code)
            response = errors.error_response(error, request_id, request.host)
        except Exception:
            log.exception("本地 OSS 内部错误")
            _drain(request.stream)
            error = OssError(500, "InternalError", "We encountered an internal error. Please try again.")
            response = errors.error_response(error, request_id, request.host)
        response.headers["x-oss-request-id"] = request_id
        return response(environ, start_response)

    def _dispatch(self, request: Request, request_id: str) -> Response:
        key = request.path[1:]
        if request.method == "POST" and key == "":
            return self._post_object(request, request_id)
        if request.method in ("GET", "HEAD"):
            return self._listing() if key == "" else self._get_object(request, key)
        _drain(request.stream)
        raise errors.method_not_allowed()

    # -- PostObject ------------------------------------------------------------------------
    def _post_object(self, request: Request, request_id: str) -> Response:
        mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
        boundary = options.get("boundary", "")
        if mimetype != "multipart/form-data" or not boundary or len(boundary) > 200 or not boundary.isascii():
            _drain(request.stream)
            raise errors.malformed_post()
        try:
            form = parse_form(request.stream.read, boundary.encode("ascii"), self.storage.temp_dir)
        finally:
            _drain(request.stream)
        try:
            return self._accept(form, request)
        finally:
            if os.path.exists(form.file.path):  # refused: the temp file never becomes an object
                os.unlink(form.file.path)

    def _accept(self, form: ParsedForm, request: Request) -> Response:
        """Judge in a fixed order: signature, policy grammar, expiry, conditions, size, key, overwrite."""
        settings = self.settings
        fields = _unique_fields(form)
        now = self.clock()  # the whole body has arrived: a slow upload can outlive its policy
        authenticate(fields, settings, now)
        policy = decode_policy(fields["policy"])
        judge(policy, form_lookup(fields, settings.bucket), now)
        judge_size(policy, form.file.size)
        key = _object_key(fields["key"], form.file.filename)
        headers = _stored_headers(fields, key)
        forbid = fields.get("x-oss-forbid-overwrite", "false").lower()
        if forbid not in ("true", "false"):
            raise OssError(400, "InvalidArgument", "x-oss-forbid-overwrite must be true or false.")
        try:
            obj = self.storage.commit(
                form.file.path, key, form.file.size, form.file.md5_hex, headers, now.timestamp(), forbid == "true"
            )
        except ObjectExists:
            raise errors.file_exists() from None
        log.info("本地 OSS 已保存 %s (%d 字节)", key, obj.size)
        return self._post_response(fields.get("success_action_status"), obj, request)

    def _post_response(self, requested: Optional[str], obj, request: Request) -> Response:
        status = SUCCESS_STATUSES.get((requested or "").strip(), 204)
        etag = f'"{obj.etag}"'
        if status == 201:
            location = request.host_url.rstrip("/") + "/" + quote(obj.key, safe="/")
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>\n'
                f"  <Bucket>{xml_text(self.settings.bucket)}</Bucket>\n"
                f"  <Location>{xml_text(location)}</Location>\n"
                f"  <Key>{xml_text(obj.key)}</Key>\n"
                f"  <ETag>{xml_text(etag)}</ETag>\n"
                "</PostResponse>\n"
            )
            response = Response(body, status=201, content_type="application/xml")
        else:
            response = Response(b"", status=status)
            response.headers.pop("Content-Type", None)
        response.headers["ETag"] = etag
        return response

    # -- reading back ----------------------------------------------------------------------
    def _get_object(self, request: Request, key: str) -> Response:
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
