"""ListBuckets (GetService, `GET /` to the endpoint itself): the one bucket the emulator serves.

The request names no bucket, and an IP endpoint looks the same for `GET /` of the bucket
(ListObjects in CNAME style) and of the service; the signature tells them apart (app.py): a
service request signs `/`, a bucket request `/<bucket>/`.
"""
from __future__ import annotations

import os
from typing import Mapping

from werkzeug.wrappers import Response

from . import query_params
from .object_meta import OWNER_ID, OWNER_NAME
from .xml_body import document, group, iso_time


def list_buckets(bucket: str, region: str, storage_root: str, query: Mapping[str, str]) -> Response:
    """OSS's ListAllMyBucketsResult for `bucket`, filtered by `prefix` and `marker`. With one bucket
    the answer is never truncated, so (as OSS does for a complete answer) it carries no Prefix,
    Marker, MaxKeys, IsTruncated or NextMarker."""
    prefix = query_params.name(query, "prefix")
    marker = query_params.name(query, "marker")
    # "max-keys ... 默认为 100，取值不能大于 1000" (OSS's GetService doc); 1 is the least that lists anything.
    query_params.integer(query, "max-keys", 100, 1, 1000)
    listed = bucket.startswith(prefix) and bucket > marker
    created = os.stat(storage_root).st_ctime if os.path.exists(storage_root) else 0
    buckets = group("Bucket", [
        ("CreationDate", iso_time(created)),
        ("ExtranetEndpoint", f"oss-{region}.aliyuncs.com"),
        ("IntranetEndpoint", f"oss-{region}-internal.aliyuncs.com"),
        ("Location", f"oss-{region}"),
        ("Name", bucket),
        ("Region", region),
        ("StorageClass", "Standard"),
    ], "    ") if listed else ""
    return document("ListAllMyBucketsResult", [
        group("Owner", [("ID", OWNER_ID), ("DisplayName", OWNER_NAME)]),
        # An empty list is an empty element: ali-oss reads whitespace inside it as a bucket.
        f"  <Buckets>\n{buckets}  </Buckets>\n" if buckets else "  <Buckets></Buckets>\n",
    ])
