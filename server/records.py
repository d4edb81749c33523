"""Turning an object in the bucket into an upload record: HEAD it, check it, record it once.

Callback, confirm and multipart completion all end here, and the record is made from what the
bucket says (size, ETag, type from a HEAD with the server's own credentials), never from what a
callback body or a client claims. The HEAD also catches what the upload policy cannot forbid:
form fields OSS stores without checking (Content-Encoding, Cache-Control, Expires, x-oss-meta-*).
Such an object is deleted and never recorded.
"""
from __future__ import annotations

import logging
import re
from typing import List, Optional

from werkzeug.http import parse_options_header

from .errors import ApiError
from .oss_client import BucketClient, ObjectInfo
from .upload_rules import content_type_for_key

log = logging.getLogger("server.records")

# Headers our upload forms never set: their presence means the uploader added form fields.
UNEXPECTED_HEADERS = ("content-encoding", "cache-control", "expires")
_KEY = re.compile(r"^[\w./-]{1,1023}$")


class ObjectNotFound(ApiError):
    def __init__(self):
        super().__init__(404, "ObjectNotFound", "OSS 中没有这个文件：上传没有完成，或文件已被删除")


class ObjectRejected(ApiError):
    def __init__(self):
        super().__init__(409, "ObjectRejected", "上传的文件带有签名之外的字段，已被删除，请重新上传")


def problems_of(info: ObjectInfo, expected_type: Optional[str]) -> List[str]:
    """Why this object is not what our signed form allows (empty when it is)."""
    found = [name for name in UNEXPECTED_HEADERS if info.headers.get(name)]
    found += sorted(name for name in info.headers if name.startswith("x-oss-meta-"))
    if info.storage_class != "Standard":
        found.append(f"x-oss-storage-class={info.storage_class}")
    if expected_type is not None and info.content_type != expected_type:
        found.append(f"content-type={info.content_type}")
    return found


def original_name(info: ObjectInfo) -> str:
    """The uploader's file name, from the Content-Disposition the policy pinned (RFC 5987 decoded)."""
    _, options = parse_options_header(info.headers.get("content-disposition", ""))
    return options.get("filename") or info.key.rsplit("/", 1)[-1]


class Records:
    def __init__(self, settings, db, bucket: BucketClient):
        self.settings = settings
        self.db = db
        self.bucket = bucket

    def owns(self, key: str, folder: str) -> bool:
        """Whether `key` is in the caller's upload folder (the whole upload dir while login is off)."""
        prefix = self.settings.upload_dir + folder
        return (isinstance(key, str) and key.startswith(prefix) and len(key) > len(prefix)
                and bool(_KEY.match(key)) and ".." not in key.split("/"))

    def inspect(self, key: str) -> ObjectInfo:
        """What the bucket holds at `key`, if it is what our forms allow; ObjectNotFound, ObjectRejected
        (after deleting the object) otherwise."""
        info = self.bucket.head(key)
        if info is None:
            raise ObjectNotFound()
        problems = problems_of(info, content_type_for_key(key))
        if problems:
            log.warning("上传的对象带有签名之外的字段，已删除，不记录：%s（%s）", key, ", ".join(problems))
            self.bucket.delete(key)
            raise ObjectRejected()
        return info

    def record(self, key: str, folder: str):
        """The record for the object at `key`, made once (the same record however often it is asked)."""
        info = self.inspect(key)
        return self.db.record_upload(self.settings.bucket, key, user_of(folder), original_name(info),
                                     info.size, info.etag, info.content_type)


def user_of(folder: str) -> str:
    """The database's user column for an upload sub-folder ("a1b2.../" -> "a1b2...", "" -> "")."""
    return folder.rstrip("/")
