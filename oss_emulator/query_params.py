"""Optional query parameters of the listing operations, read the way OSS reads them.

An empty value counts as absent (`part-number-marker=`, `max-keys=`: oss2 sends some on every
default call, and OSS answers as if they were not there). A present value outside the documented
range is 400 InvalidArgument naming the parameter.
"""
from __future__ import annotations

from typing import Callable, List, Mapping, Optional, Tuple
from urllib.parse import quote

from .access_keys import invalid_argument
from .numbers import decimal

# OSS's limit for prefix, marker, start-after and key-marker: "must be less than 1024 bytes".
MAX_NAME_BYTES = 1023


def optional(query: Mapping[str, str], name: str) -> Optional[str]:
    value = query.get(name)
    return value or None


def integer(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = optional(query, name)
    if raw is None:
        return default
    value = decimal(raw, 6)
    if value is None or not low <= value <= high:
        raise invalid_argument(f"Argument {name} must be an integer between {low} and {high}.", name=name, value=raw)
    return value


def name(query: Mapping[str, str], param: str) -> str:
    """A prefix, marker or key: "" when absent, at most MAX_NAME_BYTES of UTF-8."""
    value = optional(query, param) or ""
    if len(value.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise invalid_argument(f"Argument {param} must be less than 1024 bytes.", name=param, value=value[:64])
    return value


def delimiter(query: Mapping[str, str]) -> Optional[str]:
    value = optional(query, "delimiter")
    if value is not None and len(value) != 1:
        # OSS documents the delimiter as "a character"; strict reading: exactly one.
        raise invalid_argument("The delimiter must be a single character.", name="delimiter", value=value[:64])
    return value


def url_encoded(query: Mapping[str, str]) -> bool:
    """`encoding-type=url` (the SDKs send it by default); any other value is refused."""
    value = optional(query, "encoding-type")
    if value is None:
        return False
    if value != "url":
        raise invalid_argument("Invalid Encoding Method specified in Request", name="encoding-type", value=value[:64])
    return True


def encoder(encoded: bool) -> Callable[[Optional[str]], Optional[str]]:
    """How names appear in a result: percent-encoded (UTF-8, `/` kept) when the client asked."""
    if encoded:
        return lambda text: None if text is None else quote(text, safe="/")
    return lambda text: text


def encoding_field(encoded: bool) -> List[Tuple[str, str]]:
    return [("EncodingType", "url")] if encoded else []
