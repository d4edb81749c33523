"""What may be written into a response header: a token name and a Latin-1 value without control
characters. A value that breaks these rules would cut the header block short (a line break),
fail to encode (non-Latin-1: the server thread dies mid-response) or smuggle a header."""
from __future__ import annotations

import re

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# RFC 9110 field-value: visible Latin-1 characters, space and tab; no other control character.
_FIELD_VALUE = re.compile(r"^[\t\x20-\x7e\x80-\xff]*$")


def is_token(name: str) -> bool:
    return bool(_TOKEN.match(name))


def is_field_value(value: str) -> bool:
    return bool(_FIELD_VALUE.match(value))


def is_safe(name: str, value: str) -> bool:
    return is_token(name) and is_field_value(value)
