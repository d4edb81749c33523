"""What the emulator says about its one bucket: GetBucketInfo (`GET /?bucketInfo`), GetBucketLocation
(`GET /?location`), GetBucketAcl (`GET /?acl`), and the entry ListBuckets gives it (service_listing.py).

The bucket is private (the kit's security model: every read is presigned) and Standard; it was
created when its storage was first set up (Storage.created).
"""
from __future__ import annotations

from typing import List, Tuple

from werkzeug.wrappers import Response

from .object_meta import OWNER_ID, OWNER_NAME
from .xml_body import XML_HEAD, document, elements, group, iso_time

BUCKET_ACL = "private"
OWNER = [("ID", OWNER_ID), ("DisplayName", OWNER_NAME)]


def describe(bucket: str, region: str, created: float) -> List[Tuple[str, str]]:
    """The fields OSS gives a bucket in ListBuckets and GetBucketInfo (`created`: Unix time)."""
    return [
        ("CreationDate", iso_time(created)),
        ("ExtranetEndpoint", f"oss-{region}.aliyuncs.com"),
        ("IntranetEndpoint", f"oss-{region}-internal.aliyuncs.com"),
        ("Location", f"oss-{region}"),
        ("Name", bucket),
        ("Region", region),
        ("StorageClass", "Standard"),
    ]


def bucket_info(bucket: str, region: str, created: float) -> Response:
    fields = describe(bucket, region, created)
    inner = elements(fields, "    ") + group("Owner", OWNER, "    ") + \
        group("AccessControlList", [("Grant", BUCKET_ACL)], "    ") + elements([("DataRedundancyType", "LRS")], "    ")
    return document("BucketInfo", [f"  <Bucket>\n{inner}  </Bucket>\n"])


def bucket_location(region: str) -> Response:
    return Response(f"{XML_HEAD}<LocationConstraint>oss-{region}</LocationConstraint>\n", content_type="application/xml")


def bucket_acl() -> Response:
    return document("AccessControlPolicy", [group("Owner", OWNER), group("AccessControlList", [("Grant", BUCKET_ACL)])])
