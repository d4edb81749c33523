"""DeleteMultipleObjects (`POST /?delete`): up to 1,000 keys in one signed request, `Content-MD5`
required, quiet or verbose result, keys URL-encoded in the result with `encoding-type=url`."""
from __future__ import annotations

from typing import Mapping

from werkzeug.wrappers import Request, Response

from . import query_params, write_requests
from .errors import OssError
from .storage import Storage
from .xml_body import document, elements, group, malformed_xml, parse_xml

MAX_KEYS = 1000
MAX_BODY = 2 * 1024 * 1024  # 1,000 keys of 1,023 bytes, XML-escaped, fit


def delete_objects(storage: Storage, request: Request, query: Mapping[str, str]) -> Response:
    if request.headers.get("Content-MD5") is None:
        # OSS's doc marks Content-MD5 as required for this request; the wording is unverified.
        raise OssError(400, "InvalidRequest", "Missing required header for this request: Content-MD5.")
    encoded = query_params.url_encoded(query)
    root = parse_xml(write_requests.xml_body(request, MAX_BODY), "Delete")
    quiet = (root.findtext("Quiet") or "false").strip().lower()
    if quiet not in ("true", "false"):
        raise malformed_xml()
    keys = []
    for item in root:
        if item.tag == "Quiet":
            continue
        key = item.findtext("Key") if item.tag == "Object" else None
        if not key:
            raise malformed_xml()
        keys.append(key)
    if not keys or len(keys) > MAX_KEYS:
        raise malformed_xml()
    for key in keys:
        storage.delete(key)  # a key that does not exist counts as deleted, as in OSS
    encode = query_params.encoder(encoded)
    deleted = [] if quiet == "true" else [group("Deleted", [("Key", encode(key))]) for key in keys]
    return document("DeleteResult", [elements(query_params.encoding_field(encoded))] + deleted)
