"""GetObjectACL and PutObjectACL (`GET`/`PUT /<key>?acl`): the ACL the emulator stores with each
object (`x-oss-object-acl`), which decides anonymous reads and deletes (objects.py)."""
from __future__ import annotations

from typing import Mapping

from werkzeug.wrappers import Request, Response

from . import errors
from .access_keys import invalid_argument
from .object_headers import OBJECT_ACL_HEADER
from .object_meta import OBJECT_ACLS, OWNER_ID, OWNER_NAME, stored
from .storage import Storage
from .xml_body import document, group


def get_acl(storage: Storage, key: str) -> Response:
    obj = storage.get(key)
    if obj is None:
        raise errors.no_such_key()
    return document("AccessControlPolicy", [
        group("Owner", [("ID", OWNER_ID), ("DisplayName", OWNER_NAME)]),
        group("AccessControlList", [("Grant", stored(obj, OBJECT_ACL_HEADER) or "default")]),
    ])


def put_acl(storage: Storage, request: Request, key: str, query: Mapping[str, str]) -> Response:
    acl = request.headers.get(OBJECT_ACL_HEADER)
    if acl not in OBJECT_ACLS:
        # OSS: the header is required and takes one of the four values.
        raise invalid_argument("The x-oss-object-acl header must be one of " + ", ".join(OBJECT_ACLS) + ".",
                               name=OBJECT_ACL_HEADER, value=(acl or "")[:64])
    # Uploads store the ACL under this lower-case name (object_headers.py, write_requests.py).
    if storage.set_headers(key, {OBJECT_ACL_HEADER: acl}) is None:
        raise errors.no_such_key()
    response = Response(b"", status=200)
    response.headers.pop("Content-Type", None)
    return response
