"""Reads on a private bucket: who may read, what GET/HEAD/DELETE answer, and the headers they write."""
from __future__ import annotations

import base64
import hashlib
import http.client
import threading
import time
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
import requests
from werkzeug.http import http_date

from oss_emulator.storage import Storage
from tests.ossform import error_code, error_message

ANONYMOUS_DENIED = "You have no right to access this object because of bucket acl."


def put(emu, key, data=b"hello", headers=None):
    """Store an object directly, with whatever headers an upload path may have stored."""
    storage = Storage(emu.directory)
    path = f"{storage.temp_dir}/t-{time.monotonic_ns()}"
    with open(path, "wb") as handle:
        handle.write(data)
    return storage.commit(path, key, len(data), hashlib.md5(data).hexdigest().upper(),
                          dict({"Content-Type": "text/plain"}, **(headers or {})), emu.clock().timestamp(), False)


def url(emu, key):
    return emu.url + "/" + quote(key, safe="/")


def head_error(response):
    """The error XML a HEAD answer carries in x-oss-err (its body is empty)."""
    assert response.content == b""
    return ET.fromstring(base64.b64decode(response.headers["x-oss-err"]))


# -- who may read --------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_anonymous_requests_are_access_denied(emu, method):
    put(emu, "uploads/a.txt")
    response = requests.request(method, url(emu, "uploads/a.txt"), timeout=5)
    assert response.status_code == 403 and error_code(response) == "AccessDenied"
    assert error_message(response) == ANONYMOUS_DENIED
    assert emu.http.get(url(emu, "uploads/a.txt")).content == b"hello"  # still there


def test_anonymous_head_is_denied_with_the_error_in_x_oss_err(emu):
    put(emu, "uploads/a.txt")
    response = requests.head(url(emu, "uploads/a.txt"), timeout=5)
    assert response.status_code == 403
    root = head_error(response)
    assert root.findtext("Code") == "AccessDenied" and root.findtext("RequestId") == response.headers["x-oss-request-id"]


def test_anonymous_read_of_a_missing_key_does_not_reveal_it_is_missing(emu):
    response = requests.get(url(emu, "uploads/none.txt"), timeout=5)
    assert response.status_code == 403 and error_code(response) == "AccessDenied"


@pytest.mark.parametrize("acl", ["public-read", "public-read-write"])
def test_public_read_objects_are_readable_anonymously(emu, acl):
    put(emu, "uploads/pub.txt", b"open", {"x-oss-object-acl": acl})
    assert requests.get(url(emu, "uploads/pub.txt"), timeout=5).content == b"open"
    head = requests.head(url(emu, "uploads/pub.txt"), timeout=5)
    assert head.status_code == 200 and head.headers["Content-Length"] == "4"
    assert "x-oss-object-acl" not in head.headers


def test_only_public_read_write_objects_may_be_deleted_anonymously(emu):
    put(emu, "uploads/read.txt", b"r", {"x-oss-object-acl": "public-read"})
    put(emu, "uploads/write.txt", b"w", {"x-oss-object-acl": "public-read-write"})
    denied = requests.delete(url(emu, "uploads/read.txt"), timeout=5)
    assert denied.status_code == 403 and error_code(denied) == "AccessDenied"
    assert requests.delete(url(emu, "uploads/write.txt"), timeout=5).status_code == 204
    assert emu.http.get(url(emu, "uploads/write.txt")).status_code == 404
    assert emu.http.get(url(emu, "uploads/read.txt")).status_code == 200


@pytest.mark.parametrize("acl", ["private", "default"])
def test_private_and_default_acl_objects_are_not(emu, acl):
    put(emu, "uploads/p.txt", b"closed", {"x-oss-object-acl": acl})
    assert requests.get(url(emu, "uploads/p.txt"), timeout=5).status_code == 403


def test_signed_read_of_a_missing_key_is_no_such_key(emu):
    response = emu.http.get(url(emu, "uploads/none.txt"))
    assert response.status_code == 404 and error_code(response) == "NoSuchKey"
    head = emu.http.head(url(emu, "uploads/none.txt"))
    assert head.status_code == 404 and head_error(head).findtext("Code") == "NoSuchKey"
    assert head.headers["x-oss-ec"] == "0026-00000001"


# -- response-* overrides ----------------------------------------------------------------------

OVERRIDES = {
    "response-content-type": ("Content-Type", "application/x-custom"),
    "response-content-language": ("Content-Language", "zh-CN"),
    "response-expires": ("Expires", "Thu, 01 Dec 2026 16:00:00 GMT"),
    "response-cache-control": ("Cache-Control", "no-cache"),
    "response-content-disposition": ("Content-Disposition", "attachment; filename*=UTF-8''%E7%85%A7.png"),
    "response-content-encoding": ("Content-Encoding", "identity"),
}


def test_signed_gets_override_response_headers(emu):
    put(emu, "uploads/a.txt", b"hello", {"Cache-Control": "max-age=60"})
    query = "&".join(f"{p}={quote(v, safe='')}" for p, (_, v) in OVERRIDES.items())
    got = emu.http.get(url(emu, "uploads/a.txt") + "?" + query)
    assert got.status_code == 200 and got.content == b"hello"
    for header, value in OVERRIDES.values():
        assert got.headers[header] == value


def test_anonymous_gets_may_not_override_response_headers(emu):
    put(emu, "uploads/pub.txt", b"open", {"x-oss-object-acl": "public-read"})
    response = requests.get(url(emu, "uploads/pub.txt") + "?response-content-type=text%2Fhtml", timeout=5)
    assert response.status_code == 400 and error_code(response) == "InvalidRequest"
    assert error_message(response) == "Request specific response headers cannot be used for anonymous GET requests."


def test_an_override_that_is_not_a_header_value_is_refused(emu):
    put(emu, "uploads/a.txt")
    response = emu.http.get(url(emu, "uploads/a.txt") + "?response-content-disposition=a%0D%0AX-Evil%3A%201")
    assert response.status_code == 400 and error_code(response) == "InvalidArgument"
    assert "X-Evil" not in response.headers


# -- storage classes ---------------------------------------------------------------------------

@pytest.mark.parametrize("storage_class", ["Archive", "ColdArchive", "DeepColdArchive"])
def test_frozen_objects_cannot_be_read_but_can_be_headed(emu, storage_class):
    put(emu, "uploads/cold.bin", b"ice", {"x-oss-storage-class": storage_class})
    got = emu.http.get(url(emu, "uploads/cold.bin"))
    assert got.status_code == 403 and error_code(got) == "InvalidObjectState"
    assert error_message(got) == "The operation is not valid for the object's state"
    head = emu.http.head(url(emu, "uploads/cold.bin"))
    assert head.status_code == 200 and head.headers["x-oss-storage-class"] == storage_class


@pytest.mark.parametrize("stored,shown", [(None, "Standard"), ("IA", "IA"), ("Standard", "Standard")])
def test_readable_classes_report_their_storage_class(emu, stored, shown):
    put(emu, "uploads/a.bin", b"x", {"x-oss-storage-class": stored} if stored else {})
    got = emu.http.get(url(emu, "uploads/a.bin"))
    assert got.status_code == 200 and got.headers["x-oss-storage-class"] == shown


# -- what every answer carries -----------------------------------------------------------------

def raw_response(emu, method, path, headers=None):
    """(status, [(name, value)] in the order sent) over a plain connection."""
    address = urlsplit(emu.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, response.getheaders()
    finally:
        connection.close()


@pytest.mark.parametrize("method,path", [("GET", "/uploads/a.txt"), ("HEAD", "/uploads/a.txt"),
                                         ("GET", "/missing"), ("HEAD", "/missing"), ("DELETE", "/x"),
                                         ("PUT", "/x"), ("GET", "/")])
def test_every_answer_has_exactly_one_date_header(emu, method, path):
    put(emu, "uploads/a.txt")
    status, headers = raw_response(emu, method, path)
    assert status in (200, 403, 405)
    assert [n for n, _ in headers].count("Date") == 1


def test_stored_values_no_header_can_carry_are_left_out_and_nothing_after_them_is_lost(emu):
    put(emu, "uploads/odd.txt", b"odd", {
        "x-oss-meta-chinese": "中文", "x-oss-meta-bell": "a\x07b", "x-oss-meta-a b": "space in name",
        "x-oss-meta-break": "a\r\nX-Evil: 1", "x-oss-meta-fine": "ok", "Cache-Control": "no-cache"})
    got = emu.http.get(url(emu, "uploads/odd.txt"), timeout=5)
    assert got.status_code == 200 and got.content == b"odd"
    assert got.headers["x-oss-meta-fine"] == "ok" and got.headers["Cache-Control"] == "no-cache"
    assert got.headers["ETag"] and "X-Evil" not in got.headers
    for name in ("x-oss-meta-chinese", "x-oss-meta-bell", "x-oss-meta-a b", "x-oss-meta-break"):
        assert name not in got.headers


def test_security_headers_come_before_the_stored_ones(emu):
    put(emu, "uploads/page.html", b"<script>1</script>", {"Content-Type": "text/html", "x-oss-meta-z": "z"})
    request = requests.Request("GET", url(emu, "uploads/page.html")).prepare()
    emu.http.auth(request)
    status, headers = raw_response(emu, "GET", "/uploads/page.html", dict(request.headers))
    names = [n for n, _ in headers]
    assert status == 200
    assert names.index("Content-Security-Policy") < names.index("X-Content-Type-Options") < names.index("ETag")
    assert names.index("X-Content-Type-Options") < names.index("x-oss-meta-z")
    assert names.index("X-Content-Type-Options") < names.index("Content-Type")


def test_conditional_get_is_not_modified(emu):
    put(emu, "uploads/a.txt")
    etag = emu.http.get(url(emu, "uploads/a.txt")).headers["ETag"]
    again = emu.http.get(url(emu, "uploads/a.txt"), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_conditional_headers_as_oss_answers_them(emu, method):
    put(emu, "uploads/c.txt")
    first = emu.http.get(url(emu, "uploads/c.txt"))
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    earlier, later = http_date(emu.clock() - timedelta(hours=1)), http_date(emu.clock() + timedelta(hours=1))
    cases = [
        ({"If-Match": etag}, 200), ({"If-Match": '"0000"'}, 412), ({"If-Match": "*"}, 200),
        ({"If-Unmodified-Since": later}, 200), ({"If-Unmodified-Since": earlier}, 412),
        ({"If-Match": etag, "If-Unmodified-Since": earlier}, 200),  # If-Match decides (RFC 7232)
        ({"If-None-Match": etag}, 304), ({"If-None-Match": '"0000"'}, 200),
        ({"If-Modified-Since": modified}, 304), ({"If-Modified-Since": earlier}, 200),
        ({"If-Match": '"0000"', "If-None-Match": etag}, 412), ({"If-Unmodified-Since": "not a date"}, 200),
    ]
    for headers, status in cases:
        got = emu.http.request(method, url(emu, "uploads/c.txt"), headers=headers, timeout=5)
        assert got.status_code == status, (headers, got.status_code)
        if status == 412:
            body = got.text if method == "GET" else base64.b64decode(got.headers["x-oss-err"]).decode()
            assert "<Code>PreconditionFailed</Code>" in body
        if status == 304:
            assert got.headers["ETag"] == etag and got.content == b""


# -- DELETE ------------------------------------------------------------------------------------

def test_delete_removes_the_object_and_its_files_and_is_idempotent(emu):
    put(emu, "uploads/a.txt")
    assert emu.http.delete(url(emu, "uploads/a.txt")).status_code == 204
    assert emu.http.get(url(emu, "uploads/a.txt")).status_code == 404
    assert emu.objects() == [] and not [f for f in emu.files() if "/meta/" in f]
    again = emu.http.delete(url(emu, "uploads/a.txt"))
    assert again.status_code == 204 and again.content == b""


def test_a_read_racing_a_delete_sees_the_whole_object_or_no_such_key(emu):
    data = bytes(range(256)) * 4096  # 1 MiB
    outcomes = []
    for round_ in range(15):
        put(emu, "uploads/race.bin", data)
        start = threading.Barrier(3)

        def read():
            start.wait(5)
            got = emu.http.get(url(emu, "uploads/race.bin"), timeout=10)
            outcomes.append((got.status_code, got.content == data if got.status_code == 200 else error_code(got)))

        readers = [threading.Thread(target=read) for _ in range(2)]
        for reader in readers:
            reader.start()
        start.wait(5)
        assert emu.http.delete(url(emu, "uploads/race.bin")).status_code == 204
        for reader in readers:
            reader.join(10)
    assert len(outcomes) == 30
    assert set(outcomes) <= {(200, True), (404, "NoSuchKey")}
    assert emu.objects() == []
