"""The multipart API over raw HTTP (header-signed): XML shapes, OSS's error codes, and what is on disk."""
from __future__ import annotations

import base64
import hashlib
import os
import threading
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
import requests
from werkzeug.wrappers import Response

from oss_emulator.multipart import MIN_PART_SIZE
from tests.ossform import error_code, error_message

KEY = "uploads/video.mp4"
BIG = b"a" * MIN_PART_SIZE


def initiate(emu, key=KEY, headers=None, query="uploads"):
    response = emu.http.post(f"{emu.url}/{quote(key)}?{query}", headers=headers or {})
    assert response.status_code == 200, response.text
    return ET.fromstring(response.content)


def upload_id(emu, key=KEY, headers=None):
    return initiate(emu, key, headers).findtext("UploadId")


def put_part(emu, uid, number, data, key=KEY, headers=None):
    return emu.http.put(f"{emu.url}/{quote(key)}?partNumber={number}&uploadId={quote(uid, safe='')}", data=data,
                        headers=headers or {})


def complete(emu, uid, parts, key=KEY, headers=None):
    body = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in parts) + "</CompleteMultipartUpload>"
    return emu.http.post(f"{emu.url}/{quote(key)}?uploadId={quote(uid, safe='')}", data=body.encode(),
                         headers=headers or {})


def list_parts(emu, uid, key=KEY, query=""):
    return emu.http.get(f"{emu.url}/{quote(key)}?uploadId={quote(uid, safe='')}{query}")


def md5_etag(data: bytes) -> str:
    return '"%s"' % hashlib.md5(data).hexdigest().upper()


def multipart_etag(*chunks) -> str:
    digest = hashlib.md5(b"".join(hashlib.md5(c).digest() for c in chunks)).hexdigest().upper()
    return f'"{digest}-{len(chunks)}"'


def upload_dirs(emu):
    root = os.path.join(emu.directory, "multipart")
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


# -- Initiate ------------------------------------------------------------------------------------

def test_initiate_answers_oss_xml(emu):
    root = initiate(emu)
    assert root.tag == "InitiateMultipartUploadResult"
    assert root.findtext("Bucket") == "test-bucket" and root.findtext("Key") == KEY
    assert len(root.findtext("UploadId")) == 32 and root.findtext("EncodingType") is None
    encoded = initiate(emu, "uploads/a b+c.mp4", query="uploads&encoding-type=url")
    assert encoded.findtext("EncodingType") == "url" and encoded.findtext("Key") == "uploads/a%20b%2Bc.mp4"


def test_initiate_needs_a_signature(emu):
    response = requests.post(f"{emu.url}/{KEY}?uploads", timeout=5)
    assert response.status_code == 403 and error_code(response) == "AccessDenied"
    assert upload_dirs(emu) == []


@pytest.mark.parametrize("header,value", [("x-oss-storage-class", "Glacier"), ("x-oss-object-acl", "everyone"),
                                          ("x-oss-forbid-overwrite", "maybe"), ("x-oss-meta-a", "\x01")])
def test_initiate_refuses_values_oss_refuses(emu, header, value):
    response = emu.http.post(f"{emu.url}/{KEY}?uploads", headers={header: value})
    assert response.status_code == 400 and error_code(response) == "InvalidArgument"
    assert upload_dirs(emu) == []


def test_initiate_with_forbid_overwrite_on_an_existing_key(emu):
    assert emu.post(emu.sign(KEY), b"there").status_code == 204
    response = emu.http.post(f"{emu.url}/{KEY}?uploads", headers={"x-oss-forbid-overwrite": "true"})
    assert response.status_code == 409 and error_code(response) == "FileAlreadyExists"


# -- UploadPart --------------------------------------------------------------------------------

def test_upload_part_etag_and_a_re_upload_replaces_the_part(emu):
    uid = upload_id(emu)
    first = put_part(emu, uid, 1, b"first version")
    assert first.status_code == 200 and first.headers["ETag"] == md5_etag(b"first version")
    second = put_part(emu, uid, 1, b"second")
    assert second.headers["ETag"] == md5_etag(b"second")
    parts = ET.fromstring(list_parts(emu, uid).content).findall("Part")
    assert [(p.findtext("PartNumber"), p.findtext("ETag"), p.findtext("Size")) for p in parts] == [
        ("1", md5_etag(b"second"), "6")]
    on_disk = os.listdir(os.path.join(emu.directory, "multipart", uid))
    assert sorted(n.rsplit(".", 1)[1] for n in on_disk) == ["json", "json", "part"]  # the old bytes are gone


@pytest.mark.parametrize("number", ["0", "10001", "abc", "-1", ""])
def test_part_numbers_outside_1_to_10000(emu, number):
    uid = upload_id(emu)
    response = put_part(emu, uid, number, b"x")
    assert response.status_code == 400 and error_code(response) == "InvalidArgument"
    assert error_message(response) == "Part number must be an integer between 1 and 10000, inclusive."


def test_a_put_with_an_upload_id_but_no_part_number(emu):
    uid = upload_id(emu)
    response = emu.http.put(f"{emu.url}/{KEY}?uploadId={uid}", data=b"x")
    assert response.status_code == 400 and error_code(response) == "InvalidArgument"
    assert response.headers["x-oss-ec"] == "0017-00000219"


@pytest.mark.parametrize("uid", ["0" * 32, "../../meta", "nope", ""])
def test_unknown_upload_ids(emu, uid):
    for response in (put_part(emu, uid, 1, b"x"), list_parts(emu, uid), complete(emu, uid, [(1, '"E"')]),
                     emu.http.delete(f"{emu.url}/{KEY}?uploadId={quote(uid, safe='')}")):
        assert response.status_code == 404 and error_code(response) == "NoSuchUpload"


def test_an_upload_id_belongs_to_its_key(emu):
    uid = upload_id(emu)
    response = put_part(emu, uid, 1, b"x", key="uploads/other.mp4")
    assert response.status_code == 404 and error_code(response) == "NoSuchUpload"


def test_content_md5_is_checked_and_a_mismatching_part_is_not_kept(emu):
    uid = upload_id(emu)
    good = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    assert put_part(emu, uid, 1, b"data", headers={"Content-MD5": good}).status_code == 200
    bad = put_part(emu, uid, 2, b"data", headers={"Content-MD5": base64.b64encode(b"0" * 16).decode()})
    assert bad.status_code == 400 and error_code(bad) == "InvalidDigest"
    assert put_part(emu, uid, 3, b"d", headers={"Content-MD5": "not base64"}).status_code == 400
    numbers = [p.findtext("PartNumber") for p in ET.fromstring(list_parts(emu, uid).content).findall("Part")]
    assert numbers == ["1"]


def test_parts_are_never_an_object_before_complete(emu):
    uid = upload_id(emu)
    put_part(emu, uid, 1, BIG)
    assert emu.http.get(f"{emu.url}/{KEY}").status_code == 404
    assert emu.objects() == [] and "video.mp4" not in requests.get(emu.url + "/-/console", timeout=5).text


# -- ListParts ---------------------------------------------------------------------------------

def test_list_parts_xml_and_paging(emu):
    uid = upload_id(emu, headers={"x-oss-storage-class": "IA"})
    for number in (1, 2, 5):
        put_part(emu, uid, number, b"p%d" % number)
    root = ET.fromstring(list_parts(emu, uid, query="&max-parts=2").content)
    assert root.tag == "ListPartsResult" and root.findtext("UploadId") == uid and root.findtext("Key") == KEY
    assert root.findtext("StorageClass") == "IA" and root.findtext("MaxParts") == "2"
    assert root.findtext("IsTruncated") == "true" and root.findtext("NextPartNumberMarker") == "2"
    assert root.find("Part/LastModified").text.endswith(".000Z")
    rest = ET.fromstring(list_parts(emu, uid, query="&part-number-marker=2").content)
    assert [p.findtext("PartNumber") for p in rest.findall("Part")] == ["5"] and rest.findtext("IsTruncated") == "false"


@pytest.mark.parametrize("query", ["&max-parts=0", "&max-parts=1001", "&max-parts=x", "&part-number-marker=-1"])
def test_list_parts_refuses_bad_arguments(emu, query):
    uid = upload_id(emu)
    response = list_parts(emu, uid, query=query)
    assert response.status_code == 400 and error_code(response) == "InvalidArgument"


# -- Complete ----------------------------------------------------------------------------------

def test_complete_assembles_with_the_initiate_headers_and_the_multipart_etag(emu):
    disposition = "attachment; filename*=UTF-8''%E8%A7%86%E9%A2%91.mp4"
    uid = upload_id(emu, headers={"Content-Type": "video/mp4", "Content-Disposition": disposition,
                                  "x-oss-meta-owner": "me", "Cache-Control": "no-cache"})
    chunks = [BIG, b"b" * (MIN_PART_SIZE + 7), b"tail"]
    etags = [put_part(emu, uid, n, c).headers["ETag"] for n, c in enumerate(chunks, 1)]
    done = complete(emu, uid, list(enumerate(etags, 1)))
    assert done.status_code == 200, done.text
    root = ET.fromstring(done.content)
    assert root.tag == "CompleteMultipartUploadResult"
    assert root.findtext("ETag") == done.headers["ETag"] == multipart_etag(*chunks)
    assert root.findtext("Location") == f"{emu.url}/{KEY}" and root.findtext("Bucket") == "test-bucket"
    got = emu.http.get(f"{emu.url}/{KEY}")
    assert got.content == b"".join(chunks) and got.headers["ETag"] == multipart_etag(*chunks)
    assert got.headers["Content-Type"] == "video/mp4" and got.headers["Content-Disposition"] == disposition
    assert got.headers["x-oss-meta-owner"] == "me" and got.headers["Cache-Control"] == "no-cache"
    assert got.headers["x-oss-object-type"] == "Multipart"
    assert upload_dirs(emu) == [] and not any("/.tmp/" in f for f in emu.files())


def test_complete_with_some_parts_discards_the_others(emu):
    uid = upload_id(emu)
    etags = {n: put_part(emu, uid, n, BIG if n < 3 else b"end").headers["ETag"] for n in (1, 2, 3)}
    done = complete(emu, uid, [(1, etags[1]), (3, etags[3])])  # need not be consecutive
    assert done.status_code == 200
    assert emu.http.get(f"{emu.url}/{KEY}").content == BIG + b"end"
    assert upload_dirs(emu) == []


def test_complete_all(emu):
    uid = upload_id(emu)
    put_part(emu, uid, 2, b"second")
    put_part(emu, uid, 1, BIG)
    done = emu.http.post(f"{emu.url}/{KEY}?uploadId={uid}", headers={"x-oss-complete-all": "yes"})
    assert done.status_code == 200
    assert emu.http.get(f"{emu.url}/{KEY}").content == BIG + b"second"


def test_complete_all_with_a_body_is_refused(emu):
    uid = upload_id(emu)
    etag = put_part(emu, uid, 1, b"x").headers["ETag"]
    response = complete(emu, uid, [(1, etag)], headers={"x-oss-complete-all": "yes"})
    assert response.status_code == 400 and error_code(response) == "InvalidArgument"
    assert error_message(response) == "Should not speficy both complete all header and http body."
    assert response.headers["x-oss-ec"] == "0042-00000216"


def refused_and_nothing_assembled(emu, response, code, uid):
    assert response.status_code == 400 and error_code(response) == code, response.text
    assert emu.objects() == [] and list_parts(emu, uid).status_code == 200  # the upload is still there


def test_invalid_part(emu):
    uid = upload_id(emu)
    etag = put_part(emu, uid, 1, b"x").headers["ETag"]
    refused_and_nothing_assembled(emu, complete(emu, uid, [(2, etag)]), "InvalidPart", uid)
    refused_and_nothing_assembled(emu, complete(emu, uid, [(1, md5_etag(b"other"))]), "InvalidPart", uid)


@pytest.mark.parametrize("order", [(2, 1), (1, 1)])
def test_invalid_part_order(emu, order):
    uid = upload_id(emu)
    etags = {n: put_part(emu, uid, n, BIG).headers["ETag"] for n in (1, 2)}
    response = complete(emu, uid, [(n, etags[n]) for n in order])
    refused_and_nothing_assembled(emu, response, "InvalidPartOrder", uid)
    assert error_message(response) == "The list of parts was not in ascending order."


def test_every_part_but_the_last_must_be_100_kib(emu):
    uid = upload_id(emu)
    small = put_part(emu, uid, 1, b"s" * (MIN_PART_SIZE - 1)).headers["ETag"]
    last = put_part(emu, uid, 2, b"x").headers["ETag"]
    refused_and_nothing_assembled(emu, complete(emu, uid, [(1, small), (2, last)]), "EntityTooSmall", uid)
    assert complete(emu, uid, [(1, small)]).status_code == 200  # a small last (only) part is fine


@pytest.mark.parametrize("body", [b"", b"not xml", b"<Other/>", b"<CompleteMultipartUpload/>",
                                  b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part>"
                                  b"</CompleteMultipartUpload>",
                                  b'<!DOCTYPE a [<!ENTITY e "x">]><CompleteMultipartUpload/>'])
def test_malformed_part_lists(emu, body):
    uid = upload_id(emu)
    put_part(emu, uid, 1, b"x")
    response = emu.http.post(f"{emu.url}/{KEY}?uploadId={uid}", data=body)
    refused_and_nothing_assembled(emu, response, "MalformedXML", uid)


def test_forbid_overwrite_at_complete(emu):
    assert emu.post(emu.sign(KEY), b"original").status_code == 204
    uid = upload_id(emu)
    etag = put_part(emu, uid, 1, b"new").headers["ETag"]
    response = complete(emu, uid, [(1, etag)], headers={"x-oss-forbid-overwrite": "true"})
    assert response.status_code == 409 and error_code(response) == "FileAlreadyExists"
    assert emu.http.get(f"{emu.url}/{KEY}").content == b"original"
    assert complete(emu, uid, [(1, etag)]).status_code == 200  # without it, the object is replaced
    assert emu.http.get(f"{emu.url}/{KEY}").content == b"new"


def test_forbid_overwrite_given_at_initiate_holds_at_complete(emu):
    uid = upload_id(emu, headers={"x-oss-forbid-overwrite": "true"})
    etag = put_part(emu, uid, 1, b"new").headers["ETag"]
    assert emu.post(emu.sign(KEY), b"came first").status_code == 204
    response = complete(emu, uid, [(1, etag)])
    assert response.status_code == 409 and error_code(response) == "FileAlreadyExists"
    assert emu.http.get(f"{emu.url}/{KEY}").content == b"came first"


def test_complete_twice_is_no_such_upload(emu):
    uid = upload_id(emu)
    etag = put_part(emu, uid, 1, b"x").headers["ETag"]
    assert complete(emu, uid, [(1, etag)]).status_code == 200
    again = complete(emu, uid, [(1, etag)])
    assert again.status_code == 404 and error_code(again) == "NoSuchUpload"


def test_the_callback_hook_runs_after_the_object_is_stored(tmp_path, clock):
    from server.config import load_settings
    from oss_emulator import create_emulator_app
    from tests.local_oss_support import SdkSigned
    from tests.net import serve

    settings = load_settings({"CREDENTIALS_TYPE": "local", "OSS_BUCKET": "test-bucket", "OSS_REGION": "cn-hangzhou"})
    app = create_emulator_app(settings, clock=clock, storage_dir=str(tmp_path / "oss"))
    seen = []

    def hook(request):
        seen.append(request.headers["x-oss-callback"])
        return lambda obj: Response(f'{{"key": "{obj.key}", "size": {obj.size}}}', content_type="application/json")

    app.multipart.callback = hook
    auth = SdkSigned(settings.bucket, clock, settings.local_access_key_id, settings.local_access_key_secret)
    with serve(app) as base, requests.Session() as http:
        http.auth = auth
        uid = ET.fromstring(http.post(f"{base}/{KEY}?uploads").content).findtext("UploadId")
        etag = http.put(f"{base}/{KEY}?partNumber=1&uploadId={uid}", data=b"abc").headers["ETag"]
        body = f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part>" \
               "</CompleteMultipartUpload>"
        done = http.post(f"{base}/{KEY}?uploadId={uid}", data=body, headers={"x-oss-callback": "e30="})
    assert done.status_code == 200 and done.json() == {"key": KEY, "size": 3} and seen == ["e30="]


# -- Abort and crashes -------------------------------------------------------------------------

def test_abort_removes_every_part(emu):
    uid = upload_id(emu)
    put_part(emu, uid, 1, BIG)
    response = emu.http.delete(f"{emu.url}/{KEY}?uploadId={uid}")
    assert response.status_code == 204 and response.content == b""
    assert upload_dirs(emu) == [] and emu.objects() == []
    again = emu.http.delete(f"{emu.url}/{KEY}?uploadId={uid}")
    assert again.status_code == 404 and error_code(again) == "NoSuchUpload"
    late = put_part(emu, uid, 2, b"late")
    assert late.status_code == 404 and error_code(late) == "NoSuchUpload"


def test_parts_racing_an_abort_never_leave_files(emu):
    uid = upload_id(emu)
    start = threading.Barrier(5)
    codes = []

    def upload(n):
        start.wait(5)
        codes.append(put_part(emu, uid, n, b"z" * 200_000).status_code)

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    start.wait(5)
    assert emu.http.delete(f"{emu.url}/{KEY}?uploadId={uid}").status_code == 204
    for thread in threads:
        thread.join(10)
    assert set(codes) <= {200, 404} and len(codes) == 4
    assert upload_dirs(emu) == [] and emu.objects() == []


def test_start_up_sweeps_what_a_crash_left(tmp_path, clock):
    from server.config import load_settings
    from oss_emulator import create_emulator_app

    settings = load_settings({"CREDENTIALS_TYPE": "local"})
    root = tmp_path / "oss" / "multipart"
    (root / ".gone-ABC-123").mkdir(parents=True)
    (root / ".gone-ABC-123" / "00001-x.part").write_bytes(b"half removed")
    upload = root / ("A" * 32)
    upload.mkdir()
    stale = upload / ".00001-dead.tmp"
    stale.write_bytes(b"never finished")
    os.utime(stale, (1, 1))
    create_emulator_app(settings, clock=clock, storage_dir=str(tmp_path / "oss"))
    assert sorted(os.listdir(root)) == ["A" * 32] and os.listdir(upload) == []


def test_assembly_without_kernel_copies(emu, monkeypatch):
    def unsupported(*args):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", unsupported, raising=False)
    uid = upload_id(emu)
    chunks = [BIG, b"rest"]
    etags = [put_part(emu, uid, n, c).headers["ETag"] for n, c in enumerate(chunks, 1)]
    assert complete(emu, uid, list(enumerate(etags, 1))).status_code == 200
    assert emu.http.get(f"{emu.url}/{KEY}").content == b"".join(chunks)


@pytest.mark.parametrize("path", ["uploads/%2E%2E/a.mp4", "uploads/%2E/a.mp4", "uploads/a%01.mp4", "x" * 1024])
def test_initiate_refuses_keys_postobject_refuses(emu, path):
    # Dots percent-encoded: HTTP clients remove literal dot segments before sending.
    response = emu.http.post(f"{emu.url}/{path}?uploads")
    assert response.status_code == 400 and error_code(response) == "InvalidObjectName"
    assert upload_dirs(emu) == []


def test_a_part_that_fails_its_digest_keeps_the_one_before(emu):
    uid = upload_id(emu)
    assert put_part(emu, uid, 1, b"good").status_code == 200
    bad = put_part(emu, uid, 1, b"evil", headers={"Content-MD5": base64.b64encode(hashlib.md5(b"x").digest()).decode()})
    assert bad.status_code == 400 and error_code(bad) == "InvalidDigest"
    part = ET.fromstring(list_parts(emu, uid).content).find("Part")
    assert part.findtext("ETag") == md5_etag(b"good")


@pytest.mark.parametrize("number", ["\u00b2", "\u0663", "9" * 5000])
def test_part_numbers_that_are_not_ascii_digits_are_invalid_not_500(emu, number):
    uid = upload_id(emu)
    response = put_part(emu, uid, number, b"x")
    assert response.status_code == 400 and error_code(response) == "InvalidArgument"
