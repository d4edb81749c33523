"""Resumable multipart through the real signer and the emulator: what a drop costs.

A client does what miniprogram/utils/multipart.js does (3 parts in flight, presigned PUTs from
/api/multipart/<id>/parts), and the network "drops" once half the file's bytes are sent: every
part in flight is cut off mid-body. The client then asks GET /api/multipart/<id> what OSS holds,
sends only the missing parts and completes. Measured: the bytes sent twice. Goal: at most one part
size per part in flight (what was cut off is all that is lost).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests

from .local_kit import free_port, local_kit

IN_FLIGHT = 3
CHUNK = 64 * 1024
# (file MiB, part MiB)
PLAN = {"tiny": (6, 1), "small": (64, 5), "full": (256, 5)}


class Dropped(Exception):
    pass


class Client:
    def __init__(self, signer: str, data: bytes):
        self.signer = signer
        self.data = data
        self.sent = 0
        self.lock = threading.Lock()
        self.drop_at = None  # bytes sent (in total) at which the network goes away

    def call(self, method, path, **kwargs):
        response = requests.request(method, self.signer + path, timeout=30, **kwargs)
        if response.status_code not in (200, 204):
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return response.json() if response.content else None

    def put(self, signed: dict, body: bytes) -> None:
        """One part, streamed in chunks so a drop can cut it off half-way."""
        url = urlsplit(signed["url"])
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            connection.putrequest("PUT", f"{url.path}?{url.query}")
            for name, value in signed["headers"].items():
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders()
            for start in range(0, len(body), CHUNK):
                with self.lock:
                    if self.drop_at is not None and self.sent >= self.drop_at:
                        raise Dropped()
                    self.sent += min(CHUNK, len(body) - start)
                connection.send(body[start:start + CHUNK])
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"part answered {response.status}")
        finally:
            connection.close()

    def send_parts(self, upload: dict, numbers) -> None:
        size = upload["partSize"]
        signed = {p["partNumber"]: p for p in self.call(
            "POST", f"/api/multipart/{upload['uploadId']}/parts", json={"partNumbers": list(numbers)})["parts"]}

        def one(number):
            self.put(signed[number], self.data[(number - 1) * size: number * size])

        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            for future in [pool.submit(one, n) for n in numbers]:
                try:
                    future.result()
                except Dropped:
                    pass


def measure(file_mib: int, part_mib: int) -> dict:
    data = os.urandom(file_mib * 1024 * 1024 + 12345)
    part = part_mib * 1024 * 1024
    signer_port = free_port()
    with local_kit(signer_port, OSS_MAX_SIZE=str(len(data)), MULTIPART_PART_SIZE=str(part)) as (_, emulator):
        client = Client(f"http://127.0.0.1:{signer_port}", data)
        upload = client.call("POST", "/api/multipart", json={"filename": "video.mp4", "size": len(data)})
        client.drop_at = len(data) // 2
        client.send_parts(upload, range(1, upload["partCount"] + 1))
        sent_before_drop = client.sent
        held = client.call("GET", f"/api/multipart/{upload['uploadId']}")["parts"]
        missing = sorted(set(range(1, upload["partCount"] + 1)) - {p["partNumber"] for p in held})
        client.drop_at = None
        client.send_parts(upload, missing)
        record = client.call("POST", f"/api/multipart/{upload['uploadId']}/complete")
        stored = emulator.storage.get(record["key"])
        with open(emulator.storage.blob_path(stored), "rb") as handle:
            identical = hashlib.md5(handle.read()).digest() == hashlib.md5(data).digest()
    resent = client.sent - len(data)
    return {"file_bytes": len(data), "part_bytes": part, "parts": upload["partCount"],
            "sent_before_drop": sent_before_drop, "parts_held_after_drop": len(held), "resent_bytes": resent,
            "identical": identical and record["size"] == len(data)}


def run(size) -> dict:
    file_mib, part_mib = PLAN[size.name]
    result = measure(file_mib, part_mib)
    limit = IN_FLIGHT * result["part_bytes"]
    met = result["identical"] and result["resent_bytes"] <= limit
    print(f"multipart resume (real signer + emulator, {file_mib} MiB file, {part_mib} MiB parts, {IN_FLIGHT} in flight, "
          "network dropped at 50%):")
    print(f"  OSS held {result['parts_held_after_drop']} of {result['parts']} parts after the drop; "
          f"bytes sent twice: {result['resent_bytes'] / 1024 / 1024:.2f} MiB "
          f"(goal <= one part per part in flight = {limit / 1024 / 1024:.0f} MiB); "
          f"stored object identical: {result['identical']} -> {'met' if met else 'NOT met'}")
    return {"name": "multipart_resume", **result, "goal_bytes": limit, "met": met,
            "rows": [("multipart: bytes re-sent after a drop at 50%", f"{result['resent_bytes'] / 1024 / 1024:.2f} MiB",
                      f"<= {limit / 1024 / 1024:.0f} MiB", met)]}
