"""PostObject (`POST /`): a V4-signed multipart form, judged like OSS, stored only once every check passed."""
from __future__ import annotations

import logging
import mimetypes
import os
import re
from datetime import datetime
from typing import Callable, Dict, Optional
from urllib.parse import quote

from werkzeug.http import parse_options_header
from werkzeug.wrappers import Request, Response

from . import errors
from .errors import OssError, xml_text
from .form_parser import ParsedForm, drain, parse_form
from .post_policy import decode_policy, form_lookup, judge, judge_size
from .signature_check import authenticate
from .storage import ObjectExists, Storage

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


class PostObject:
    """The handler for `POST /`: one per emulator, called per request."""

    def __init__(self, settings, clock: Callable[[], datetime], storage: Storage):
        self.settings = settings
        self.clock = clock
        self.storage = storage

    def __call__(self, request: Request) -> Response:
        mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
        boundary = options.get("boundary", "")
        if mimetype != "multipart/form-data" or not boundary or len(boundary) > 200 or not boundary.isascii():
            drain(request.stream)
            raise errors.malformed_post()
        try:
            form = parse_form(request.stream.read, boundary.encode("ascii"), self.storage.temp_dir)
        finally:
            drain(request.stream)
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

