"""Integers from request text: ASCII digits only, and few enough that int() stays cheap (a
4,301-digit string would raise, `²` is a digit to str.isdigit but not to int())."""
from __future__ import annotations

from typing import Optional


def decimal(raw: Optional[str], max_digits: int = 12) -> Optional[int]:
    """`raw` as a non-negative integer when it is 1..max_digits ASCII digits; None otherwise."""
    if raw is None or not 0 < len(raw) <= max_digits or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)
