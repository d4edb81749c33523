"""The record routes next to /generate_signature, in one run of one app (local mode, SQLite, the
per-user quota on, so signing takes its reservation transaction as in production, and login on,
signing for many users in turn: see users.py):

- POST /api/oss-callback: RSA check, token, single-use insert, HEAD of the object in the emulator
  (over HTTP, as OSS would be asked), record insert; every request a fresh, genuinely signed callback
  for an uploaded object.
- POST /api/files/confirm: the same HEAD and insert for an object whose callback never came.
- GET /api/files with 20 images: one database page and 40 presigned URLs (download and thumbnail).

Werkzeug's threaded server on 127.0.0.1 and one keep-alive client, like http_routes.py; the
emulator answers the HEADs on its own port. Rounds run the routes back to back; each ratio is taken
within a round, then the median over rounds. Goals: the list at least half the signing route's rate,
callback and confirm at least 0.35 of it.
"""
from __future__ import annotations

import base64
import http.client
import json
import socket
import statistics
import time
from urllib.parse import quote, urlsplit

import requests
from Crypto.Hash import MD5
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15

from .http_routes import SIGN_PATH
from .local_kit import free_port, local_kit
from .users import AUTH_ENV, tokens

GOALS = {"list": 0.5, "callback": 0.35, "confirm": 0.35}
LIST_ITEMS = 20
# (callbacks and confirms per round, list/sign requests per round, rounds)
PLAN = {"tiny": (5, 20, 1), "small": (100, 300, 3), "full": (250, 1000, 4)}


def _upload(http, signer: str, index: int, auth: dict) -> dict:
    """One small object stored through a form signed for the user of `auth`; returns the form (for its callback)."""
    data = f"bench object {index}\n".encode()  # an image by its name: the list signs a thumbnail URL too
    form = http.get(f"{signer}/generate_signature", params={"filename": f"b{index}.jpg", "size": len(data)},
                    headers=auth).json()
    files = [(name, (None, value)) for name, value in form["formData"].items()] + [("file", ("b.jpg", data))]
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


def measure(per_round_writes: int, per_round: int, rounds: int) -> dict:
    """Per round: req/s of each route (signing, callback, confirm, list)."""
    key = RSA.generate(1024)
    # The forms name a dead callback host, so the emulator's own callbacks fail at once (203, object
    # kept) and every token is still unused for ours: OSS signs path and query, never the host.
    signer_port, dead_port = free_port(), free_port()
    settings = {"PUBLIC_BASE_URL": f"http://127.0.0.1:{dead_port}",
                "OSS_CALLBACK_PUBLIC_KEY": key.publickey().export_key().decode(), **AUTH_ENV}
    # Signing takes the users in turn (see users.py); one user owns the listed files, one confirms.
    auths = [{"Authorization": f"Bearer {token}"} for token in tokens()]
    lister, confirmer = auths[0], auths[1]
    with local_kit(signer_port, **settings), requests.Session() as session:
        signer = f"http://127.0.0.1:{signer_port}"
        listed = [_upload(session, signer, n, lister) for n in range(LIST_ITEMS)]
        for form in listed:  # the list's 20 records (images: 40 URLs)
            session.post(f"{signer}/api/files/confirm", json={"key": form["key"]}, headers=lister, timeout=10)
        forms = [_upload(session, signer, n, confirmer) for n in range(2 * per_round_writes * rounds)]
        connection = http.client.HTTPConnection("127.0.0.1", signer_port, timeout=10)
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sign = [("GET", SIGN_PATH, auths[n % len(auths)], None) for n in range(per_round)]
        listing = [("GET", f"/api/files?limit={LIST_ITEMS}", lister, None)] * per_round
        _timed(connection, sign[:5] + listing[:5])  # warm up
        # Callbacks and confirms record an object once: each round gets its own fresh objects.
        json_headers = {"Content-Type": "application/json", **confirmer}
        rounds_out = []
        for round_no in range(rounds):
            share = forms[round_no * 2 * per_round_writes:(round_no + 1) * 2 * per_round_writes]
            callbacks = [("POST", *_signed_callback(form, key)) for form in share[:per_round_writes]]
            confirms = [("POST", "/api/files/confirm", json_headers, json.dumps({"key": form["key"]}).encode())
                        for form in share[per_round_writes:]]
            rounds_out.append({"sign": _timed(connection, sign), "callback": _timed(connection, callbacks),
                               "confirm": _timed(connection, confirms), "list": _timed(connection, listing)})
        items = json.loads(_get(connection, f"/api/files?limit={LIST_ITEMS}", lister))["files"]
        connection.close()
    return {"rounds": rounds_out,
            "list_urls": sum(1 for item in items for name in ("url", "thumbnailUrl") if name in item)}


def _get(connection, path: str, headers: dict) -> bytes:
    connection.request("GET", path, headers=headers)
    return connection.getresponse().read()


def run(size) -> dict:
    writes, per_round, rounds = PLAN[size.name]
    numbers = measure(writes, per_round, rounds)
    per_round_ratios = {name: [r[name] / r["sign"] for r in numbers["rounds"]] for name in GOALS}
    ratios = {name: statistics.median(values) for name, values in per_round_ratios.items()}
    rps = {name: statistics.median(r[name] for r in numbers["rounds"]) for name in ("sign", *GOALS)}
    met = {name: ratios[name] >= goal for name, goal in GOALS.items()}
    labels = {"callback": "POST /api/oss-callback (verify + token + HEAD + insert)",
              "confirm": "POST /api/files/confirm (HEAD + insert)",
              "list": f"GET /api/files ({LIST_ITEMS} items, {numbers['list_urls']} presigned URLs)"}
    print(f"records (werkzeug threaded, 1 keep-alive client, SQLite, quota and login on, {rounds} round(s), median of "
          f"per-round ratios):")
    print(f"  /generate_signature: {rps['sign']:,.0f} req/s")
    for name, goal in GOALS.items():
        print(f"  {labels[name]}: {rps[name]:,.0f} req/s, {ratios[name]:.2f}x signing "
              f"(rounds: {', '.join(f'{x:.2f}' for x in per_round_ratios[name])}); goal >= {goal} -> "
              f"{'met' if met[name] else 'NOT met'}")
    short = {"callback": "POST /api/oss-callback", "confirm": "POST /api/files/confirm",
             "list": f"GET /api/files ({numbers['list_urls']} URLs)"}
    return {"name": "records", "sign_rps": rps["sign"], "callback_rps": rps["callback"], "confirm_rps": rps["confirm"],
            "list_rps": rps["list"], "list_urls": numbers["list_urls"],
            **{f"{name}_ratio": ratios[name] for name in GOALS}, "round_ratios": per_round_ratios, "goals": GOALS,
            "met": all(met.values()),
            "rows": [(f"{short[name]} vs /generate_signature, werkzeug (req/s ratio)", f"{ratios[name]:.2f}",
                      f">= {goal}", met[name]) for name, goal in GOALS.items()]}
