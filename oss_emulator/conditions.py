"""GetObject's and HeadObject's conditional headers, judged as OSS documents them.

If-Match that does not match, or If-Unmodified-Since when the object changed after it: 412
PreconditionFailed. If-None-Match that matches, or If-Modified-Since when the object did not
change after it: 304. The order is RFC 7232's (OSS documents each header alone): If-Match, then
If-Unmodified-Since (ignored when If-Match is present), then If-None-Match, then If-Modified-Since
(ignored when If-None-Match is present). A date that does not parse is ignored, as in RFC 7232.
"""
from __future__ import annotations

from typing import Mapping, Optional

from werkzeug.http import parse_date, parse_etags

from .errors import OssError

NOT_MODIFIED = 304


def precondition_failed(header: str) -> OssError:
    return OssError(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                    extra={"Condition": header})


def _matches(raw: str, etag: str) -> bool:
    # OSS's ETags are strong; a weak tag in If-Match never matches (RFC 7232 strong comparison).
    return parse_etags(raw).contains(etag)


def _after(raw: Optional[str], seconds: int) -> Optional[bool]:
    """Whether the object's time (whole seconds) is later than the date in `raw`; None if no date."""
    when = parse_date(raw) if raw else None
    return None if when is None else seconds > int(when.timestamp())


def evaluate(headers: Mapping[str, str], etag: str, last_modified: float,
             names=("If-Match", "If-Unmodified-Since", "If-None-Match", "If-Modified-Since")) -> Optional[int]:
    """None to serve the object, NOT_MODIFIED for a 304; raises 412 PreconditionFailed.

    `names` are the four headers in the order above (CopyObject reads x-oss-copy-source-if-*)."""
    if_match, if_unmodified, if_none_match, if_modified = (headers.get(name) for name in names)
    seconds = int(last_modified)
    if if_match is not None:
        if not _matches(if_match, etag):
            raise precondition_failed(names[0])
    elif _after(if_unmodified, seconds):
        raise precondition_failed(names[1])
    if if_none_match is not None:
        if parse_etags(if_none_match).contains_weak(etag):
            return NOT_MODIFIED
    elif _after(if_modified, seconds) is False:
        return NOT_MODIFIED
    return None
