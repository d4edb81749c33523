"""ListBuckets (GetService, `GET /` to the endpoint itself): the one bucket the emulator serves.

The request names no bucket, and an IP endpoint looks the same for `GET /` of the bucket
(ListObjects in CNAME style) and of the service; the signature tells them apart (app.py): a
service request signs `/`, a bucket request `/<bucket>/`.
"""
from __future__ import annotations

from typing import Mapping

from werkzeug.wrappers import Response

from . import query_params
from .bucket_info import OWNER, describe
from .xml_body import document, group


def list_buckets(bucket: str, region: str, created: float, query: Mapping[str, str]) -> Response:
    """OSS's ListAllMyBucketsResult for `bucket`, filtered by `prefix` and `marker`. With one bucket
    the answer is never truncated, so (as OSS does for a complete answer) it carries no Prefix,
    Marker, MaxKeys, IsTruncated or NextMarker."""
    prefix = query_params.name(query, "prefix")
    marker = query_params.name(query, "marker")
    # "max-keys ... 默认为 100，取值不能大于 1000" (OSS's GetService doc); 1 is the least that lists anything.
    query_params.integer(query, "max-keys", 100, 1, 1000)
    listed = bucket.startswith(prefix) and bucket > marker
    buckets = group("Bucket", describe(bucket, region, created), "    ") if listed else ""
    return document("ListAllMyBucketsResult", [
        group("Owner", OWNER),
        # An empty list is an empty element: ali-oss reads whitespace inside it as a bucket.
        f"  <Buckets>\n{buckets}  </Buckets>\n" if buckets else "  <Buckets></Buckets>\n",
    ])
