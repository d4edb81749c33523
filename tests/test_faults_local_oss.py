"""The local OSS under concurrent and aborted uploads: nothing lost, nothing half-written, every
accepted object byte-identical."""
from __future__ import annotations

import hashlib
import os
import socket
import struct
import threading
from urllib.parse import urlparse

from tests.fakes import wait_until
from tests.ossform import multipart

UPLOADS = 20
ABORTED = 10


def _payload(i: int) -> bytes:
    # Distinct, incompressible-looking content of different sizes (64 KiB .. ~1.3 MiB).
    seed = hashlib.sha256(str(i).encode()).digest()
    return (seed * ((64 * 1024 + i * 65_000) // 32 + 1))[: 64 * 1024 + i * 65_000]


def _abort(emu, key: str, size: int, cut: float) -> None:
    """Send the headers and a part of the body, then reset the connection."""
    body, content_type = multipart(emu.sign(key=key), b"\x00" * size)
    address = urlparse(emu.url)
    sock = socket.create_connection((address.hostname, address.port), timeout=10)
    try:
        head = (f"POST / HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        sock.sendall(head + body[: int(len(body) * cut)])
    finally:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
        sock.close()


def test_concurrent_and_aborted_uploads(emu):
    payloads = {f"uploads/c{i}.bin": _payload(i) for i in range(UPLOADS)}
    statuses, lock = {}, threading.Lock()

    def upload(key: str, data: bytes) -> None:
        import requests

        with requests.Session() as http:
            body, content_type = multipart(emu.sign(key=key), data)
            response = http.post(emu.url + "/", data=body, headers={"Content-Type": content_type}, timeout=30)
        with lock:
            statuses[key] = response.status_code

    threads = [threading.Thread(target=upload, args=item) for item in payloads.items()]
    threads += [threading.Thread(target=_abort, args=(emu, f"uploads/aborted{i}.bin", 600_000, 0.1 + 0.08 * i))
                for i in range(ABORTED)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert statuses == {key: 204 for key in payloads}
    for key, data in payloads.items():
        stored = emu.http.get(f"{emu.url}/{key}")
        assert stored.status_code == 200 and stored.content == data, key
        assert stored.headers["ETag"] == '"%s"' % hashlib.md5(data).hexdigest().upper()
    for i in range(ABORTED):
        assert emu.http.head(f"{emu.url}/uploads/aborted{i}.bin").status_code == 404
    # Aborted uploads leave nothing: no temporary file, no blob, no metadata.
    assert wait_until(lambda: os.listdir(os.path.join(emu.directory, ".tmp")) == [], timeout=5)
    assert len(emu.objects()) == UPLOADS
    assert len(os.listdir(os.path.join(emu.directory, "meta"))) == UPLOADS
    assert sorted(os.path.getsize(os.path.join(emu.directory, "blobs", name)) for name in emu.objects()) == \
        sorted(len(data) for data in payloads.values())


def test_racing_uploads_to_one_key_with_forbid_overwrite(emu):
    """Ten uploads race for one key that forbids overwriting: one wins whole, the rest get 409."""
    import requests

    key = "uploads/race.bin"
    payloads = [_payload(100 + i) for i in range(10)]
    results, lock = [], threading.Lock()

    def upload(data: bytes) -> None:
        with requests.Session() as http:
            body, content_type = multipart(emu.sign(key=key, extra=[("x-oss-forbid-overwrite", "true")]), data)
            response = http.post(emu.url + "/", data=body, headers={"Content-Type": content_type}, timeout=30)
        with lock:
            results.append((response.status_code, data))

    threads = [threading.Thread(target=upload, args=(data,)) for data in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [data for status, data in results if status == 204]
    assert len(winners) == 1 and sorted(s for s, _ in results) == [204] + [409] * 9
    assert emu.http.get(f"{emu.url}/{key}").content == winners[0]
    assert len(emu.objects()) == 1 and os.listdir(os.path.join(emu.directory, ".tmp")) == []
