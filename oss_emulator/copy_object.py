"""CopyObject (`PUT /<key>` with `x-oss-copy-source`): a stored object copied within the bucket,
its headers kept (`x-oss-metadata-directive: COPY`, the default) or taken from the request
(`REPLACE`), with `x-oss-forbid-overwrite` and the `x-oss-copy-source-if-*` conditions."""
from __future__ import annotations

import os
import shutil
from typing import Mapping
from urllib.parse import unquote

from werkzeug.wrappers import Request

from . import conditions, errors, write_requests
from .access_keys import invalid_argument
from .errors import OssError
from .object_headers import OBJECT_ACL_HEADER, STORAGE_CLASS_HEADER
from .object_keys import check_key
from .object_meta import FROZEN_CLASSES, storage_class, with_crc64
from .storage import ObjectExists, Storage, new_temp_file
from .xml_body import document, elements, iso_time

SOURCE_CONDITIONS = ("x-oss-copy-source-if-match", "x-oss-copy-source-if-unmodified-since",
                     "x-oss-copy-source-if-none-match", "x-oss-copy-source-if-modified-since")


def no_such_bucket() -> OssError:
    return OssError(404, "NoSuchBucket", "The specified bucket does not exist.", ec="0015-00000101")


def _source(raw: str, bucket: str) -> str:
    """The source key of `/<bucket>/<url-encoded key>`; another bucket is NoSuchBucket."""
    path = unquote(raw.partition("?")[0])
    source_bucket, _, key = path[1:].partition("/") if path.startswith("/") else ("", "", "")
    if not source_bucket or not key:
        raise invalid_argument("x-oss-copy-source must be /<bucket>/<key>.", name="x-oss-copy-source",
                               value=raw[:64])
    if source_bucket != bucket:
        raise no_such_bucket()
    return key


def copy_object(storage: Storage, clock, bucket: str, request: Request, key: str, query: Mapping[str, str]):
    check_key(key)
    directive = request.headers.get("x-oss-metadata-directive", "COPY")
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("x-oss-metadata-directive must be COPY or REPLACE.", name="x-oss-metadata-directive",
                               value=directive[:64])
    forbid = bool(write_requests.forbid_overwrite(request))
    replaced = write_requests.object_headers(request, key) if directive == "REPLACE" else None
    found = storage.open(_source(request.headers["x-oss-copy-source"], bucket))
    if found is None:
        raise errors.no_such_key()
    source, handle = found
    try:
        if storage_class(source) in FROZEN_CLASSES:
            raise OssError(403, "InvalidObjectState", "The operation is not valid for the object's state",
                           ec="0016-00000404")
        if conditions.evaluate(request.headers, source.etag, source.last_modified,
                               SOURCE_CONDITIONS) == conditions.NOT_MODIFIED:
            # OSS answers a copy whose if-none-match / if-modified-since does not hold with 304.
            raise OssError(304, "NotModified", "The copy source was not modified.")
        if replaced is None:
            headers = {n: v for n, v in source.headers.items() if n.lower() != OBJECT_ACL_HEADER}
            for name in (STORAGE_CLASS_HEADER, OBJECT_ACL_HEADER):
                if request.headers.get(name) is not None:
                    headers[name] = write_requests.object_headers(request, key)[name]
        else:
            headers = replaced
        fd, temp = new_temp_file(storage.temp_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(handle, out, 1024 * 1024)
            obj = storage.commit(temp, key, source.size, source.etag, headers, clock().timestamp(), forbid,
                                 source.crc64)
        except ObjectExists:
            raise errors.file_exists() from None
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
    finally:
        handle.close()
    response = document("CopyObjectResult", [elements([("ETag", f'"{obj.etag}"'),
                                                        ("LastModified", iso_time(obj.last_modified))])])
    response.headers["ETag"] = f'"{obj.etag}"'
    return with_crc64(response, obj)
