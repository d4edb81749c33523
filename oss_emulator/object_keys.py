"""Which object keys the emulator accepts for a new object.

OSS documents 1..1023 bytes of UTF-8, not starting with `/` or `\\`. Strict reading beyond that:
no C0 control character, DEL or anything XML 1.0 cannot carry (OSS would have to echo the key in
XML results), and no `.` or `..` segment (every URL built from the key would be normalised by
clients to another object; `%2e` counts as a dot too).
"""
from __future__ import annotations

import re

from .errors import OssError

MAX_KEY_BYTES = 1023
_BAD_KEY_CHARACTERS = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def invalid_object_name() -> OssError:
    return OssError(400, "InvalidObjectName", "The specified object is not valid.")


def check_key(key: str) -> str:
    """`key` itself when acceptable; InvalidObjectName otherwise."""
    encoded = key.encode("utf-8", "surrogatepass")
    if (not encoded or len(encoded) > MAX_KEY_BYTES or key[0] in "/\\" or _BAD_KEY_CHARACTERS.search(key)
            or any(segment in (".", "..") for segment in key.split("/"))):
        raise invalid_object_name()
    return key
