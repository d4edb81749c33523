"""PutObject (`PUT /<key>`, header-signed or presigned): the body streamed to disk with its MD5 and
CRC-64, the object's headers, `x-oss-forbid-overwrite`, `Content-MD5` and the upload callback
(`x-oss-callback`), stored only once every check passed."""
from __future__ import annotations

import base64
import logging
import os
from typing import Callable, Mapping, Optional

from werkzeug.wrappers import Request, Response

from server.config import OSS_MAX_OBJECT_SIZE
from . import errors, write_requests
from .crc64 import TooLarge, stream_body
from .object_keys import check_key
from .object_meta import with_crc64
from .storage import ObjectExists, Storage, StoredObject, new_temp_file

log = logging.getLogger("oss_emulator")

# request -> (stored object -> response): checks `x-oss-callback` before the body is read
# (callback.header_hook), runs it once the object is stored.
CallbackHook = Callable[[Request], Callable[[StoredObject], Response]]


class PutObject:
    def __init__(self, clock, storage: Storage, callback: CallbackHook):
        self.clock = clock
        self.storage = storage
        self.callback = callback

    def __call__(self, request: Request, key: str, query: Mapping[str, str]) -> Response:
        check_key(key)
        headers = write_requests.object_headers(request, key)
        forbid = bool(write_requests.forbid_overwrite(request))
        expected_md5 = write_requests.content_md5(request)
        write_requests.check_length(request, OSS_MAX_OBJECT_SIZE)
        if forbid and self.storage.get(key) is not None:
            raise errors.file_exists()  # at once, before a body that could not be kept is read
        finish = self.callback(request) if request.headers.get("x-oss-callback") is not None else None
        fd, temp = new_temp_file(self.storage.temp_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                digests = stream_body(write_requests.read_body(request), out, OSS_MAX_OBJECT_SIZE)
            if expected_md5 is not None and digests.md5() != expected_md5:
                raise write_requests.digest_mismatch()
            try:
                obj = self.storage.commit(temp, key, digests.size, digests.etag, headers, self.clock().timestamp(),
                                          forbid, digests.crc64)
            except ObjectExists:
                raise errors.file_exists() from None
        except TooLarge:
            raise errors.entity_too_large() from None
        finally:
            if os.path.exists(temp):  # refused: never an object
                os.unlink(temp)
        log.info("本地 OSS 已保存 %s（%d 字节）", key, obj.size)
        if finish is not None:
            return with_crc64(finish(obj), obj)
        return written(obj, base64.b64encode(digests.md5()).decode("ascii"))


def written(obj: StoredObject, content_md5: Optional[str] = None) -> Response:
    """The empty 200 of a write: ETag, Content-MD5 (when known), x-oss-hash-crc64ecma."""
    response = Response(b"", status=200)
    response.headers.pop("Content-Type", None)
    response.headers["ETag"] = f'"{obj.etag}"'
    if content_md5:
        response.headers["Content-MD5"] = content_md5
    return with_crc64(response, obj)
