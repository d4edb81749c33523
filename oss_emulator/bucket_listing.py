"""ListObjects (`GET /`) and ListObjectsV2 (`GET /?list-type=2`): the bucket's objects in key
order, with OSS's XML (ListBucketResult), from the in-memory index (object_index.py)."""
from __future__ import annotations

import base64
import binascii
from typing import List, Mapping, Optional, Tuple

from werkzeug.wrappers import Response

from . import query_params
from .access_keys import invalid_argument
from .key_walk import Item
from .object_index import ObjectIndex
from .object_meta import OWNER_ID, OWNER_NAME, object_type, storage_class
from .storage import StoredObject
from .xml_body import document, elements, group, iso_time

DEFAULT_MAX_KEYS = 100  # OSS's default for both versions
MAX_KEYS = 1000


def _fetch_owner(query: Mapping[str, str]) -> bool:
    raw = query_params.optional(query, "fetch-owner")
    if raw is None:
        return False
    if raw.lower() not in ("true", "false"):
        # Strict reading: OSS documents only true and false.
        raise invalid_argument("Argument fetch-owner must be true or false.", name="fetch-owner", value=raw[:64])
    return raw.lower() == "true"


def _token(name: str) -> str:
    """An opaque continuation token for `name` (OSS's tokens are opaque too)."""
    return base64.urlsafe_b64encode(name.encode("utf-8")).decode("ascii").rstrip("=")


def _untoken(token: str) -> str:
    try:
        return base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise invalid_argument("The continuation token provided is incorrect.", name="continuation-token",
                               value=token[:64]) from None


def _contents(obj: StoredObject, owner: bool, encode) -> str:
    fields = [("Key", encode(obj.key)), ("LastModified", iso_time(obj.last_modified)), ("ETag", f'"{obj.etag}"'),
              ("Type", object_type(obj)), ("Size", obj.size), ("StorageClass", storage_class(obj))]
    body = elements(fields, "    ")
    if owner:
        body += group("Owner", [("ID", OWNER_ID), ("DisplayName", OWNER_NAME)], "    ")
    return f"  <Contents>\n{body}  </Contents>\n"


def _page(index: ObjectIndex, query: Mapping[str, str], after: Item) -> Tuple[str, Optional[str], int, list, bool]:
    prefix = query_params.name(query, "prefix")
    delimiter = query_params.delimiter(query)
    limit = query_params.integer(query, "max-keys", DEFAULT_MAX_KEYS, 1, MAX_KEYS)
    entries, truncated = index.walk(prefix, after, delimiter, limit)
    return prefix, delimiter, limit, entries, truncated


def _results(entries, owner: bool, encode) -> List[str]:
    parts = [_contents(entry, owner, encode) for entry, common in entries if not common]
    parts += [group("CommonPrefixes", [("Prefix", encode(entry))]) for entry, common in entries if common]
    return parts


def _last(entries) -> str:
    entry, common = entries[-1]
    return entry if common else entry.key


def list_objects(index: ObjectIndex, bucket: str, query: Mapping[str, str]) -> Response:
    encoded = query_params.url_encoded(query)
    encode = query_params.encoder(encoded)
    marker = query_params.name(query, "marker")
    prefix, delimiter, limit, entries, truncated = _page(index, query, (marker, ""))
    head = [("Name", bucket), ("Prefix", encode(prefix)), ("Marker", encode(marker)), ("MaxKeys", limit),
            ("Delimiter", encode(delimiter or ""))] + query_params.encoding_field(encoded)
    head += [("IsTruncated", "true" if truncated else "false"),
             ("NextMarker", encode(_last(entries)) if truncated else None)]
    return document("ListBucketResult", [elements(head)] + _results(entries, True, encode))


def list_objects_v2(index: ObjectIndex, bucket: str, query: Mapping[str, str]) -> Response:
    encoded = query_params.url_encoded(query)
    encode = query_params.encoder(encoded)
    start_after = query_params.name(query, "start-after")
    token = query_params.optional(query, "continuation-token")
    # The token, when given, says where the previous page ended: it wins over start-after.
    after = _untoken(token) if token is not None else start_after
    prefix, delimiter, limit, entries, truncated = _page(index, query, (after, ""))
    head = [("Name", bucket), ("Prefix", encode(prefix)), ("StartAfter", encode(start_after or None)),
            ("ContinuationToken", encode(token)), ("MaxKeys", limit), ("Delimiter", encode(delimiter or ""))]
    head += query_params.encoding_field(encoded)
    head += [("IsTruncated", "true" if truncated else "false"),
             ("NextContinuationToken", encode(_token(_last(entries))) if truncated else None),
             ("KeyCount", len(entries))]
    return document("ListBucketResult", [elements(head)] + _results(entries, _fetch_owner(query), encode))
