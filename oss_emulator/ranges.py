"""`Range: bytes=...` the way OSS answers it (GetObject, "Range"; research: oss-facts.md B2).

By default a range OSS cannot serve is ignored: 200 with the whole object, no Content-Range.
With `x-oss-range-behavior: standard` an unsatisfiable range is 416 InvalidRange. Only one
range is served; OSS does not support several in one request.
"""
from __future__ import annotations

import re
from typing import Optional, Tuple

from .errors import OssError

_SPEC = re.compile(r"^(\d{1,19})?-(\d{1,19})?$")


def invalid_range(size: int) -> OssError:
    error = OssError(416, "InvalidRange", "The requested range cannot be satisfied")
    error.extra = {"ActualObjectSize": str(size)}
    return error


def select(header: Optional[str], size: int, standard: bool) -> Optional[Tuple[int, int]]:
    """(first, last) byte, inclusive, for a 206; None for a 200 with the whole object.

    Raises InvalidRange (416) only when `standard`: for a range past the end, a start after the
    end (`bytes=5-2`; strict reading, OSS documents no example) or several ranges. A header
    that is not a bytes range at all is ignored in both modes, as HTTP asks.
    """
    if header is None:
        return None
    unit, sep, spec = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    spec = spec.strip()
    if "," in spec:
        if standard and all(_SPEC.match(part.strip()) for part in spec.split(",")):
            raise invalid_range(size)
        return None
    match = _SPEC.match(spec)
    if not match or match.group(1) is None and match.group(2) is None:
        return None
    first, last = match.group(1), match.group(2)
    chosen = _satisfiable(first, last, size, standard)
    if chosen is None and standard:
        raise invalid_range(size)
    return chosen


def _satisfiable(first: Optional[str], last: Optional[str], size: int, standard: bool) -> Optional[Tuple[int, int]]:
    if size == 0:
        return None
    if first is None:  # the last N bytes
        count = int(last)
        if count == 0:
            return None
        if count >= size:
            # OSS's example: `bytes=-2000` of 1000 bytes is 200 by default, 206 0-999 with standard.
            return (0, size - 1) if standard else None
        return size - count, size - 1
    start = int(first)
    end = size - 1 if last is None else int(last)
    if start > end or start >= size:
        return None
    return start, min(end, size - 1)
