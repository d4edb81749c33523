"""What the server decides about one upload: its key, type and download name.

The client's file name only contributes its extension (checked against the allow-list) and the
name offered on download; it never becomes part of the object key.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional
from urllib.parse import quote

from .clock import new_object_id, require_aware
from .errors import ApiError

MAX_FILENAME_LENGTH = 255

CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "bmp": "image/bmp",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "m4v": "video/x-m4v",
    "webm": "video/webm",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "txt": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "zip": "application/zip",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PATH_SEPARATOR = re.compile(r"[\\/]")
# [0-9], not \d: \d also matches non-ASCII digits that int() would quietly accept.
_SIZE = re.compile(r"[+-]?[0-9]{1,20}")
_NOT_ASCII_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class UploadRejected(ApiError):
    """The request describes a file we will not sign for."""


@dataclass(frozen=True)
class UploadTarget:
    key: str
    content_type: str
    content_disposition: str


def clean_filename(raw: Optional[str]) -> Optional[str]:
    """The base name a client reported, or None when it sent none. Rejects what no file is called."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise UploadRejected(400, "InvalidFilename", "filename 必须是字符串")
    if raw.strip() == "":
        raise UploadRejected(400, "InvalidFilename", "filename 不能为空；不知道文件名时请不要传这个参数")
    if len(raw) > MAX_FILENAME_LENGTH:
        raise UploadRejected(400, "InvalidFilename", f"filename 太长（最多 {MAX_FILENAME_LENGTH} 个字符）")
    if _CONTROL.search(raw):
        raise UploadRejected(400, "InvalidFilename", "filename 含有控制字符")
    if any(_invisible(ch) for ch in raw):
        # U+202E turns "photo<RLO>gnp.jpg" into what reads as "photojpg.png": names are shown to people.
        raise UploadRejected(400, "InvalidFilename", "filename 含有不可见字符或改变文字方向的字符")
    # Paths from any platform: only the last segment is a name.
    name = _PATH_SEPARATOR.split(raw)[-1].strip()
    if name in ("", ".", ".."):
        raise UploadRejected(400, "InvalidFilename", "filename 不是文件名")
    return name


# Zero-width joiners are part of emoji and of Persian and Indic spelling; every other format character
# (direction overrides, zero-width space, BOM...) only hides or reorders what a name looks like.
_VISIBLE_FORMAT = {"\u200c", "\u200d"}


def _invisible(ch: str) -> bool:
    """Format, surrogate, unassigned or noncharacter code points, and line/paragraph separators."""
    category = unicodedata.category(ch)
    return (category in ("Cf", "Cs", "Cn", "Co", "Zl", "Zp") and ch not in _VISIBLE_FORMAT) or category == "Cc"


def extension_of(name: Optional[str]) -> str:
    if not name or "." not in name.strip("."):
        return ""
    return name.rsplit(".", 1)[1].lower()


def content_type_for_key(key: str) -> str:
    """The Content-Type plan_upload gives an object with this key (by its extension)."""
    return CONTENT_TYPES.get(extension_of(key.rsplit("/", 1)[-1]), DEFAULT_CONTENT_TYPE)


def parse_size(raw, max_size: int, required: bool = True) -> Optional[int]:
    """The declared byte size (a query string or a JSON number); the policy pins exactly this size."""
    if raw is None:
        if required:
            raise UploadRejected(400, "MissingSize", "缺少 size：请传文件的字节数，签名只对这个大小有效")
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise UploadRejected(400, "InvalidSize", "size 必须是文件的字节数（正整数）")
    text = str(raw).strip()
    if not _SIZE.fullmatch(text):
        raise UploadRejected(400, "InvalidSize", "size 必须是文件的字节数（正整数）")
    size = int(text)
    if size <= 0:
        raise UploadRejected(400, "InvalidSize", "size 必须大于 0：OSS 不接受空文件")
    if size > max_size:
        raise UploadRejected(413, "FileTooLarge", f"文件太大：{size} 字节，上限 {max_size} 字节")
    return size


def content_disposition(name: Optional[str]) -> str:
    """RFC 6266 with an RFC 5987 UTF-8 name, so Chinese names survive the download."""
    if not name:
        return "attachment"
    fallback = _NOT_ASCII_SAFE.sub("_", name)
    # quote() leaves only unreserved characters, so the policy value never holds `$` or quotes.
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def object_key(upload_dir: str, extension: str, now: datetime, new_id: Callable[[], str]) -> str:
    # The UTC day, the same day as x-oss-date, whatever offset the clock carries.
    day = require_aware(now, "now")
    suffix = f".{extension}" if extension else ""
    return "%s%04d/%02d/%02d/%s%s" % (upload_dir, day.year, day.month, day.day, new_id(), suffix)


def plan_upload(
    raw_filename: Optional[str],
    allowed_extensions: frozenset,
    upload_dir: str,
    now: datetime,
    new_id: Callable[[], str] = new_object_id,
    allow_nameless: bool = False,
) -> UploadTarget:
    """Key, type and download name for one upload; UploadRejected when it is not allowed.

    The extension allow-list is hard: a request without a file name is refused, unless the
    operator keeps the original tutorial's nameless client working (OSS_ALLOW_NAMELESS_UPLOADS);
    such an object is stored as opaque bytes (no extension, application/octet-stream), so it can
    never be served as a page.
    """
    name = clean_filename(raw_filename)
    if name is None:
        if not allow_nameless:
            raise UploadRejected(400, "MissingFilename", "缺少 filename：服务端要按扩展名决定能否上传和文件类型")
        return UploadTarget(object_key(upload_dir, "", now, new_id), DEFAULT_CONTENT_TYPE, "attachment")
    extension = extension_of(name)
    if extension not in allowed_extensions:
        shown = f".{extension}" if extension else "无扩展名"
        raise UploadRejected(
            415,
            "ExtensionNotAllowed",
            f"不允许上传这种类型的文件（{shown}）；允许：{', '.join(sorted(allowed_extensions))}",
        )
    return UploadTarget(
        object_key(upload_dir, extension, now, new_id),
        CONTENT_TYPES.get(extension, DEFAULT_CONTENT_TYPE),
        content_disposition(name),
    )
