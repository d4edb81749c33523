"""Broken bodies get a 4xx OSS XML error, never a 500 and never a stored or half-written file."""
from __future__ import annotations

import socket
from urllib.parse import urlparse

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.local_oss_support import assert_refused
from tests.ossform import error_code, multipart, multipart_parts


def raw_post(emu, body: bytes, content_type: str):
    return emu.http.post(emu.url + "/", data=body, headers={"Content-Type": content_type}, timeout=10)


@pytest.mark.parametrize("body,content_type", [
    (b"garbage", "multipart/form-data; boundary=xyz"),
    (b"key=a&file=b", "application/x-www-form-urlencoded"),
    (b"--xyz\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\na\r\n--xyz--\r\n", "multipart/form-data"),
    (b"anything", ""),
    (b"--xyz\r\nX-Other: 1\r\n\r\nvalue\r\n--xyz--\r\n", "multipart/form-data; boundary=xyz"),
    (b"--xyz\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--xyz--\r\n", "multipart/form-data; boundary=xyz"),
    (b"--xyz\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n\xff\xfe\r\n--xyz--\r\n",
     "multipart/form-data; boundary=xyz"),
    (b"--xyz\r\nContent-Disposition: form-data; name=\"key\"\r\n" + b"X: " + b"h" * 100_000 + b"\r\n\r\nv\r\n--xyz--\r\n",
     "multipart/form-data; boundary=xyz"),
    (b"x" * 1_000_000, "multipart/form-data; boundary=xyz"),
], ids=["garbage", "urlencoded", "no-boundary", "no-content-type", "no-disposition", "no-name", "not-utf8",
        "huge-part-header", "megabyte-without-boundary"])
def test_malformed_bodies(emu, body, content_type):
    assert_refused(emu, raw_post(emu, body, content_type), 400, "MalformedPOSTRequest")


def test_multipart_cut_off_inside_the_file(emu):
    body, content_type = multipart(emu.sign(), b"x" * 200_000)
    assert_refused(emu, raw_post(emu, body[:150_000], content_type), 400, "MalformedPOSTRequest")


def test_client_disconnects_mid_upload(emu):
    """Content-Length promises more than arrives: the server sees the end of the stream early."""
    body, content_type = multipart(emu.sign(), b"x" * 200_000)
    address = urlparse(emu.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        head = (f"POST / HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        sock.sendall(head + body[:120_000])
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert b"<Code>MalformedPOSTRequest</Code>" in reply
    assert emu.files() == []


def test_thousands_of_fields_over_the_name_limit(emu):
    fields = emu.sign(extra=[(f"x-oss-meta-f{i}", "v") for i in range(3000)])
    assert_refused(emu, emu.post(fields), 400, "FieldItemTooLong")


def test_a_thousand_small_fields_within_the_limits_are_fine(emu):
    fields = emu.sign(extra=[(f"m{i}", "v") for i in range(1000)])
    assert emu.post(fields).status_code == 204


def test_chunked_upload_streams(emu):
    body, content_type = multipart(emu.sign(), b"z" * 300_000)
    chunks = (body[i:i + 7000] for i in range(0, len(body), 7000))
    response = emu.http.post(emu.url + "/", data=chunks, headers={"Content-Type": content_type}, timeout=10)
    assert response.status_code == 204
    assert emu.http.get(emu.url + "/uploads/a.bin").content == b"z" * 300_000


def test_epilogue_after_the_closing_boundary_is_ignored(emu):
    body, content_type = multipart(emu.sign(), b"data")
    assert raw_post(emu, body + b"trailing epilogue" * 1000, content_type).status_code == 204


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(st.sampled_from([
        b"--b0undary", b"\r\n", b"--", b"Content-Disposition: form-data; ", b'name="key"', b'name="file"',
        b'; filename="a"', b"\r\n\r\n", b"value", b"\xff", b"--b0undary--",
    ]) | st.binary(max_size=20), max_size=40),
)
def test_fuzzed_bodies_never_store_and_never_500(emu, pieces):
    response = raw_post(emu, b"".join(pieces), "multipart/form-data; boundary=b0undary")
    assert 400 <= response.status_code < 500
    assert response.headers["Content-Type"].startswith("application/xml") and error_code(response)
    assert emu.files() == []


def test_parts_after_a_refusal_are_not_parsed_into_memory(emu):
    """After FieldItemTooLong the rest of a large body is drained, not buffered or stored."""
    parts = [("x-oss-meta-a", b"a" * (3 * 1024 * 1024), None), ("key", b"k", None), ("file", b"f" * 4_000_000, "a")]
    body = multipart_parts(parts, "b0undary")
    assert_refused(emu, raw_post(emu, body, "multipart/form-data; boundary=b0undary"), 400, "FieldItemTooLong")


def test_an_unexpected_error_is_oss_xml_500(emu, monkeypatch):
    from oss_emulator.storage import Storage

    def broken(self, key):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Storage, "open", broken)
    response = emu.http.get(emu.url + "/uploads/a.bin", timeout=5)
    assert response.status_code == 500
    assert error_code(response) == "InternalError" and b"disk on fire" not in response.content


def _raw_exchange(emu, request: bytes) -> bytes:
    address = urlparse(emu.url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):  # the refusal closes the connection
            reply += chunk
        return reply


def test_a_chunked_header_over_a_plain_body_is_refused_at_once(emu):
    """Before, the server waited for a chunk-size line ending until the client gave up (15 s)."""
    _, content_type = multipart(emu.sign(), b"x")
    head = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
    reply = _raw_exchange(emu, head.encode() + b"hello")  # recv would time out after 5 s
    assert reply.startswith(b"HTTP/1.1 400") and b"<Code>MalformedPOSTRequest</Code>" in reply
    assert emu.files() == []
