"""Large files through the real signer and emulator: presigned part URLs, resume from what OSS
lists, completion only when the parts are exactly the declared file, abort, per-user isolation."""
from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import pytest

from tests.kit import running_kit

PART = 100 * 1024  # OSS's smallest part size keeps these tests quick


@pytest.fixture
def kit(tmp_path, clock):
    with running_kit(tmp_path, clock, MULTIPART_PART_SIZE=str(PART)) as kit:
        yield kit


@pytest.fixture
def login_kit(tmp_path, clock):
    with running_kit(tmp_path, clock, login=True, MULTIPART_PART_SIZE=str(PART)) as kit:
        yield kit


def start(kit, size, filename="视频.mp4", user=None):
    response = kit.call("POST", "/api/multipart", user, json={"filename": filename, "size": size})
    assert response.status_code == 200, response.text
    return response.json()


def part_urls(kit, upload, numbers, user=None):
    response = kit.call("POST", f"/api/multipart/{upload['uploadId']}/parts", user, json={"partNumbers": numbers})
    assert response.status_code == 200, response.text
    return {p["partNumber"]: p for p in response.json()["parts"]}


def put_part(kit, signed, data):
    return kit.http.put(signed["url"], data=data, headers=signed["headers"], timeout=30)


def send_parts(kit, upload, data, numbers=None, user=None):
    numbers = numbers or list(range(1, upload["partCount"] + 1))
    for number, signed in part_urls(kit, upload, numbers, user).items():
        chunk = data[(number - 1) * upload["partSize"]: number * upload["partSize"]]
        response = put_part(kit, signed, chunk)
        assert response.status_code == 200, response.text
        assert response.headers["ETag"].strip('"') == hashlib.md5(chunk).hexdigest().upper()


def complete(kit, upload, user=None):
    return kit.call("POST", f"/api/multipart/{upload['uploadId']}/complete", user)


def read_object(kit, key) -> bytes:
    url = kit.app.extensions["bucket"].presign_get(key, kit.clock() + timedelta(minutes=5))
    response = kit.http.get(url, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def test_an_odd_sized_file_in_parts_is_stored_byte_for_byte_and_recorded(kit):
    data = os.urandom(3 * PART + 12345)
    upload = start(kit, len(data))
    assert (upload["partSize"], upload["partCount"]) == (PART, 4)
    assert upload["key"].endswith(".mp4")
    send_parts(kit, upload, data)
    record = complete(kit, upload)
    assert record.status_code == 200, record.text
    body = record.json()
    assert (body["name"], body["size"], body["contentType"]) == ("视频.mp4", len(data), "video/mp4")
    assert read_object(kit, upload["key"]) == data
    assert kit.call("GET", "/api/files").json()["files"][0]["id"] == body["id"]
    # Finished: the upload id is gone.
    assert kit.call("GET", f"/api/multipart/{upload['uploadId']}").status_code == 404


def test_resume_sends_only_what_oss_does_not_hold(kit):
    data = os.urandom(4 * PART)
    upload = start(kit, len(data))
    send_parts(kit, upload, data, numbers=[1, 3])
    status = kit.call("GET", f"/api/multipart/{upload['uploadId']}").json()
    assert [p["partNumber"] for p in status["parts"]] == [1, 3]
    assert all(p["size"] == PART for p in status["parts"])
    incomplete = complete(kit, upload)
    assert incomplete.status_code == 409 and incomplete.json()["error"]["code"] == "IncompleteUpload"
    assert kit.app.extensions["bucket"].head(upload["key"]) is None  # nothing assembled
    send_parts(kit, upload, data, numbers=[2, 4])
    assert complete(kit, upload).status_code == 200
    assert read_object(kit, upload["key"]) == data


def test_a_part_put_twice_is_fine(kit):
    data = os.urandom(2 * PART)
    upload = start(kit, len(data))
    send_parts(kit, upload, data)
    send_parts(kit, upload, data, numbers=[2])  # a retry after a lost answer
    assert complete(kit, upload).status_code == 200


def test_each_part_url_accepts_only_the_parts_exact_size(kit):
    data = os.urandom(2 * PART + 7)
    upload = start(kit, len(data))
    urls = part_urls(kit, upload, [1, 2, 3])
    assert [urls[n]["size"] for n in (1, 2, 3)] == [PART, PART, 7]
    # Content-Length is signed, not handed over: the HTTP client sets it from the body it sends.
    assert all(set(urls[n]["headers"]) == {"Content-Type"} for n in urls)
    assert "x-oss-additional-headers=content-length" in urls[1]["url"]
    for body in (data[:PART] + b"extra bytes", data[:PART - 1], os.urandom(8 * 1024 * 1024)):
        refused = put_part(kit, urls[1], body)
        assert refused.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in refused.text
    assert put_part(kit, urls[3], data[2 * PART:] + b"x").status_code == 403
    assert complete(kit, upload).json()["error"]["code"] == "IncompleteUpload"
    assert kit.call("GET", f"/api/multipart/{upload['uploadId']}").json()["parts"] == []
    send_parts(kit, upload, data)
    assert complete(kit, upload).status_code == 200
    assert read_object(kit, upload["key"]) == data


def test_a_tampered_part_url_is_refused_by_oss(kit):
    upload = start(kit, 2 * PART)
    signed = part_urls(kit, upload, [1])[1]
    tampered = dict(signed, url=signed["url"].replace("partNumber=1", "partNumber=2"))
    assert put_part(kit, tampered, b"x" * PART).status_code == 403
    without_type = dict(signed, headers={"Content-Type": "text/plain"})
    assert put_part(kit, without_type, b"x" * PART).status_code == 403


def test_abort_leaves_nothing(kit):
    data = os.urandom(2 * PART)
    upload = start(kit, len(data))
    send_parts(kit, upload, data, numbers=[1])
    assert kit.call("DELETE", f"/api/multipart/{upload['uploadId']}").status_code == 204
    assert kit.call("GET", f"/api/multipart/{upload['uploadId']}").status_code == 404
    assert complete(kit, upload).status_code == 404
    assert kit.app.extensions["bucket"].head(upload["key"]) is None
    leftovers = [name for _, _, names in os.walk(kit.emulator.directory) for name in names
                 if upload["uploadId"] in name]
    assert leftovers == []


@pytest.mark.parametrize("body, code", [
    ({"partNumbers": []}, "InvalidPartNumbers"),
    ({"partNumbers": [0]}, "InvalidPartNumbers"),
    ({"partNumbers": [3]}, "InvalidPartNumbers"),  # beyond partCount
    ({"partNumbers": [1, 1]}, "InvalidPartNumbers"),
    ({"partNumbers": list(range(1, 102))}, "InvalidPartNumbers"),
    ({"partNumbers": ["1"]}, "InvalidPartNumbers"),
    ({"partNumbers": [True]}, "InvalidPartNumbers"),
    ({}, "InvalidPartNumbers"),
])
def test_bad_part_requests_are_400(kit, body, code):
    upload = start(kit, 2 * PART)
    response = kit.call("POST", f"/api/multipart/{upload['uploadId']}/parts", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


@pytest.mark.parametrize("body, status, code", [
    ({"filename": "a.exe", "size": 10}, 415, "ExtensionNotAllowed"),
    ({"filename": "a.mp4"}, 400, "MissingSize"),
    ({"filename": "a.mp4", "size": 0}, 400, "InvalidSize"),
    ({"filename": "a.mp4", "size": "abc"}, 400, "InvalidSize"),
    ({"filename": "a.mp4", "size": 200 * 1024 * 1024}, 413, "FileTooLarge"),
    ({"size": 10}, 400, "MissingFilename"),
    ({"filename": "a\u202egpj.mp4", "size": 10}, 400, "InvalidFilename"),
])
def test_starting_follows_the_signing_rules(kit, body, status, code):
    response = kit.call("POST", "/api/multipart", json=body)
    assert response.status_code == status and response.json()["error"]["code"] == code


def test_unknown_upload_ids_are_404(kit):
    for method, path in (("GET", ""), ("POST", "/complete"), ("DELETE", "")):
        response = kit.call(method, f"/api/multipart/no-such-upload{path}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "UploadNotFound"
    response = kit.call("POST", "/api/multipart/no-such-upload/parts", json={"partNumbers": [1]})
    assert response.status_code == 404


def test_another_users_upload_is_404(login_kit):
    upload = start(login_kit, 2 * PART, user="alice")
    assert upload["key"].split("/")[1] != ""  # in Alice's folder
    for method, path, body in (("GET", "", None), ("POST", "/parts", {"partNumbers": [1]}),
                               ("POST", "/complete", None), ("DELETE", "", None)):
        response = login_kit.call(method, f"/api/multipart/{upload['uploadId']}{path}", "bob", json=body)
        assert response.status_code == 404, (method, path)
    assert login_kit.call("GET", f"/api/multipart/{upload['uploadId']}", "alice").status_code == 200


def test_part_size_grows_to_stay_within_ten_thousand_parts():
    from server.multipart_uploads import expected_part_sizes, part_size_for

    assert part_size_for(10 * 1024 * 1024, 5 * 1024 * 1024) == 5 * 1024 * 1024
    big = 5 * 1024 ** 3
    size = part_size_for(big, 100 * 1024)
    assert len(expected_part_sizes(big, size)) <= 10_000 and size % (1024 * 1024) == 0
    assert expected_part_sizes(10, 4) == [4, 4, 2]
    assert expected_part_sizes(8, 4) == [4, 4]


def test_completion_check_refuses_missing_extra_and_wrong_sized_parts():
    from server.errors import ApiError
    from server.multipart_uploads import check_parts
    from server.oss_client import Part

    def code(parts):
        try:
            check_parts([Part(n, size, "e") for n, size in parts], 10, 4)
        except ApiError as error:
            return error.code
        return "ok"

    assert code([(1, 4), (2, 4), (3, 2)]) == "ok"
    assert code([(1, 4), (3, 2)]) == "IncompleteUpload"
    assert code([(1, 4), (2, 4), (3, 2), (4, 1)]) == "SizeMismatch"  # an extra part
    assert code([(1, 4), (2, 4), (3, 3)]) == "SizeMismatch"  # the last part too large
    assert code([(1, 3), (2, 5), (3, 2)]) == "SizeMismatch"  # the sum is right, a part is not


def test_database_down_at_start_aborts_the_upload_in_oss(kit, monkeypatch):
    from server.db import DatabaseUnavailable

    started = []
    bucket = kit.app.extensions["bucket"]
    initiate = bucket.initiate_multipart
    monkeypatch.setattr(bucket, "initiate_multipart", lambda *a: started.append(initiate(*a)) or started[-1])

    def down(*args, **kwargs):
        raise DatabaseUnavailable("test: database stopped")

    monkeypatch.setattr(kit.db, "add_multipart", down)
    response = kit.call("POST", "/api/multipart", json={"filename": "a.mp4", "size": 2 * PART})
    assert response.status_code == 503 and response.json()["error"]["code"] == "DatabaseUnavailable"
    (upload_id,) = started
    assert not any(upload_id in name for _, dirs, names in os.walk(kit.emulator.directory) for name in dirs + names)
