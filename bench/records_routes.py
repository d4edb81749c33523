"""The record routes next to /generate_signature, in one run of one app (local mode, SQLite):

- POST /api/oss-callback: RSA check, token, single-use insert, HEAD of the object in the emulator,
  record insert; every request a fresh, genuinely signed callback for an uploaded object.
- GET /api/files with 20 items: one database page and 20 presigned download URLs.

Werkzeug's threaded server on 127.0.0.1 and one keep-alive client, like http_routes.py; the
emulator answers the HEADs on its own port. Goal for each: at least half the signing route's rate.
"""
from __future__ import annotations

import base64
import http.client
import json
import socket
import time
from urllib.parse import quote, urlsplit

import requests
from Crypto.Hash import MD5
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15

from .http_routes import SIGN_PATH
from .local_kit import free_port, local_kit

GOAL_RATIO = 0.5
LIST_ITEMS = 20
# (callbacks to send, list/sign requests per round, rounds)
PLAN = {"tiny": (5, 20, 1), "small": (300, 300, 3), "full": (1000, 1000, 3)}


def _upload(http, signer: str, index: int) -> dict:
    """One small object stored through a signed form; returns the form (for its callback)."""
    data = f"bench object {index}\n".encode()
    form = http.get(f"{signer}/generate_signature", params={"filename": f"b{index}.txt", "size": len(data)}).json()
    files = [(name, (None, value)) for name, value in form["formData"].items()] + [("file", ("b.txt", data))]
    response = http.post(form["host"], files=files, timeout=10)
    if response.status_code not in (200, 203):
        raise RuntimeError(f"bench upload failed: HTTP {response.status_code} {response.text[:200]}")
    return form


def _signed_callback(form: dict, key) -> tuple:
    """(path with query, headers, body) of the callback OSS would send for this form."""
    document = json.loads(base64.b64decode(form["formData"]["callback"]))
    url = urlsplit(document["callbackUrl"])
    body = f"bucket=local-bucket&object={quote(form['key'], safe='')}&etag=x&size=1&mimeType=text%2Fplain".encode()
    message = url.path.encode() + b"?" + url.query.encode() + b"\n" + body
    headers = {
        "authorization": base64.b64encode(pkcs1_15.new(key).sign(MD5.new(message))).decode(),
        "x-oss-pub-key-url": base64.b64encode(b"https://gosspublic.alicdn.com/callback_pub_key_v1.pem").decode(),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return f"{url.path}?{url.query}", headers, body


def _timed(connection, requests_list) -> float:
    started = time.perf_counter()
    for method, path, headers, body in requests_list:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path[:40]} answered {response.status}: {payload[:200]!r}")
    return len(requests_list) / (time.perf_counter() - started)


def measure(callbacks: int, per_round: int, rounds: int) -> dict:
    key = RSA.generate(1024)
    # The forms name a dead callback host, so the emulator's own callbacks fail at once (203, object
    # kept) and every token is still unused for ours: OSS signs path and query, never the host.
    signer_port, dead_port = free_port(), free_port()
    settings = {"PUBLIC_BASE_URL": f"http://127.0.0.1:{dead_port}",
                "OSS_CALLBACK_PUBLIC_KEY": key.publickey().export_key().decode()}
    with local_kit(signer_port, **settings), requests.Session() as session:
        signer = f"http://127.0.0.1:{signer_port}"
        forms = [_upload(session, signer, n) for n in range(max(callbacks, LIST_ITEMS))]
        for form in forms[:LIST_ITEMS]:  # the list's 20 records (no thumbnails: 20 URLs exactly)
            session.post(f"{signer}/api/files/confirm", json={"key": form["key"]}, timeout=10)
        connection = http.client.HTTPConnection("127.0.0.1", signer_port, timeout=10)
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sign = [("GET", SIGN_PATH, {}, None)] * per_round
        listing = [("GET", f"/api/files?limit={LIST_ITEMS}", {}, None)] * per_round
        _timed(connection, sign[:5] + listing[:5])  # warm up
        # Callbacks are single use: each round gets its own share (the first 20 are already recorded).
        pending = [("POST", *_signed_callback(form, key)) for form in forms[LIST_ITEMS:]]
        share = max(1, len(pending) // rounds)
        results = {"sign": [], "callback": [], "list": []}
        for round_no in range(rounds):
            results["sign"].append(_timed(connection, sign))
            chunk = pending[round_no * share:(round_no + 1) * share]
            if chunk:
                results["callback"].append(_timed(connection, chunk))
            results["list"].append(_timed(connection, listing))
        items = json.loads(_get(connection, f"/api/files?limit={LIST_ITEMS}"))["files"]
        connection.close()
    return {"sign": max(results["sign"]), "callback": max(results["callback"]), "list": max(results["list"]),
            "list_urls": sum(1 for item in items for name in ("url", "thumbnailUrl") if name in item)}


def _get(connection, path: str) -> bytes:
    connection.request("GET", path)
    return connection.getresponse().read()


def run(size) -> dict:
    callbacks, per_round, rounds = PLAN[size.name]
    # Fewer callbacks than the list needs would leave nothing to measure: at least 20 more.
    numbers = measure(callbacks + LIST_ITEMS, per_round, rounds)
    callback_ratio = numbers["callback"] / numbers["sign"]
    list_ratio = numbers["list"] / numbers["sign"]
    met = callback_ratio >= GOAL_RATIO and list_ratio >= GOAL_RATIO
    print(f"records (werkzeug threaded, 1 keep-alive client, SQLite, best of {rounds} rounds):")
    print(f"  /generate_signature: {numbers['sign']:,.0f} req/s")
    print(f"  POST /api/oss-callback (verify + token + HEAD + insert): {numbers['callback']:,.0f} req/s, "
          f"{callback_ratio:.2f}x signing; goal >= {GOAL_RATIO}")
    print(f"  GET /api/files ({LIST_ITEMS} items, {numbers['list_urls']} presigned URLs): {numbers['list']:,.0f} req/s, "
          f"{list_ratio:.2f}x signing; goal >= {GOAL_RATIO} -> {'met' if met else 'NOT met'}")
    return {"name": "records", "sign_rps": numbers["sign"], "callback_rps": numbers["callback"],
            "list_rps": numbers["list"], "callback_ratio": callback_ratio, "list_ratio": list_ratio, "goal": GOAL_RATIO,
            "met": met,
            "rows": [("POST /api/oss-callback vs /generate_signature, werkzeug (req/s ratio)", f"{callback_ratio:.2f}",
                      f">= {GOAL_RATIO}", callback_ratio >= GOAL_RATIO),
                     (f"GET /api/files ({LIST_ITEMS} URLs) vs /generate_signature, werkzeug (req/s ratio)",
                      f"{list_ratio:.2f}", f">= {GOAL_RATIO}", list_ratio >= GOAL_RATIO)]}
