"""我的文件: a user's records as a page of items with short-lived download and thumbnail URLs.

The bucket is private, so every item carries presigned GET URLs: bearer capabilities that expire
after OSS_DOWNLOAD_EXPIRE_SECONDS (never after the credentials that sign them). Pages are keyset
by record id (newest first), so adding files while someone scrolls never repeats or skips one.
"""
from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, timedelta
from typing import Callable, Optional

from werkzeug.routing import BaseConverter

from .errors import ApiError
from .records import user_of
from .upload_rules import content_disposition

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
# Types OSS's image processing and the emulator's both resize (HEIC excluded: not everywhere).
THUMBNAIL_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"})
THUMBNAIL_PROCESS = "image/resize,m_lfit,w_240,h_240"
_CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class FileIdConverter(BaseConverter):
    """The `<id>` of /api/files/<id>: any one path segment but `confirm`, so POST /api/files/confirm
    never advertises DELETE (a bad id is still the route's 400 InvalidId, not a 404)."""

    regex = r"(?!confirm$)[^/]+"


class FileNotFound(ApiError):
    def __init__(self):
        super().__init__(404, "FileNotFound", "没有这个文件")


def parse_limit(raw: Optional[str]) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,3}", raw.strip()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, "InvalidLimit", f"limit 必须是 1 到 {MAX_LIMIT} 之间的整数")
    return int(raw)


def encode_cursor(record_id: int) -> str:
    return base64.urlsafe_b64encode(f"before:{record_id}".encode("ascii")).decode("ascii").rstrip("=")


def parse_cursor(raw: Optional[str]) -> Optional[int]:
    if raw is None or raw == "":
        return None
    try:
        if not _CURSOR.match(raw):
            raise ValueError
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
        prefix, _, number = text.partition(":")
        if prefix != "before" or not number.isdigit() or len(number) > 19:
            raise ValueError
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "InvalidCursor", "cursor 无效：请使用上一页返回的 nextCursor") from None


def parse_id(raw: str) -> int:
    if not re.fullmatch(r"[0-9]{1,19}", raw) or int(raw) <= 0 or int(raw) >= 2 ** 63:
        raise ApiError(400, "InvalidId", "文件 id 必须是正整数")
    return int(raw)


class FileList:
    def __init__(self, settings, db, bucket, clock: Callable[[], datetime]):
        self.settings = settings
        self.db = db
        self.bucket = bucket
        self.clock = clock

    def page(self, folder: str, limit: int, before_id: Optional[int]) -> dict:
        # One more than asked tells whether there is a next page without a second query.
        records = self.db.list_uploads(user_of(folder), limit + 1, before_id)
        more = len(records) > limit
        records = records[:limit]
        expires_at = self.bucket.cap_expiry(self.clock() + timedelta(seconds=self.settings.download_expire_seconds))
        signer = self.bucket.url_signer(expires_at)
        expires_text = expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "files": [self._item(record, signer, expires_text) for record in records],
            "nextCursor": encode_cursor(records[-1].id) if more else None,
        }

    def _item(self, record, signer, expires_text: str) -> dict:
        item = record.to_json()
        item["url"] = signer.get(record.key, content_disposition(record.name))
        if record.content_type in THUMBNAIL_TYPES:
            item["thumbnailUrl"] = signer.get(record.key, process=THUMBNAIL_PROCESS)
        item["expiresAt"] = expires_text
        return item

    def delete(self, folder: str, record_id: int) -> None:
        """Delete the object, then the record; another user's id is the same 404 as an unknown one."""
        record = self.db.get_upload(record_id, user_of(folder))
        if record is None:
            raise FileNotFound()
        self.bucket.delete(record.key)  # already gone from OSS: fine, the record goes too
        self.db.delete_upload(record_id, user_of(folder))
