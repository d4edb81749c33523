"""Pure: one page of a sorted key space, as ListObjects, ListObjectsV2 and ListMultipartUploads
walk it (prefix, marker, delimiter grouping into common prefixes, a limit).

Items are `(key, sub)` pairs sorted ascending: `sub` is "" for objects and the upload id for
multipart uploads (several uploads may share a key). Python orders strings by code point, which
is the order of their UTF-8 bytes, OSS's listing order.
"""
from __future__ import annotations

import bisect
from typing import List, Optional, Sequence, Tuple

Item = Tuple[str, str]
# Sorts after every upload id and every "" sub: `(marker, AFTER_ALL)` skips all items of `marker`.
AFTER_ALL = "\U0010ffff"


def _successor(prefix: str) -> Optional[str]:
    """The least string above every string that starts with `prefix` (None if there is none)."""
    stripped = prefix.rstrip(AFTER_ALL)
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)


def walk(items: Sequence[Item], prefix: str, after: Item, delimiter: Optional[str],
         limit: int) -> Tuple[List[Tuple[Item, bool]], bool]:
    """Up to `limit` entries after `after` whose key starts with `prefix`, as (item, is_common_prefix),
    and whether more entries follow.

    With a delimiter, the keys sharing `prefix + ... + delimiter` appear once, as a common prefix
    (item `(common, "")`), counted as one entry. A common prefix at or before `after`'s key was on
    an earlier page (a marker is always a key or a common prefix some page returned) and is skipped.
    """
    entries: List[Tuple[Item, bool]] = []
    start = max(after, (prefix, ""))
    at = bisect.bisect_right(items, after) if start == after else bisect.bisect_left(items, start)
    while at < len(items):
        key = items[at][0]
        if not key.startswith(prefix):
            break
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        if cut >= 0:
            common = key[:cut + len(delimiter)]
            if common > after[0]:
                if len(entries) == limit:
                    return entries, True
                entries.append(((common, ""), True))
            beyond = _successor(common)
            at = len(items) if beyond is None else bisect.bisect_left(items, (beyond, ""))
            continue
        if len(entries) == limit:
            return entries, True
        entries.append((items[at], False))
        at += 1
    return entries, False
