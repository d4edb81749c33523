"""The emulator as oss2 (Alibaba Cloud's older Python SDK) sees it, with its default settings:
V1 signatures (`oss2.Auth`, also V4 with `oss2.AuthV4`), path-style requests to the IP endpoint,
CRC-64 checks on. One emulator for the module, on the real clock (oss2 signs with time.time())."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import oss2
import pytest
import requests

from server.credentials.local import mint
from tests.local_oss_support import KEY_ID, SECRET, running_emulator
from tests.ossform import error_code

BUCKET = "test-bucket"


def real_clock():
    return datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    yield from running_emulator(tmp_path_factory.mktemp("oss2"), real_clock)


@pytest.fixture(scope="module")
def bucket(emu):
    return oss2.Bucket(oss2.Auth(KEY_ID, SECRET), emu.url, BUCKET)


def refused(call, status, code):
    with pytest.raises(oss2.exceptions.OssError) as caught:
        call()
    assert (caught.value.status, caught.value.code) == (status, code), caught.value
    return caught.value


def test_put_get_head_and_crc64(bucket):
    put = bucket.put_object("o2/a 文件.txt", b"hello oss2", headers={"Content-Type": "text/plain",
                                                                   "x-oss-meta-owner": "me"})
    assert put.status == 200 and put.crc  # oss2 compared the CRC-64 with its own
    got = bucket.get_object("o2/a 文件.txt")
    assert got.read() == b"hello oss2" and got.server_crc == put.crc
    head = bucket.head_object("o2/a 文件.txt")
    assert head.content_length == 10 and head.headers["x-oss-meta-owner"] == "me"
    assert bucket.get_object_meta("o2/a 文件.txt").content_length == 10
    assert bucket.get_object("o2/a 文件.txt", byte_range=(6, 9)).read() == b"oss2"
    refused(lambda: bucket.get_object("o2/none.txt"), 404, "NoSuchKey")
    refused(lambda: bucket.put_object("o2/a 文件.txt", b"x", headers={"x-oss-forbid-overwrite": "true"}),
            409, "FileAlreadyExists")
    refused(lambda: bucket.get_object("o2/a 文件.txt", headers={"If-Match": '"0000"'}), 412, "PreconditionFailed")


def test_listing_v1_and_v2(bucket):
    for key in ("o2/l/a.txt", "o2/l/b.txt", "o2/l/d/c.txt"):
        bucket.put_object(key, b"x")
    v1 = [o.key for o in oss2.ObjectIterator(bucket, prefix="o2/l/", delimiter="/", max_keys=1)]
    assert v1 == ["o2/l/a.txt", "o2/l/b.txt", "o2/l/d/"]
    v2 = [o.key for o in oss2.ObjectIteratorV2(bucket, prefix="o2/l/", max_keys=2)]
    assert v2 == ["o2/l/a.txt", "o2/l/b.txt", "o2/l/d/c.txt"]


def test_copy_acl_and_batch_delete(bucket, emu):
    bucket.put_object("o2/src.txt", b"copy me")
    assert bucket.copy_object(BUCKET, "o2/src.txt", "o2/dst.txt").status == 200
    assert bucket.get_object("o2/dst.txt").read() == b"copy me"
    bucket.put_object_acl("o2/dst.txt", oss2.OBJECT_ACL_PUBLIC_READ)
    assert bucket.get_object_acl("o2/dst.txt").acl == oss2.OBJECT_ACL_PUBLIC_READ
    assert requests.get(f"{emu.url}/{BUCKET}/o2/dst.txt", timeout=5).content == b"copy me"  # anonymous, path style
    result = bucket.batch_delete_objects(["o2/src.txt", "o2/dst.txt"])
    assert sorted(result.deleted_keys) == ["o2/dst.txt", "o2/src.txt"]
    assert not bucket.object_exists("o2/dst.txt")


def test_multipart_and_resumable_upload(bucket, tmp_path):
    key = "o2/mp.bin"
    upload_id = bucket.init_multipart_upload(key).upload_id
    chunks = [b"a" * (100 * 1024), b"tail"]
    parts = [oss2.models.PartInfo(n, bucket.upload_part(key, upload_id, n, chunk).etag)
             for n, chunk in enumerate(chunks, 1)]
    listed = bucket.list_parts(key, upload_id)  # sends an empty part-number-marker
    assert [p.part_number for p in listed.parts] == [1, 2]
    assert [u.upload_id for u in oss2.MultipartUploadIterator(bucket, prefix="o2/")] == [upload_id]
    bucket.complete_multipart_upload(key, upload_id, parts)
    assert bucket.get_object(key).read() == b"".join(chunks)

    source = tmp_path / "big.bin"
    source.write_bytes(bytes(range(256)) * 1600)  # 400 KiB in 100 KiB parts
    oss2.resumable_upload(bucket, "o2/resumable.bin", str(source), multipart_threshold=100 * 1024,
                          part_size=100 * 1024, num_threads=2, store=oss2.ResumableStore(root=str(tmp_path)))
    assert bucket.get_object("o2/resumable.bin").read() == source.read_bytes()


def test_presigned_v1_urls_and_errors(bucket, emu):
    bucket.put_object("o2/signed.txt", b"signed")
    url = bucket.sign_url("GET", "o2/signed.txt", 60)
    assert "OSSAccessKeyId=" in url and requests.get(url, timeout=5).content == b"signed"
    tampered = requests.get(url.replace("signed.txt", "signed.txT"), timeout=5)
    assert tampered.status_code == 403 and error_code(tampered) == "SignatureDoesNotMatch"
    put_url = bucket.sign_url("PUT", "o2/put.txt", 60)
    assert requests.put(put_url, data=b"via url", timeout=5).status_code == 200
    assert bucket.get_object("o2/put.txt").read() == b"via url"
    expired = requests.get(bucket.sign_url("GET", "o2/signed.txt", -1), timeout=5)
    assert expired.status_code == 403 and error_code(expired) == "AccessDenied"

    wrong = oss2.Bucket(oss2.Auth(KEY_ID, "not-it"), emu.url, BUCKET)
    refused(lambda: wrong.get_object("o2/signed.txt"), 403, "SignatureDoesNotMatch")
    other = oss2.Bucket(oss2.Auth(KEY_ID, SECRET), emu.url, "another-bucket")
    refused(lambda: other.get_object("o2/signed.txt"), 404, "NoSuchBucket")
    creds = mint(KEY_ID, SECRET, real_clock(), 900)
    sts = oss2.Bucket(oss2.StsAuth(creds.access_key_id, creds.access_key_secret, creds.security_token), emu.url,
                      BUCKET)
    assert sts.get_object("o2/signed.txt").read() == b"signed"
    assert requests.get(sts.sign_url("GET", "o2/signed.txt", 60), timeout=5).content == b"signed"


def test_v4_signatures(emu):
    v4 = oss2.Bucket(oss2.AuthV4(KEY_ID, SECRET), emu.url, BUCKET, region="cn-hangzhou")
    v4.put_object("o2/v4.txt", io.BytesIO(b"v4 body"))
    assert v4.get_object("o2/v4.txt").read() == b"v4 body"
    assert [o.key for o in oss2.ObjectIteratorV2(v4, prefix="o2/v4")] == ["o2/v4.txt"]
    assert requests.get(v4.sign_url("GET", "o2/v4.txt", 60), timeout=5).content == b"v4 body"


def test_list_buckets_signed_as_the_service(bucket, emu):
    """`GET /` signed as `/` (oss2.Service) is ListBuckets: the one bucket, filtered by prefix."""
    service = oss2.Service(oss2.Auth(KEY_ID, SECRET), emu.url)
    (only,) = service.list_buckets().buckets
    assert (only.name, only.location, only.storage_class) == (BUCKET, "oss-cn-hangzhou", "Standard")
    assert service.list_buckets(prefix="zz").buckets == []
    assert service.list_buckets(marker=BUCKET).buckets == []
    v4 = oss2.Service(oss2.AuthV4(KEY_ID, SECRET), emu.url, region="cn-hangzhou")
    assert [b.name for b in v4.list_buckets().buckets] == [BUCKET]
    refused(lambda: oss2.Service(oss2.Auth(KEY_ID, "not-it"), emu.url).list_buckets(), 403, "SignatureDoesNotMatch")
    refused(lambda: service.list_buckets(max_keys=1001), 400, "InvalidArgument")
    # Other questions to the service are not answered with a bucket list.
    refused(lambda: service.describe_regions(), 501, "NotImplemented")
    refused(lambda: service.list_buckets(params={"tag-key": "team"}), 501, "NotImplemented")
    assert [o.key for o in oss2.ObjectIterator(bucket, max_keys=1)][:1], "GET / of the bucket still lists objects"


def test_object_sub_resources_it_does_not_model_are_refused_not_misread(bucket):
    """Tagging, symlinks and appends are OSS operations the emulator does not model: 501, and never a
    plain read of the object's bytes or a write of an empty object under the key."""
    bucket.put_object("o2/sub.txt", b"body")
    refused(lambda: bucket.get_object_tagging("o2/sub.txt"), 501, "NotImplemented")
    refused(lambda: bucket.put_symlink("o2/sub.txt", "o2/link.txt"), 501, "NotImplemented")
    refused(lambda: bucket.append_object("o2/appended.txt", 0, b"x"), 501, "NotImplemented")
    assert not bucket.object_exists("o2/link.txt") and not bucket.object_exists("o2/appended.txt")
    url = bucket.sign_url("GET", "o2/sub.txt", 60, params={"x-oss-traffic-limit": str(100 * 1024 * 8)})
    assert requests.get(url, timeout=5).content == b"body"  # a speed limit is accepted, not enforced
    for value in ("819199", "838860801", "abc"):  # OSS's range is 819200..838860800 bit/s
        slow = bucket.sign_url("GET", "o2/sub.txt", 60, params={"x-oss-traffic-limit": value})
        answer = requests.get(slow, timeout=5)
        assert answer.status_code == 400 and error_code(answer) == "InvalidArgument", value
    refused(lambda: bucket.put_object("o2/slow.txt", b"x", headers={"x-oss-traffic-limit": "1"}), 400, "InvalidArgument")
    refused(lambda: bucket.get_object("o2/sub.txt", params={"versionId": "null"}), 501, "NotImplemented")
    anonymous = requests.get(f"{bucket.endpoint}/{BUCKET}/o2/sub.txt?tagging", timeout=5)
    assert anonymous.status_code == 403 and error_code(anonymous) == "AccessDenied"


def test_bucket_info_location_and_acl(bucket):
    info = bucket.get_bucket_info()
    assert (info.name, info.location, info.storage_class, info.acl.grant) == (BUCKET, "oss-cn-hangzhou", "Standard",
                                                                              "private")
    assert info.extranet_endpoint == "oss-cn-hangzhou.aliyuncs.com" and info.owner.id
    assert bucket.get_bucket_location().location == "oss-cn-hangzhou"
    assert bucket.get_bucket_acl().acl == "private"
    bucket.put_object("o2/later.txt", b"x")  # the bucket's creation date does not move with its contents
    assert bucket.get_bucket_info().creation_date == info.creation_date
    refused(lambda: bucket.get_bucket_cors(), 501, "NotImplemented")
    anonymous = requests.get(f"{bucket.endpoint}/{BUCKET}/?bucketInfo", timeout=5)
    assert anonymous.status_code == 403 and error_code(anonymous) == "AccessDenied"
