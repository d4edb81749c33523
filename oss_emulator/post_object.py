"""PostObject (`POST /`): a V4-signed multipart form, judged like OSS, stored only once every check passed.

OSS requires `file` to be the last field, so everything except the file's size is judged when the
file part starts: a refused form never reaches the disk, and the file is read no further than the
policy's largest size. The policy's expiry is judged again once the whole body is in (a slow upload
can outlive its policy). With a `callback` field, OSS's upload callback runs after the object is
stored (callback.py).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import quote

from werkzeug.http import parse_options_header
from werkzeug.wrappers import Request, Response

from server.config import OSS_MAX_OBJECT_SIZE
from . import errors
from .callback import DEFAULT_TIMEOUT, ObjectInfo, callback_response, custom_variables, parse_callback, run_callback
from .errors import OssError, xml_text
from .form_parser import ParsedForm, drain, parse_form
from .object_headers import stored_headers
from .object_meta import with_crc64
from .post_policy import Policy, decode_policy, form_lookup, judge, judge_size
from .signature_check import authenticate
from .object_keys import check_key
from .storage import ObjectExists, Storage

log = logging.getLogger("oss_emulator")

SUCCESS_STATUSES = {"200": 200, "201": 201, "204": 204}


@dataclass
class _Judged:
    """A form that passed every check that does not need the file's bytes."""
    fields: Dict[str, str]  # by lower-case name
    policy: Policy
    key: str
    headers: Dict[str, str]
    forbid_overwrite: bool
    callback: Optional[str] = None
    variables: Dict[str, str] = field(default_factory=dict)


def _unique_fields(pairs: List[Tuple[str, str]]) -> Dict[str, str]:
    fields: Dict[str, str] = {}
    for name, value in pairs:
        lowered = name.lower()
        if lowered in fields:
            # Strict: OSS's behaviour with repeated names is undocumented; an ambiguous form is refused.
            raise OssError(400, "InvalidArgument", f"The form field '{name}' is specified more than once.")
        fields[lowered] = value
    return fields


def _object_key(raw: str, filename: str) -> str:
    """The form's key with `${filename}` expanded (OSS does it after the policy check), if acceptable."""
    return check_key(raw.replace("${filename}", os.path.basename(filename.replace("\\", "/"))))


def _largest_size(policy: Policy) -> int:
    return min([high for _, high in policy.size_ranges()] + [OSS_MAX_OBJECT_SIZE])


class PostObject:
    """The handler for `POST /`: one per emulator, called per request."""

    def __init__(self, settings, clock: Callable[[], datetime], storage: Storage,
                 callback_timeout: Callable[[], float] = lambda: DEFAULT_TIMEOUT):
        self.settings = settings
        self.clock = clock
        self.storage = storage
        self.callback_timeout = callback_timeout

    def __call__(self, request: Request) -> Response:
        mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
        boundary = options.get("boundary", "")
        if mimetype != "multipart/form-data" or not boundary or len(boundary) > 200 or not boundary.isascii():
            raise errors.malformed_post()
        judged: List[_Judged] = []

        def on_file_start(pairs, filename, file_type) -> int:
            judged.append(self._judge(pairs, filename, file_type))
            return _largest_size(judged[0].policy)

        # A refusal stops reading here: the HTTP server discards what the client still sends
        # after the answer, instead of this request reading up to 5 GiB before answering.
        form = parse_form(request.stream.read, boundary.encode("ascii"), self.storage.temp_dir,
                          on_file_start=on_file_start)
        drain(request.stream)  # only an epilogue can be left after the closing boundary
        try:
            return self._store(form, judged[0], request)
        finally:
            if os.path.exists(form.file.path):  # refused: the temp file never becomes an object
                os.unlink(form.file.path)

    def _judge(self, pairs: List[Tuple[str, str]], filename: str, file_type: Optional[str]) -> _Judged:
        """At the start of the file part, in a fixed order: signature, policy grammar, expiry,
        conditions, key, stored headers, overwrite flag, callback."""
        settings = self.settings
        fields = _unique_fields(pairs)
        now = self.clock()
        authenticate(fields, settings, now)
        policy = decode_policy(fields["policy"])
        # Only the fields the policy names are judged against it: "conditions不涉及的表单域将不会进行
        # 合法性检查" (OSS's older zh PostObject doc); the others are validated as values below.
        judge(policy, form_lookup(fields, settings.bucket), now)
        key = _object_key(fields["key"], filename)
        headers = stored_headers(fields, file_type, key)
        forbid = fields.get("x-oss-forbid-overwrite", "false").lower()
        if forbid not in ("true", "false"):
            raise OssError(400, "InvalidArgument", "x-oss-forbid-overwrite must be true or false.")
        result = _Judged(fields, policy, key, headers, forbid == "true")
        if "callback" in fields:
            parse_callback(fields["callback"])  # a bad callback is a 400 before anything is stored
            result.callback = fields["callback"]
            result.variables = custom_variables(pairs)
        return result

    def _store(self, form: ParsedForm, judged: _Judged, request: Request) -> Response:
        now = self.clock()  # the whole body has arrived: a slow upload can outlive its policy
        if now > judged.policy.expiration:
            raise errors.policy_expired()
        judge_size(judged.policy, form.file.size)
        try:
            obj = self.storage.commit(form.file.path, judged.key, form.file.size, form.file.md5_hex,
                                      judged.headers, now.timestamp(), judged.forbid_overwrite, form.file.crc64)
        except ObjectExists:
            raise errors.file_exists() from None
        log.info("本地 OSS 已保存 %s（%d 字节）", judged.key, obj.size)
        if judged.callback is None:
            return self._post_response(judged.fields.get("success_action_status"), obj, request)
        info = ObjectInfo(self.settings.bucket, obj.key, obj.etag, obj.size, obj.content_type,
                          self.storage.blob_path(obj))
        outcome = run_callback(judged.callback, judged.variables, info, self.settings, self.storage.root,
                               self.callback_timeout())
        return with_crc64(callback_response(outcome, obj.etag, request), obj)

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
        return with_crc64(response, obj)

