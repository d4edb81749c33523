"""Peak memory of the local OSS emulator while it receives one large streamed upload.

    python bench/emulator_memory.py [SIZE_MIB] [--max-growth MIB] [--multipart [--part-mib N]]

Runs the emulator in a child process, streams a SIZE_MIB file to it through a signed PostObject
form (or, with --multipart, as header-signed UploadParts of --part-mib MiB, default 8, then
CompleteMultipartUpload), and reads the child's peak RSS from /proc (Linux). Prints one JSON
line; exits 1 when the peak grew by more than --max-growth MiB (default 64) over the warmed-up
baseline.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from server.config import load_settings  # noqa: E402
from server.post_form import SIGNATURE_VERSION, credential_scope, encode_policy, iso8601_ms, sign_policy, x_oss_date  # noqa: E402
from oss_emulator.request_auth import sign_headers  # noqa: E402

MIB = 1024 * 1024
SETTINGS = {"CREDENTIALS_TYPE": "local", "OSS_BUCKET": "bench-bucket", "OSS_REGION": "cn-hangzhou"}
BOUNDARY = "benchBoundary7MA4YWxkTrZu0gW"


def serve(directory: str) -> None:
    import logging

    from werkzeug.serving import make_server

    from oss_emulator import create_emulator_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    app = create_emulator_app(load_settings(SETTINGS), storage_dir=directory)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


def _status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def _head(size: int, key: str) -> bytes:
    settings = load_settings(SETTINGS)
    now = datetime.now(timezone.utc)
    day = now.strftime("%Y%m%d")
    credential = credential_scope(settings.local_access_key_id, day, settings.region)
    policy = encode_policy({
        "expiration": iso8601_ms(now + timedelta(hours=1)),
        "conditions": [{"x-oss-credential": credential}, ["content-length-range", 0, size]],
    })
    fields = {
        "key": key, "policy": policy, "x-oss-signature-version": SIGNATURE_VERSION, "x-oss-credential": credential,
        "x-oss-date": x_oss_date(now), "x-oss-signature": sign_policy(policy, settings.local_access_key_secret, day, settings.region),
        "success_action_status": "200",
    }
    out = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    return out + (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
                  "Content-Type: application/octet-stream\r\n\r\n").encode()


BLOCK = bytes(range(256)) * 4096  # 1 MiB, never all of an upload in memory at once on either side


def _stream(size: int):
    remaining = size
    while remaining:
        piece = BLOCK[: min(len(BLOCK), remaining)]
        remaining -= len(piece)
        yield piece


def upload(port: int, size: int, key: str) -> int:
    head, tail = _head(size, key), f"\r\n--{BOUNDARY}--\r\n".encode()

    def body():
        yield head
        yield from _stream(size)
        yield tail

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("POST", "/", body=body(), headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(len(head) + size + len(tail)),
    })
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def _signed(port: int, method: str, key: str, params, headers=None, body=None, length=0):
    """One header-signed request to /<key>; (status, body bytes)."""
    settings = load_settings(SETTINGS)
    headers = dict(headers or {}, **{"Content-Length": str(length)})
    headers.update(sign_headers(method, settings.bucket, key, params, list(headers.items()),
                                settings.local_access_key_id, settings.local_access_key_secret, settings.region,
                                datetime.now(timezone.utc)))
    query = "&".join(f"{n}={quote(v, safe='')}" if v else n for n, v in params)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        connection.request(method, "/" + quote(key) + "?" + query, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def upload_multipart(port: int, size: int, key: str, part_size: int) -> int:
    """Initiate, stream every part, complete with x-oss-complete-all; the status of Complete."""
    status, body = _signed(port, "POST", key, [("uploads", "")])
    if status != 200:
        return status
    upload_id = ET.fromstring(body).findtext("UploadId")
    for number, offset in enumerate(range(0, size, part_size), 1):
        length = min(part_size, size - offset)
        status, _ = _signed(port, "PUT", key, [("partNumber", str(number)), ("uploadId", upload_id)],
                            {"Content-Type": "application/octet-stream"}, _stream(length), length)
        if status != 200:
            return status
    status, _ = _signed(port, "POST", key, [("uploadId", upload_id)], {"x-oss-complete-all": "yes"})
    return status


def measure(size_mib: int, multipart: bool = False, part_mib: int = 8) -> dict:
    with tempfile.TemporaryDirectory(prefix="oss-bench-") as directory:
        child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", directory],
                                 stdout=subprocess.PIPE, text=True)
        try:
            port = int(child.stdout.readline())

            def send(size: int, key: str) -> int:
                if multipart:
                    return upload_multipart(port, size, key, part_mib * MIB)
                return upload(port, size, key)

            if send(1 * MIB, "warm-up.bin") != 200:  # load every code path before the baseline
                raise RuntimeError("warm-up upload refused")
            baseline = _status_kib(child.pid, "VmRSS")
            with open(f"/proc/{child.pid}/clear_refs", "w") as handle:
                handle.write("5")  # reset the peak (VmHWM) to the current RSS
            started = time.monotonic()
            status = send(size_mib * MIB, "big.bin")
            seconds = time.monotonic() - started
            peak = _status_kib(child.pid, "VmHWM")
            blobs = os.path.join(directory, "blobs")
            stored = max(os.path.getsize(os.path.join(blobs, name)) for name in os.listdir(blobs))
        finally:
            child.terminate()
            child.wait(10)
    return {
        "mode": "multipart" if multipart else "post", "size_mib": size_mib, "status": status, "seconds": round(seconds, 2),
        "mib_per_second": round(size_mib / seconds, 1), "baseline_rss_mib": round(baseline / 1024, 1),
        "peak_rss_mib": round(peak / 1024, 1), "growth_mib": round((peak - baseline) / 1024, 1),
        "stored_bytes": stored if status == 200 else None,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size_mib", nargs="?", type=int, default=256)
    parser.add_argument("--max-growth", type=float, default=64.0)
    parser.add_argument("--multipart", action="store_true", help="upload as multipart parts, not one form")
    parser.add_argument("--part-mib", type=int, default=8)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    result = measure(args.size_mib, args.multipart, args.part_mib)
    print(json.dumps(result))
    ok = result["status"] == 200 and result["growth_mib"] <= args.max_growth
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
