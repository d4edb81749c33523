"""The verdict on a PostObject form comes when its file part starts: an unsigned or badly signed form
is refused before a byte of the file is written or more than a little of it is read, and a file is
read no further than the policy's maximum size. The expiry is judged again when the body is in."""
from __future__ import annotations

import os
import select
import socket
import time
from typing import Iterable, Tuple
from urllib.parse import urlparse

import pytest

import oss_emulator.form_parser as form_parser
from tests.fakes import wait_until
from tests.local_oss_support import assert_refused
from tests.ossform import error_code, multipart_parts

MIB = 1024 * 1024
BOUNDARY = "b0undary"


def streamed_form(fields, file_size: int) -> Tuple[bytes, Iterable[bytes], bytes, int]:
    """(prefix, the file's bytes as a lazy generator, suffix, total length) of a form whose file
    part is `file_size` bytes of zeros; the file is never held in memory."""
    prefix, suffix = multipart_parts([(n, v.encode(), None) for n, v in fields] + [("file", b"", "big.bin")],
                                     BOUNDARY).split(b"\r\n--" + BOUNDARY.encode() + b"--")
    suffix = b"\r\n--" + BOUNDARY.encode() + b"--" + suffix

    def zeros():
        chunk = bytes(MIB)
        for _ in range(file_size // MIB):
            yield chunk
        yield bytes(file_size % MIB)

    return prefix, zeros(), suffix, len(prefix) + file_size + len(suffix)


def send_until_answered(url: str, fields, file_size: int, limit: float = 10.0):
    """POST the form over a raw socket, sending until the server answers (or everything is sent).
    Returns (status, response bytes, body bytes sent before the answer came, seconds)."""
    prefix, body, suffix, total = streamed_form(fields, file_size)
    address = urlparse(url)
    sock = socket.create_connection((address.hostname, address.port), timeout=limit)
    started = time.monotonic()
    sent = 0
    try:
        sock.sendall((f"POST / HTTP/1.1\r\nHost: {address.netloc}\r\n"
                      f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                      f"Content-Length: {total}\r\n\r\n").encode())
        sock.setblocking(False)
        pending = memoryview(prefix)
        chunks = iter(list_with(body, suffix))
        while time.monotonic() - started < limit:
            if not pending:
                try:
                    pending = memoryview(next(chunks))
                except StopIteration:
                    break
            readable, writable, _ = select.select([sock], [sock], [], 0.5)
            if readable:
                break  # the answer is there: stop sending, as a client that reads early would
            if writable:
                try:
                    n = sock.send(pending)
                except (BlockingIOError, InterruptedError):
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += n
                pending = pending[n:]
        sock.setblocking(True)
        sock.settimeout(limit)
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply) < _expected_length(reply):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    finally:
        sock.close()
    return int(reply.split(b" ", 2)[1]), reply, sent, time.monotonic() - started


def list_with(generator, last):
    yield from generator
    yield last


def _expected_length(reply: bytes) -> int:
    head, _, _ = reply.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(head) + 4 + int(line.split(b":")[1])
    return len(reply) + 1  # unknown: read until EOF


@pytest.fixture
def temp_files_created(monkeypatch):
    """Every temp file the form parser creates, whoever is left to delete it."""
    created = []
    real = form_parser.new_temp_file

    def recording(temp_dir, *args, **kwargs):
        fd, path = real(temp_dir, *args, **kwargs)
        created.append(path)
        return fd, path

    monkeypatch.setattr(form_parser, "new_temp_file", recording)
    return created


def test_an_unsigned_gigabyte_is_refused_at_once_with_nothing_written(emu, temp_files_created):
    status, reply, sent, seconds = send_until_answered(emu.url, [("key", "uploads/big.bin")], 1024 * MIB)
    assert status == 403 and b"<Code>AccessDenied</Code>" in reply
    assert seconds < 5
    assert sent < 64 * MIB, f"{sent} bytes sent before the answer"  # socket buffers, not the gigabyte
    assert temp_files_created == [] and emu.files() == []


def test_a_badly_signed_gigabyte_is_refused_at_once_with_nothing_written(emu, temp_files_created):
    fields = [(n, "0" * 64 if n == "x-oss-signature" else v) for n, v in emu.sign("uploads/big.bin")]
    status, reply, sent, seconds = send_until_answered(emu.url, fields, 1024 * MIB)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in reply
    assert seconds < 5 and sent < 64 * MIB
    assert temp_files_created == [] and emu.files() == []


def test_a_file_over_the_policys_maximum_stops_being_read_there(emu):
    fields = emu.sign("uploads/big.bin", [["content-length-range", 1, MIB]])
    status, reply, sent, seconds = send_until_answered(emu.url, fields, 64 * MIB)
    assert status == 400 and b"<Code>EntityTooLarge</Code>" in reply
    # About 1 MiB read, plus what the socket buffers hold; never the 64 MiB.
    assert MIB < sent < 24 * MIB, f"{sent} bytes sent before the answer"
    assert seconds < 5
    assert wait_until(lambda: emu.files() == [], timeout=5)


def test_the_smallest_maximum_of_several_ranges_applies(emu):
    fields = emu.sign(conditions=[["content-length-range", 1, 100], ["content-length-range", 1, 10]])
    assert_refused(emu, emu.post(fields, b"x" * 11), 400, "EntityTooLarge")


@pytest.mark.parametrize("change", [
    lambda emu: [(n, "0" * 64 if n == "x-oss-signature" else v) for n, v in emu.sign()],
    lambda emu: emu.sign(conditions=[{"key": "uploads/other.bin"}]),
    lambda emu: emu.sign(extra=[("x-oss-storage-class", "Glacier")]),
    lambda emu: emu.sign(extra=[("x-oss-meta-a b", "1")]),
    lambda emu: emu.sign(extra=[("x-oss-forbid-overwrite", "maybe")]),
    lambda emu: emu.sign(extra=[("callback", "not base64")]),
    lambda emu: emu.sign("uploads/../a.bin"),
], ids=["signature", "condition", "storage-class", "meta-name", "forbid-overwrite", "callback", "key"])
def test_every_refusal_but_size_comes_before_a_temp_file_exists(emu, temp_files_created, change):
    response = emu.post(change(emu), b"file bytes")
    assert 400 <= response.status_code < 500 and error_code(response)
    assert temp_files_created == [] and emu.files() == []


def test_a_slow_upload_can_outlive_its_policy(emu):
    """Accepted when the file part starts, expired when the body is complete: refused, nothing kept."""
    fields = emu.sign(expires_in=600)
    prefix, _, suffix, _ = streamed_form(fields, 0)
    temp_dir = os.path.join(emu.directory, ".tmp")

    def body():
        yield prefix + bytes(512 * 1024)  # more than the emulator reads at a time
        assert wait_until(lambda: os.listdir(temp_dir) != [], timeout=5)  # judged and accepted
        emu.clock.advance(601)
        yield b"the rest" + suffix

    response = emu.http.post(emu.url + "/", data=body(), timeout=10,
                             headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert_refused(emu, response, 403, "AccessDenied", "Invalid according to Policy: Policy expired.")


def test_a_form_within_its_policy_streams_as_before(emu):
    fields = emu.sign("uploads/big.bin", [["content-length-range", 3 * MIB, 3 * MIB]])
    status, reply, sent, _ = send_until_answered(emu.url, fields, 3 * MIB)
    assert status == 204, reply
    assert os.path.getsize(os.path.join(emu.directory, "blobs", emu.objects()[0])) == 3 * MIB
