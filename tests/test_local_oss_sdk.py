"""What the official SDK (alibabacloud-oss-v2) signs, the emulator accepts; what it answers, the SDK parses.

The client is built as the server builds it for local mode (CNAME address style, no retries, short
timeouts, a session that ignores proxy settings); its signer reads the emulator's fake clock.
"""
from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import alibabacloud_oss_v2 as oss
import pytest
import requests
from alibabacloud_oss_v2._client import AddressStyle
from alibabacloud_oss_v2.signer import SignerV4
from PIL import Image

from server.credentials.local import mint
from oss_emulator import request_auth
from tests.conftest import FakeClock
from tests.local_oss_support import KEY_ID, SECRET, running_emulator
from tests.ossform import error_code

BUCKET = "test-bucket"
KIB = 1024


class ClockSigner(SignerV4):
    """The SDK's own V4 signer, signing at the emulator's (fake) time."""

    def __init__(self, clock):
        self._clock = clock

    def sign(self, signing_ctx):
        signing_ctx.signing_time = self._clock()
        return super().sign(signing_ctx)


def sdk_client(emu, key_id=KEY_ID, secret=SECRET, token=None) -> oss.Client:
    session = requests.Session()
    session.trust_env = False  # a proxy setting must not capture 127.0.0.1
    config = oss.Config(
        region="cn-hangzhou", endpoint=emu.url,
        credentials_provider=oss.credentials.StaticCredentialsProvider(key_id, secret, token),
        retryer=oss.retry.NopRetryer(),
        http_client=oss.transport.RequestsHttpClient(session=session, connect_timeout=2, readwrite_timeout=10),
    )
    return oss.Client(config, address_style=AddressStyle.CName, signer=ClockSigner(emu.clock))


@pytest.fixture
def sdk(emu):
    return sdk_client(emu)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One emulator for the bucket-wide tests of this module (each works under its own prefix)."""
    yield from running_emulator(tmp_path_factory.mktemp("shared"), FakeClock())


@pytest.fixture(scope="module")
def shared_sdk(shared):
    return sdk_client(shared)


def service_error(call):
    with pytest.raises(oss.exceptions.OperationError) as caught:
        call()
    inner = caught.value.unwrap()
    assert isinstance(inner, oss.exceptions.ServiceError), inner
    return inner


def store(emu, key, data=b"hello", extra=()):
    assert emu.post(emu.sign(key, extra=list(extra)), data).status_code == 204


def png(width=400, height=200) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


# -- reads and deletes -------------------------------------------------------------------------

def test_head_get_and_delete(emu, sdk):
    store(emu, "uploads/a.txt", b"hello world", [("Content-Type", "text/plain"), ("x-oss-meta-owner", "me")])
    head = sdk.head_object(oss.HeadObjectRequest(bucket=BUCKET, key="uploads/a.txt"))
    assert head.status_code == 200 and head.content_length == 11 and head.content_type == "text/plain"
    assert head.metadata == {"owner": "me"} and head.storage_class == "Standard" and head.object_type == "Normal"
    got = sdk.get_object(oss.GetObjectRequest(bucket=BUCKET, key="uploads/a.txt"))
    assert got.body.read() == b"hello world" and got.etag == head.etag
    ranged = sdk.get_object(oss.GetObjectRequest(bucket=BUCKET, key="uploads/a.txt", range_header="bytes=6-"))
    assert ranged.status_code == 206 and ranged.body.read() == b"world"
    deleted = sdk.delete_object(oss.DeleteObjectRequest(bucket=BUCKET, key="uploads/a.txt"))
    assert deleted.status_code == 204
    assert sdk.delete_object(oss.DeleteObjectRequest(bucket=BUCKET, key="uploads/a.txt")).status_code == 204


def test_head_errors_carry_their_code_for_the_sdk(emu, sdk):
    error = service_error(lambda: sdk.head_object(oss.HeadObjectRequest(bucket=BUCKET, key="nope.txt")))
    assert (error.status_code, error.code, error.ec) == (404, "NoSuchKey", "0026-00000001")
    assert len(error.request_id) == 24
    init = sdk.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=BUCKET, key="uploads/cold.bin",
                                                                            storage_class="Archive"))
    sdk.upload_part(oss.UploadPartRequest(bucket=BUCKET, key="uploads/cold.bin", upload_id=init.upload_id,
                                          part_number=1, body=b"x"))
    sdk.complete_multipart_upload(oss.CompleteMultipartUploadRequest(bucket=BUCKET, key="uploads/cold.bin",
                                                                     upload_id=init.upload_id, complete_all="yes"))
    assert sdk.head_object(oss.HeadObjectRequest(bucket=BUCKET, key="uploads/cold.bin")).storage_class == "Archive"
    cold = service_error(lambda: sdk.get_object(oss.GetObjectRequest(bucket=BUCKET, key="uploads/cold.bin")))
    assert (cold.status_code, cold.code) == (403, "InvalidObjectState")


def test_keys_with_spaces_plus_and_unicode(emu, sdk):
    key = "uploads/a b+c/照片 (1).txt"
    store(emu, key, b"odd")
    assert sdk.get_object(oss.GetObjectRequest(bucket=BUCKET, key=key)).body.read() == b"odd"


def test_wrong_secret_and_unknown_key(emu):
    store(emu, "uploads/a.txt")
    wrong = service_error(lambda: sdk_client(emu, secret="not-it").get_object(
        oss.GetObjectRequest(bucket=BUCKET, key="uploads/a.txt")))
    assert (wrong.status_code, wrong.code) == (403, "SignatureDoesNotMatch")
    unknown = service_error(lambda: sdk_client(emu, key_id="LTAI-nobody").head_object(
        oss.HeadObjectRequest(bucket=BUCKET, key="uploads/a.txt")))
    assert (unknown.status_code, unknown.code) == (403, "InvalidAccessKeyId")


def test_local_sts_credentials(emu):
    store(emu, "uploads/a.txt")
    creds = mint(KEY_ID, SECRET, emu.clock(), 900)
    sts = sdk_client(emu, creds.access_key_id, creds.access_key_secret, creds.security_token)
    assert sts.get_object(oss.GetObjectRequest(bucket=BUCKET, key="uploads/a.txt")).body.read() == b"hello"
    emu.clock.advance(900)
    expired = service_error(lambda: sts.head_object(oss.HeadObjectRequest(bucket=BUCKET, key="uploads/a.txt")))
    assert (expired.status_code, expired.code) == (403, "SecurityTokenExpired")


def test_presigned_get_with_a_download_name_and_a_thumbnail(emu, sdk):
    store(emu, "uploads/p.png", png(), [("Content-Type", "image/png")])
    disposition = "attachment; filename=\"x y.png\"; filename*=UTF-8''%E7%85%A7%E7%89%87.png"
    expiration = emu.clock() + timedelta(seconds=600)
    download = sdk.presign(oss.GetObjectRequest(bucket=BUCKET, key="uploads/p.png",
                                                response_content_disposition=disposition), expiration=expiration)
    got = requests.get(download.url, timeout=5)
    assert got.status_code == 200 and got.headers["Content-Disposition"] == disposition
    assert got.content == png()
    thumb = sdk.presign(oss.GetObjectRequest(bucket=BUCKET, key="uploads/p.png", process="image/resize,w_100"),
                        expiration=expiration)
    small = requests.get(thumb.url, timeout=5)
    assert small.status_code == 200 and small.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(small.content)).size == (100, 50)
    emu.clock.advance(601)
    late = requests.get(download.url, timeout=5)
    assert late.status_code == 403 and error_code(late) == "AccessDenied"


def test_presigned_head(emu, sdk):
    store(emu, "uploads/a.txt")
    head = sdk.presign(oss.HeadObjectRequest(bucket=BUCKET, key="uploads/a.txt"),
                       expiration=emu.clock() + timedelta(seconds=60))
    assert requests.head(head.url, timeout=5).headers["Content-Length"] == "5"


# -- multipart -----------------------------------------------------------------------------------

def test_multipart_initiate_upload_list_complete(emu, sdk):
    key = "uploads/big video.mp4"
    init = sdk.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(
        bucket=BUCKET, key=key, content_type="video/mp4", metadata={"owner": "me"}))
    assert init.key == key and len(init.upload_id) == 32
    chunks = [b"a" * (100 * KIB), b"b" * (150 * KIB), b"tail"]
    etags = []
    for number, chunk in enumerate(chunks, 1):
        part = sdk.upload_part(oss.UploadPartRequest(bucket=BUCKET, key=key, upload_id=init.upload_id,
                                                     part_number=number, body=chunk))
        etags.append(part.etag)
    listed = sdk.list_parts(oss.ListPartsRequest(bucket=BUCKET, key=key, upload_id=init.upload_id))
    assert [(p.part_number, p.size, p.etag) for p in listed.parts] == [
        (1, 100 * KIB, etags[0]), (2, 150 * KIB, etags[1]), (3, 4, etags[2])]
    assert listed.is_truncated is False and listed.key == key
    page = sdk.list_parts(oss.ListPartsRequest(bucket=BUCKET, key=key, upload_id=init.upload_id, max_parts=2))
    assert [p.part_number for p in page.parts] == [1, 2] and page.is_truncated and page.next_part_number_marker == 2
    rest = sdk.list_parts(oss.ListPartsRequest(bucket=BUCKET, key=key, upload_id=init.upload_id,
                                               part_number_marker=2))
    assert [p.part_number for p in rest.parts] == [3]
    done = sdk.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket=BUCKET, key=key, upload_id=init.upload_id,
        complete_multipart_upload=oss.CompleteMultipartUpload(
            parts=[oss.UploadPart(part_number=n, etag=e) for n, e in enumerate(etags, 1)])))
    assert done.key == key and done.etag.endswith('-3"')
    head = sdk.head_object(oss.HeadObjectRequest(bucket=BUCKET, key=key))
    assert head.content_type == "video/mp4" and head.metadata == {"owner": "me"} and head.etag == done.etag
    assert head.object_type == "Multipart" and head.content_length == 250 * KIB + 4
    assert sdk.get_object(oss.GetObjectRequest(bucket=BUCKET, key=key)).body.read() == b"".join(chunks)
    gone = service_error(lambda: sdk.list_parts(oss.ListPartsRequest(bucket=BUCKET, key=key,
                                                                      upload_id=init.upload_id)))
    assert (gone.status_code, gone.code) == (404, "NoSuchUpload")


def test_multipart_complete_all_and_abort(emu, sdk):
    init = sdk.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=BUCKET, key="uploads/x.bin"))
    sdk.upload_part(oss.UploadPartRequest(bucket=BUCKET, key="uploads/x.bin", upload_id=init.upload_id,
                                          part_number=1, body=b"only part"))
    done = sdk.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket=BUCKET, key="uploads/x.bin", upload_id=init.upload_id, complete_all="yes"))
    assert done.status_code == 200
    assert sdk.get_object(oss.GetObjectRequest(bucket=BUCKET, key="uploads/x.bin")).body.read() == b"only part"

    other = sdk.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=BUCKET, key="uploads/y.bin"))
    sdk.upload_part(oss.UploadPartRequest(bucket=BUCKET, key="uploads/y.bin", upload_id=other.upload_id,
                                          part_number=1, body=b"dropped"))
    aborted = sdk.abort_multipart_upload(oss.AbortMultipartUploadRequest(
        bucket=BUCKET, key="uploads/y.bin", upload_id=other.upload_id))
    assert aborted.status_code == 204
    again = service_error(lambda: sdk.abort_multipart_upload(oss.AbortMultipartUploadRequest(
        bucket=BUCKET, key="uploads/y.bin", upload_id=other.upload_id)))
    assert (again.status_code, again.code) == (404, "NoSuchUpload")
    missing = service_error(lambda: sdk.head_object(oss.HeadObjectRequest(bucket=BUCKET, key="uploads/y.bin")))
    assert missing.status_code == 404


def test_presigned_upload_part_with_a_signed_content_type(emu, sdk):
    init = sdk.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=BUCKET, key="uploads/v.mp4"))
    expiration = emu.clock() + timedelta(seconds=900)
    signed = sdk.presign(oss.UploadPartRequest(bucket=BUCKET, key="uploads/v.mp4", upload_id=init.upload_id,
                                               part_number=1,
                                               headers={"Content-Type": "application/octet-stream"}),
                         expiration=expiration)
    assert signed.method == "PUT" and signed.signed_headers == {"Content-Type": "application/octet-stream"}
    # wx.request sends application/json unless told otherwise: the signature covers the type.
    wrong = requests.put(signed.url, data=b"part", headers={"Content-Type": "application/json"}, timeout=5)
    assert wrong.status_code == 403 and error_code(wrong) == "SignatureDoesNotMatch"
    put = requests.put(signed.url, data=b"part bytes", headers=signed.signed_headers, timeout=5)
    assert put.status_code == 200 and put.headers["ETag"] == '"%s"' % hashlib.md5(b"part bytes").hexdigest().upper()
    listed = sdk.list_parts(oss.ListPartsRequest(bucket=BUCKET, key="uploads/v.mp4", upload_id=init.upload_id))
    assert [(p.part_number, p.size, p.etag) for p in listed.parts] == [(1, 10, put.headers["ETag"])]
    complete = sdk.presign(oss.CompleteMultipartUploadRequest(bucket=BUCKET, key="uploads/v.mp4",
                                                              upload_id=init.upload_id, complete_all="yes"),
                           expiration=expiration)
    done = requests.post(complete.url, headers=complete.signed_headers, timeout=5)
    assert done.status_code == 200, done.text
    assert sdk.get_object(oss.GetObjectRequest(bucket=BUCKET, key="uploads/v.mp4")).body.read() == b"part bytes"


# -- bucket listings (one emulator for the module) -------------------------------------------------

LISTED = ["list/a/1.txt", "list/a/2.txt", "list/b.txt", "list/c d+e.txt", "list/z/9.txt", "list/中.txt"]


@pytest.fixture(scope="module")
def listed(shared):
    for key in LISTED + ["other.txt"]:
        store(shared, key, key.encode())
    return shared


def test_list_objects_v2_groups_pages_and_decodes(listed, shared_sdk):
    result = shared_sdk.list_objects_v2(oss.ListObjectsV2Request(bucket=BUCKET, prefix="list/", delimiter="/"))
    assert [c.key for c in result.contents] == ["list/b.txt", "list/c d+e.txt", "list/中.txt"]
    assert [p.prefix for p in result.common_prefixes] == ["list/a/", "list/z/"]
    assert result.key_count == 5 and result.is_truncated is False and result.max_keys == 100
    first = result.contents[0]
    assert (first.size, first.etag, first.object_type, first.storage_class) == (
        10, '"%s"' % hashlib.md5(b"list/b.txt").hexdigest().upper(), "Normal", "Standard")
    assert first.last_modified is not None and first.owner is None
    owned = shared_sdk.list_objects_v2(oss.ListObjectsV2Request(bucket=BUCKET, prefix="list/b", fetch_owner=True))
    assert owned.contents[0].owner.id

    pages = list(shared_sdk.list_objects_v2_paginator().iter_page(
        oss.ListObjectsV2Request(bucket=BUCKET, prefix="list/", max_keys=2)))
    assert [len(p.contents) for p in pages] == [2, 2, 2]
    assert [c.key for p in pages for c in p.contents] == sorted(LISTED)
    assert pages[0].is_truncated and pages[0].next_continuation_token and not pages[-1].is_truncated
    after = shared_sdk.list_objects_v2(oss.ListObjectsV2Request(bucket=BUCKET, start_after="list/b.txt",
                                                                prefix="list/", delimiter="/"))
    assert [c.key for c in after.contents] + [p.prefix for p in after.common_prefixes] == [
        "list/c d+e.txt", "list/中.txt", "list/z/"]
    assert after.start_after == "list/b.txt"


def test_list_objects_v1_pages_by_marker(listed, shared_sdk):
    first = shared_sdk.list_objects(oss.ListObjectsRequest(bucket=BUCKET, prefix="list/", delimiter="/", max_keys=2))
    assert [p.prefix for p in first.common_prefixes] == ["list/a/"] and [c.key for c in first.contents] == [
        "list/b.txt"]
    assert first.is_truncated and first.next_marker == "list/b.txt"
    assert first.contents[0].owner.id  # ListObjects always names the owner
    rest = shared_sdk.list_objects(oss.ListObjectsRequest(bucket=BUCKET, prefix="list/", delimiter="/",
                                                          marker="list/a/"))
    assert [c.key for c in rest.contents] == ["list/b.txt", "list/c d+e.txt", "list/中.txt"]
    assert [p.prefix for p in rest.common_prefixes] == ["list/z/"] and rest.is_truncated is False
    everything = shared_sdk.list_objects(oss.ListObjectsRequest(bucket=BUCKET))
    assert [c.key for c in everything.contents] == sorted(LISTED + ["other.txt"])


def test_list_refusals_and_empty_parameters(listed, shared_sdk):
    for bad in (0, 1001):
        error = service_error(lambda: shared_sdk.list_objects_v2(oss.ListObjectsV2Request(bucket=BUCKET,
                                                                                          max_keys=bad)))
        assert (error.status_code, error.code) == (400, "InvalidArgument")
    token = service_error(lambda: shared_sdk.list_objects_v2(oss.ListObjectsV2Request(
        bucket=BUCKET, continuation_token="%%%")))
    assert token.code == "InvalidArgument"
    http = listed.http  # signed by the SDK's V4 signer
    empty = http.get(listed.url + "/?list-type=2&max-keys=&prefix=list%2Fa&continuation-token=&delimiter=",
                     timeout=5)
    assert empty.status_code == 200 and empty.text.count("<Contents>") == 2 and "<MaxKeys>100</MaxKeys>" in empty.text
    anonymous = requests.get(listed.url + "/?list-type=2", timeout=5)
    assert anonymous.status_code == 403 and error_code(anonymous) == "AccessDenied"
    wrong = service_error(lambda: sdk_client(listed, secret="not-it").list_objects_v2(
        oss.ListObjectsV2Request(bucket=BUCKET)))
    assert (wrong.status_code, wrong.code) == (403, "SignatureDoesNotMatch")
    unsupported = http.get(listed.url + "/?cors", timeout=5)
    assert unsupported.status_code == 501 and error_code(unsupported) == "NotImplemented"


def test_presigned_list(listed):
    settings = listed.settings
    query = request_auth.presign("GET", settings.bucket, "", [("list-type", "2"), ("prefix", "list/a/")], KEY_ID,
                                 SECRET, settings.region, listed.clock(), 60)
    got = requests.get(f"{listed.url}/?{query}", timeout=5)
    assert got.status_code == 200 and got.text.count("<Key>list/a/") == 2
    tampered = requests.get(f"{listed.url}/?{query.replace('list%2Fa%2F', 'list%2F')}", timeout=5)
    assert tampered.status_code == 403 and error_code(tampered) == "SignatureDoesNotMatch"


def test_list_multipart_uploads(shared, shared_sdk):
    def start(key):
        return shared_sdk.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=BUCKET, key=key)).upload_id

    ids = {key: sorted(start(key) for _ in range(count)) for key, count in
           (("mpu/b.bin", 2), ("mpu/a 中.bin", 1), ("mpu/dir/c.bin", 1))}
    listed = shared_sdk.list_multipart_uploads(oss.ListMultipartUploadsRequest(bucket=BUCKET, prefix="mpu/"))
    assert [(u.key, u.upload_id) for u in listed.uploads] == [
        ("mpu/a 中.bin", ids["mpu/a 中.bin"][0]), ("mpu/b.bin", ids["mpu/b.bin"][0]),
        ("mpu/b.bin", ids["mpu/b.bin"][1]), ("mpu/dir/c.bin", ids["mpu/dir/c.bin"][0])]
    assert listed.uploads[0].initiated is not None and listed.is_truncated is False
    grouped = shared_sdk.list_multipart_uploads(oss.ListMultipartUploadsRequest(bucket=BUCKET, prefix="mpu/",
                                                                                delimiter="/"))
    assert [u.key for u in grouped.uploads] == ["mpu/a 中.bin", "mpu/b.bin", "mpu/b.bin"]
    page = shared_sdk.list_multipart_uploads(oss.ListMultipartUploadsRequest(bucket=BUCKET, prefix="mpu/",
                                                                             max_uploads=2))
    assert page.is_truncated and (page.next_key_marker, page.next_upload_id_marker) == ("mpu/b.bin",
                                                                                        ids["mpu/b.bin"][0])
    rest = shared_sdk.list_multipart_uploads(oss.ListMultipartUploadsRequest(
        bucket=BUCKET, prefix="mpu/", key_marker=page.next_key_marker, upload_id_marker=page.next_upload_id_marker))
    assert [u.upload_id for u in rest.uploads] == [ids["mpu/b.bin"][1], ids["mpu/dir/c.bin"][0]]
    past_key = shared_sdk.list_multipart_uploads(oss.ListMultipartUploadsRequest(bucket=BUCKET, prefix="mpu/",
                                                                                 key_marker="mpu/b.bin"))
    assert [u.key for u in past_key.uploads] == ["mpu/dir/c.bin"]
    for key, upload_ids in ids.items():
        for upload_id in upload_ids:
            shared_sdk.abort_multipart_upload(oss.AbortMultipartUploadRequest(bucket=BUCKET, key=key,
                                                                              upload_id=upload_id))
    after = shared_sdk.list_multipart_uploads(oss.ListMultipartUploadsRequest(bucket=BUCKET, prefix="mpu/"))
    assert after.uploads is None or after.uploads == []


def test_the_console_moved_off_the_bucket(listed):
    page = requests.get(listed.url + "/-/console", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "list/中.txt" in page.text


# -- writes: PutObject, CRC-64, ACL, CopyObject, DeleteMultipleObjects -----------------------------

def crc64_of(data: bytes) -> str:
    from oss_emulator.crc64 import crc64
    return str(crc64(data))


def test_put_object_with_headers_and_crc64(shared, shared_sdk):
    key = "w/put 文件.txt"
    put = shared_sdk.put_object(oss.PutObjectRequest(
        bucket=BUCKET, key=key, body=b"put body", content_type="text/plain", metadata={"owner": "me"},
        storage_class="IA", acl="public-read"))
    assert put.status_code == 200 and put.hash_crc64 == crc64_of(b"put body")  # the SDK checked it as well
    assert put.etag == '"%s"' % hashlib.md5(b"put body").hexdigest().upper()
    got = shared_sdk.get_object(oss.GetObjectRequest(bucket=BUCKET, key=key))
    assert got.body.read() == b"put body" and got.hash_crc64 == put.hash_crc64
    assert (got.content_type, got.metadata, got.storage_class) == ("text/plain", {"owner": "me"}, "IA")
    assert requests.get(f"{shared.url}/w/put%20%E6%96%87%E4%BB%B6.txt", timeout=5).content == b"put body"  # public

    refused = service_error(lambda: shared_sdk.put_object(oss.PutObjectRequest(
        bucket=BUCKET, key=key, body=b"again", forbid_overwrite=True)))
    assert (refused.status_code, refused.code) == (409, "FileAlreadyExists")
    digest = service_error(lambda: shared_sdk.put_object(oss.PutObjectRequest(
        bucket=BUCKET, key="w/md5.txt", body=b"abc", content_md5="XUFAKrxLKna5cZ2REBfFkg==")))
    assert (digest.status_code, digest.code) == (400, "InvalidDigest")
    bad_class = service_error(lambda: shared_sdk.put_object(oss.PutObjectRequest(
        bucket=BUCKET, key="w/c.txt", body=b"abc", storage_class="Hot")))
    assert bad_class.code == "InvalidArgument"
    for missing in ("w/md5.txt", "w/c.txt"):
        assert service_error(lambda: shared_sdk.head_object(oss.HeadObjectRequest(
            bucket=BUCKET, key=missing))).status_code == 404


def test_post_object_answers_with_its_crc64(shared):
    response = shared.post(shared.sign("w/posted.txt"), b"posted")
    assert response.status_code == 204 and response.headers["x-oss-hash-crc64ecma"] == crc64_of(b"posted")


def test_presigned_put_and_multipart_crc64(shared, shared_sdk):
    signed = shared_sdk.presign(oss.PutObjectRequest(bucket=BUCKET, key="w/presigned.bin",
                                                     content_type="application/octet-stream"),
                                expiration=shared.clock() + timedelta(seconds=60))
    put = requests.put(signed.url, data=b"presigned", headers=signed.signed_headers, timeout=5)
    assert put.status_code == 200 and put.headers["x-oss-hash-crc64ecma"] == crc64_of(b"presigned")
    anonymous = requests.put(f"{shared.url}/w/anonymous.bin", data=b"x", timeout=5)
    assert anonymous.status_code == 403 and error_code(anonymous) == "AccessDenied"

    init = shared_sdk.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=BUCKET, key="w/mp.bin"))
    chunks = [b"a" * (100 * KIB), b"tail"]
    for number, chunk in enumerate(chunks, 1):
        part = shared_sdk.upload_part(oss.UploadPartRequest(bucket=BUCKET, key="w/mp.bin", upload_id=init.upload_id,
                                                            part_number=number, body=chunk))
        assert part.hash_crc64 == crc64_of(chunk)
    done = shared_sdk.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket=BUCKET, key="w/mp.bin", upload_id=init.upload_id, complete_all="yes"))
    assert done.hash_crc64 == crc64_of(b"".join(chunks))
    head = shared_sdk.head_object(oss.HeadObjectRequest(bucket=BUCKET, key="w/mp.bin"))
    assert head.hash_crc64 == done.hash_crc64


def test_object_acl(shared, shared_sdk):
    shared_sdk.put_object(oss.PutObjectRequest(bucket=BUCKET, key="w/acl.txt", body=b"acl"))
    assert shared_sdk.get_object_acl(oss.GetObjectAclRequest(bucket=BUCKET, key="w/acl.txt")).acl == "default"
    assert requests.get(f"{shared.url}/w/acl.txt", timeout=5).status_code == 403
    shared_sdk.put_object_acl(oss.PutObjectAclRequest(bucket=BUCKET, key="w/acl.txt", acl="public-read"))
    got = shared_sdk.get_object_acl(oss.GetObjectAclRequest(bucket=BUCKET, key="w/acl.txt"))
    assert got.acl == "public-read" and got.owner.id
    assert requests.get(f"{shared.url}/w/acl.txt", timeout=5).content == b"acl"
    bad = service_error(lambda: shared_sdk.put_object_acl(oss.PutObjectAclRequest(
        bucket=BUCKET, key="w/acl.txt", acl="everyone")))
    assert bad.code == "InvalidArgument"
    missing = service_error(lambda: shared_sdk.get_object_acl(oss.GetObjectAclRequest(bucket=BUCKET,
                                                                                       key="w/none.txt")))
    assert (missing.status_code, missing.code) == (404, "NoSuchKey")


def test_copy_object(shared, shared_sdk):
    shared_sdk.put_object(oss.PutObjectRequest(bucket=BUCKET, key="w/src 源.txt", body=b"source",
                                               content_type="text/plain", metadata={"a": "1"}))
    copied = shared_sdk.copy_object(oss.CopyObjectRequest(bucket=BUCKET, key="w/dst.txt", source_key="w/src 源.txt"))
    assert copied.status_code == 200 and copied.etag == '"%s"' % hashlib.md5(b"source").hexdigest().upper()
    assert copied.hash_crc64 == crc64_of(b"source") and copied.last_modified is not None
    head = shared_sdk.head_object(oss.HeadObjectRequest(bucket=BUCKET, key="w/dst.txt"))
    assert (head.content_type, head.metadata) == ("text/plain", {"a": "1"})
    replaced = shared_sdk.copy_object(oss.CopyObjectRequest(
        bucket=BUCKET, key="w/dst.txt", source_key="w/src 源.txt", metadata_directive="REPLACE",
        content_type="text/csv", metadata={"b": "2"}))
    assert replaced.status_code == 200
    head = shared_sdk.head_object(oss.HeadObjectRequest(bucket=BUCKET, key="w/dst.txt"))
    assert (head.content_type, head.metadata) == ("text/csv", {"b": "2"})
    assert shared_sdk.get_object(oss.GetObjectRequest(bucket=BUCKET, key="w/dst.txt")).body.read() == b"source"

    forbidden = service_error(lambda: shared_sdk.copy_object(oss.CopyObjectRequest(
        bucket=BUCKET, key="w/dst.txt", source_key="w/src 源.txt", forbid_overwrite=True)))
    assert (forbidden.status_code, forbidden.code) == (409, "FileAlreadyExists")
    missing = service_error(lambda: shared_sdk.copy_object(oss.CopyObjectRequest(
        bucket=BUCKET, key="w/x.txt", source_key="w/none.txt")))
    assert (missing.status_code, missing.code) == (404, "NoSuchKey")
    other = service_error(lambda: shared_sdk.copy_object(oss.CopyObjectRequest(
        bucket=BUCKET, key="w/x.txt", source_bucket="another-bucket", source_key="w/src 源.txt")))
    assert (other.status_code, other.code) == (404, "NoSuchBucket")
    failed = service_error(lambda: shared_sdk.copy_object(oss.CopyObjectRequest(
        bucket=BUCKET, key="w/x.txt", source_key="w/src 源.txt", if_match='"0000"')))
    assert (failed.status_code, failed.code) == (412, "PreconditionFailed")


def test_delete_multiple_objects(shared, shared_sdk):
    keys = ["w/del/a.txt", "w/del/b c.txt", "w/del/中.txt"]
    for key in keys:
        shared_sdk.put_object(oss.PutObjectRequest(bucket=BUCKET, key=key, body=b"x"))
    result = shared_sdk.delete_multiple_objects(oss.DeleteMultipleObjectsRequest(
        bucket=BUCKET, objects=[oss.DeleteObject(key=k) for k in keys + ["w/del/never.txt"]]))
    assert [d.key for d in result.deleted_objects] == keys + ["w/del/never.txt"]
    assert shared_sdk.list_objects_v2(oss.ListObjectsV2Request(bucket=BUCKET, prefix="w/del/")).key_count == 0
    shared_sdk.put_object(oss.PutObjectRequest(bucket=BUCKET, key="w/del/q.txt", body=b"x"))
    quiet = shared_sdk.delete_multiple_objects(oss.DeleteMultipleObjectsRequest(
        bucket=BUCKET, objects=[oss.DeleteObject(key="w/del/q.txt")], quiet=True))
    assert quiet.status_code == 200 and not quiet.deleted_objects
    body = b"<Delete><Object><Key>w/del/z</Key></Object></Delete>"
    no_md5 = shared.http.post(f"{shared.url}/?delete", data=body, timeout=5)
    assert no_md5.status_code == 400
    wrong_md5 = shared.http.post(f"{shared.url}/?delete", data=body, timeout=5,
                                 headers={"Content-MD5": "XUFAKrxLKna5cZ2REBfFkg=="})
    assert wrong_md5.status_code == 400 and error_code(wrong_md5) == "InvalidDigest"


def test_default_settings_send_path_style_requests_to_an_ip_endpoint(shared):
    """Without AddressStyle.CName the SDK sends `/<bucket>/<key>` to an IP endpoint (signed the same)."""
    session = requests.Session()
    session.trust_env = False
    config = oss.Config(region="cn-hangzhou", endpoint=shared.url, retryer=oss.retry.NopRetryer(),
                        credentials_provider=oss.credentials.StaticCredentialsProvider(KEY_ID, SECRET),
                        http_client=oss.transport.RequestsHttpClient(session=session))
    client = oss.Client(config, signer=ClockSigner(shared.clock))
    client.put_object(oss.PutObjectRequest(bucket=BUCKET, key="path/style.txt", body=b"path style"))
    assert client.get_object(oss.GetObjectRequest(bucket=BUCKET, key="path/style.txt")).body.read() == b"path style"
    assert [c.key for c in client.list_objects_v2(oss.ListObjectsV2Request(bucket=BUCKET, prefix="path/")).contents] \
        == ["path/style.txt"]
    other = service_error(lambda: client.get_object(oss.GetObjectRequest(bucket="another-bucket",
                                                                         key="path/style.txt")))
    assert (other.status_code, other.code) == (404, "NoSuchBucket")
    wrong = service_error(lambda: oss.Client(config, signer=ClockSigner(shared.clock), credentials_provider=
                                             oss.credentials.StaticCredentialsProvider(KEY_ID, "not-it")).get_object(
        oss.GetObjectRequest(bucket=BUCKET, key="path/style.txt")))
    assert wrong.code == "SignatureDoesNotMatch"

    # The README's first example of the SDK: list the buckets, then ask whether a bucket exists.
    pages = list(client.list_buckets_paginator().iter_page(oss.ListBucketsRequest()))
    assert [(b.name, b.region, b.location) for page in pages for b in page.buckets] == \
        [(BUCKET, "cn-hangzhou", "oss-cn-hangzhou")]
    assert client.list_buckets(oss.ListBucketsRequest(prefix="zz")).buckets in (None, [])
    assert client.is_bucket_exist(BUCKET) and not client.is_bucket_exist("another-bucket")
    assert client.is_object_exist(BUCKET, "path/style.txt") and not client.is_object_exist(BUCKET, "path/none.txt")
    info = client.get_bucket_info(oss.GetBucketInfoRequest(bucket=BUCKET)).bucket_info
    assert (info.name, info.location, info.acl, info.storage_class) == (BUCKET, "oss-cn-hangzhou", "private", "Standard")
    assert client.get_bucket_location(oss.GetBucketLocationRequest(bucket=BUCKET)).location == "oss-cn-hangzhou"
    assert client.get_bucket_acl(oss.GetBucketAclRequest(bucket=BUCKET)).acl == "private"
