"""The headers a PostObject form stores with its object, validated the way OSS validates them.

What is stored is what every later GET and HEAD serves, so a value that could not be sent back as
an HTTP header (non-ASCII, a control character, a name that is not a header name) is refused at
upload, never stored.

Policy conditions are judged elsewhere (post_policy.py). A field the policy does not mention is
not checked against the policy (OSS's older PostObject doc: "conditions不涉及的表单域将不会进行合法性检查"),
but it is still stored where OSS stores it, and its value must still be one OSS accepts.
"""
from __future__ import annotations

import mimetypes
import re
from typing import Dict, Mapping, Optional

from .errors import OssError

# Form fields OSS stores as object headers, by lower-case name -> canonical name.
STANDARD_HEADERS = {
    "content-type": "Content-Type",
    "content-disposition": "Content-Disposition",
    "cache-control": "Cache-Control",
    "content-encoding": "Content-Encoding",
    "expires": "Expires",
}
META_PREFIX = "x-oss-meta-"
MAX_USER_METADATA = 8 * 1024

# PostObject doc (zh): x-oss-storage-class is Standard | IA | Archive | ColdArchive; EC 0013-00000101
# adds DeepColdArchive and makes anything else 400 InvalidArgument. The doc lists x-oss-object-acl
# as default | private | public-read | public-read-write. Strict reading: the exact spelling only.
STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
OBJECT_ACLS = ("default", "private", "public-read", "public-read-write")
STORAGE_CLASS_HEADER = "x-oss-storage-class"
OBJECT_ACL_HEADER = "x-oss-object-acl"

# User metadata names: "元数据支持短划线(-)、数字、英文字母(a~z)...不支持下划线(_)在内的其他字符"
# (OSS EC 0011-00000002); upper case is folded to lower case (form field names are lower-cased).
_META_NAME = re.compile(r"^[a-z0-9-]+$")
# User metadata values: "元数据只能是简单的ASCII可见字符且不能包含换行" (OSS, 管理文件元数据): printable
# ASCII and the space.
_META_VALUE = re.compile(r"^[\x20-\x7e]*$")
# Other header values: RFC 9110 field-value characters (VCHAR, SP, HTAB), strict reading: without
# obs-text, the obsolete bytes 0x80-0xFF, so no control character and nothing beyond ASCII. A header
# the client cannot receive intact (werkzeug sends Latin-1; OSS's own SDKs send ASCII) is refused.
_HEADER_VALUE = re.compile(r"^[\x20-\x7e\t]*$")


def _invalid(message: str, name: str) -> OssError:
    return OssError(400, "InvalidArgument", message, extra={"ArgumentName": name})


def _check_value(name: str, value: str, pattern=_HEADER_VALUE) -> str:
    if not pattern.match(value):
        # Unverified wording. Control characters would end the header early in every response
        # (the headers after it lost); non-ASCII cannot be served as sent.
        raise _invalid(f"The value of '{name}' must be printable ASCII: it is sent back as an HTTP header.", name)
    return value


def _content_type(fields: Mapping[str, str], file_type: Optional[str], key: str) -> str:
    """PostObject doc (zh): "优先级顺序：x-oss-content-type > 文件表单域的Content-Type > Content-Type",
    and of the file part: "浏览器会自动根据文件类型来设置Content-Type，并覆盖用户的设置". An empty value
    counts as absent; with none, the type is guessed from the key's extension as OSS does."""
    for name, value in (("x-oss-content-type", fields.get("x-oss-content-type")),
                        ("file", file_type), ("content-type", fields.get("content-type"))):
        if value:
            return _check_value(name, value)
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def stored_headers(fields: Mapping[str, str], file_type: Optional[str], key: str) -> Dict[str, str]:
    """The object's headers from the form (`fields` keyed by lower-case name); OssError if OSS
    would refuse one of them."""
    headers = {"Content-Type": _content_type(fields, file_type, key)}
    metadata = 0
    for name, value in fields.items():
        if name in STANDARD_HEADERS and name != "content-type":
            headers[STANDARD_HEADERS[name]] = _check_value(name, value)
        elif name.startswith(META_PREFIX):
            if not _META_NAME.match(name[len(META_PREFIX):]):
                # Unverified wording; the rule is EC 0011-00000002's.
                raise _invalid("The user metadata name may hold only letters, digits and '-'.", name)
            headers[name] = _check_value(name, value, _META_VALUE)
            metadata += len(name) + len(value)
    if metadata > MAX_USER_METADATA:
        # Unverified code and wording; the 8 KB limit is OSS's.
        raise OssError(400, "InvalidArgument", "Your metadata headers exceed the maximum allowed metadata size.")
    for name, allowed in ((STORAGE_CLASS_HEADER, STORAGE_CLASSES), (OBJECT_ACL_HEADER, OBJECT_ACLS)):
        value = fields.get(name)
        if value is None:
            continue
        if value not in allowed:
            # The code is documented (EC 0013-00000101 for the storage class); the wording is not.
            raise _invalid(f"The value of '{name}' is invalid; expected one of {', '.join(allowed)}.", name)
        # Stored as sent; the read side serves the class and honours the ACL from these keys.
        headers[name] = value
    return headers
