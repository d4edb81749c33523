"""The PostObject upload callback as OSS makes it: the `callback` field validated (400 with OSS's
messages), the body built from the template, the request signed with the emulator's own RSA key and
sent to a receiver on 127.0.0.1, and the receiver's answer relayed (200) or CallbackFailed (203)."""
from __future__ import annotations

import base64
import io
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote_to_bytes

import pytest
from Crypto.Hash import MD5
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15

from oss_emulator.callback import KEY_FILE, callback_public_key_pem, string_to_sign
from oss_emulator.storage import Storage
from tests.local_oss_support import assert_refused
from tests.net import free_port, running
from tests.ossform import error_code, error_message

REPO = Path(__file__).resolve().parent.parent
KEY = "uploads/回调 a.png"
FORM_BODY = "bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}&name=${x:name}"


class Receiver(BaseHTTPRequestHandler):
    """The app server's side: records each callback, verifies its signature, answers per `plan`."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        raw_path, _, raw_query = self.path.partition("?")
        signed = unquote_to_bytes(raw_path) + (b"?" + raw_query.encode() if "?" in self.path else b"") + b"\n" + body
        server = self.server
        try:
            pkcs1_15.new(server.public_key).verify(MD5.new(signed), base64.b64decode(self.headers["Authorization"]))
            verified = True
        except (ValueError, TypeError):
            verified = False
        server.calls.append({"path": self.path, "headers": dict(self.headers), "body": body, "signed": signed,
                             "verified": verified, "object_stored": server.stored()})
        plan = server.plan
        time.sleep(plan.get("delay", 0))
        answer = plan.get("body", b'{"Status":"OK"}')
        self.send_response(plan.get("status", 200))
        self.send_header("Content-Type", plan.get("content_type", "application/json"))
        length = plan.get("length", len(answer))
        if length is not None:
            self.send_header("Content-Length", str(length))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(emu):
    """A callback receiver on 127.0.0.1 with the emulator's key pre-seeded (no 2048-bit key
    generation per test) and a short callback timeout; yields the server (base URL in `.url`)."""
    seed_key(emu.directory)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    server.public_key = RSA.import_key(callback_public_key_pem(emu.directory))
    server.calls, server.plan = [], {}
    server.stored = lambda: Storage(emu.directory).get(KEY) is not None
    server.url = f"http://127.0.0.1:{server.server_port}"
    emu.app.callback_timeout = 0.5
    with running(server):
        yield server


_SEEDED = {}


def seed_key(directory: str) -> None:
    if "pem" not in _SEEDED:
        _SEEDED["pem"] = RSA.generate(2048).export_key("PEM")
    path = os.path.join(directory, KEY_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as handle:
        handle.write(_SEEDED["pem"])


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    """Every address any socket in this process connects to during the test: loopback only."""
    seen = []
    real = socket.socket.connect

    def connect(self, address):
        seen.append(address)
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield seen
    assert all(isinstance(a, tuple) and a[0] == "127.0.0.1" for a in seen), seen


def b64(document) -> str:
    text = document if isinstance(document, str) else json.dumps(document)
    return base64.b64encode(text.encode()).decode()


def callback(url, body=FORM_BODY, **more) -> str:
    return b64(dict({"callbackUrl": url, "callbackBody": body}, **more))


def upload(emu, value, data=b"hello", extra=(), key=KEY, **kwargs):
    fields = emu.sign(key, extra=[("callback", value), *extra])
    return emu.post(fields, data, **kwargs)


# -- success -------------------------------------------------------------------------------------

def test_a_signed_callback_and_its_answer_relayed_to_the_uploader(emu, receiver):
    receiver.plan = {"body": b'{"id": 7, "name": "\xe5\x9b\x9e"}', "content_type": "application/json; charset=utf-8"}
    response = upload(emu, callback(receiver.url + "/api/oss-callback?t=abc"), extra=[("x:name", "me"),
                                                                                      ("success_action_status", "204")])
    assert response.status_code == 200  # whatever success_action_status says
    assert response.content == b'{"id": 7, "name": "\xe5\x9b\x9e"}'
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Content-Length"] == str(len(response.content))
    (call,) = receiver.calls
    assert call["verified"] and call["object_stored"]  # signed with the served key, after the commit
    etag = response.headers["ETag"].strip('"')
    assert parse_qs(call["body"].decode()) == {
        "bucket": ["test-bucket"], "object": [KEY], "etag": [etag], "size": ["5"],
        "mimeType": ["image/png"], "name": ["me"]}
    headers = {k.lower(): v for k, v in call["headers"].items()}
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["content-length"] == str(len(call["body"]))
    assert headers["host"] == receiver.url.split("//")[1]
    key_url = f"{emu.settings.upload_host}/oss-emulator/callback_pub_key.pem"
    assert base64.b64decode(headers["x-oss-pub-key-url"]).decode() == key_url
    assert emu.http.get(emu.url + "/" + quote(KEY)).content == b"hello"


def test_the_public_key_is_served_where_x_oss_pub_key_url_points(emu, receiver):
    got = emu.http.get(emu.url + "/oss-emulator/callback_pub_key.pem")
    assert got.status_code == 200 and got.content == callback_public_key_pem(emu.directory)
    assert got.content.startswith(b"-----BEGIN PUBLIC KEY-----") and RSA.import_key(got.content).size_in_bits() == 2048


def test_the_exact_string_signed_for_an_encoded_chinese_path_and_a_query(emu, receiver):
    path, query = "/api/%E5%9B%9E%E8%B0%83/cb", "t=a%2Bb%3D&x=%E4%B8%AD&empty="
    assert upload(emu, callback(f"{receiver.url}{path}?{query}", body="k=${x:name}"),
                  extra=[("x:name", "v")]).status_code == 200
    (call,) = receiver.calls
    expected = "/api/回调/cb".encode() + b"?" + query.encode() + b"\nk=v"
    assert call["signed"] == expected and call["verified"]
    assert call["path"] == f"{path}?{query}"  # sent exactly as configured, never re-encoded
    assert string_to_sign(f"http://h{path}?{query}", b"k=v") == expected
    assert string_to_sign("http://h", b"b") == b"/\nb" and string_to_sign("http://h/p?", b"b") == b"/p?\nb"


def test_the_published_doc_example_string(emu):
    assert string_to_sign("http://121.43.113.8/index.php?id=1&index=2", b"bucket=yonghu-test") == \
        b"/index.php?id=1&index=2\nbucket=yonghu-test"


HOSTILE = 'a"b\'c&d=e%f+g h\\i 中文 </x> ${bucket}'


def test_form_bodies_url_encode_every_value(emu, receiver):
    body = "obj=${object}&v=${x:v}&missing=${x:none}&const=a%20b"
    assert upload(emu, callback(receiver.url, body=body), extra=[("x:v", HOSTILE)]).status_code == 200
    raw = receiver.calls[0]["body"].decode("ascii")  # nothing but ASCII on the wire
    assert parse_qs(raw, keep_blank_values=True) == {"obj": [KEY], "v": [HOSTILE], "missing": [""], "const": ["a b"]}


def test_json_bodies_put_each_value_in_as_a_json_string(emu, receiver):
    body = ('{"bucket":${bucket},"object":${object},"size":${size},"mime":${mimeType},"v":${x:v},'
            '"h":${imageInfo.height},"missing":${x:none},"n":1}')
    response = upload(emu, callback(receiver.url, body=body, callbackBodyType="application/json"),
                      extra=[("x:v", HOSTILE)])
    assert response.status_code == 200
    call = receiver.calls[0]
    assert call["headers"]["Content-Type"] == "application/json"
    assert json.loads(call["body"]) == {"bucket": "test-bucket", "object": KEY, "size": "5", "mime": "image/png",
                                        "v": HOSTILE, "h": "", "missing": "", "n": 1}


def test_image_info_for_an_image_and_empty_otherwise(emu, receiver):
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (3, 2)).save(picture, "PNG")
    body = "h=${imageInfo.height}&w=${imageInfo.width}&f=${imageInfo.format}"
    assert upload(emu, callback(receiver.url, body=body), picture.getvalue()).status_code == 200
    assert upload(emu, callback(receiver.url, body=body), b"not an image", key="uploads/b.png").status_code == 200
    assert [parse_qs(c["body"].decode(), keep_blank_values=True) for c in receiver.calls] == [
        {"h": ["2"], "w": ["3"], "f": ["png"]}, {"h": [""], "w": [""], "f": [""]}]


def test_urls_are_tried_in_order_until_one_succeeds(emu, receiver):
    dead = f"http://127.0.0.1:{free_port()}/nobody"
    response = upload(emu, callback(f"{dead};{receiver.url}/second"))
    assert response.status_code == 200 and [c["path"] for c in receiver.calls] == ["/second"]


def test_callback_host_is_the_host_header(emu, receiver):
    assert upload(emu, callback(receiver.url, callbackHost="app.example.com")).status_code == 200
    assert receiver.calls[0]["headers"]["Host"] == "app.example.com"


def test_a_url_without_scheme_means_http(emu, receiver):
    assert upload(emu, callback(receiver.url.split("//")[1] + "/x")).status_code == 200


def test_the_key_file_is_private_and_reused(emu, receiver):
    assert upload(emu, callback(receiver.url)).status_code == 200
    assert upload(emu, callback(receiver.url)).status_code == 200
    assert all(c["verified"] for c in receiver.calls) and len(receiver.calls) == 2
    assert stat.S_IMODE(os.stat(os.path.join(emu.directory, KEY_FILE)).st_mode) == 0o600


def test_the_key_is_created_once_even_by_racing_processes(tmp_path):
    directory = str(tmp_path / "oss")
    script = "import sys; from oss_emulator.callback import callback_public_key_pem as k; " \
             "sys.stdout.write(k(sys.argv[1]).decode())"
    children = [subprocess.Popen([sys.executable, "-c", script, directory], cwd=REPO, stdout=subprocess.PIPE)
                for _ in range(3)]
    outputs = [child.communicate(timeout=60)[0] for child in children]
    assert all(child.returncode == 0 for child in children)
    assert len(set(outputs)) == 1 and outputs[0].startswith(b"-----BEGIN PUBLIC KEY-----")
    assert outputs[0] == callback_public_key_pem(directory)
    path = os.path.join(directory, KEY_FILE)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and os.listdir(os.path.dirname(path)) == ["callback-private.pem"]


# -- 203 CallbackFailed: the object is kept --------------------------------------------------------

@pytest.mark.parametrize("plan,message", [
    ({"status": 500, "body": b'{"error": 1}'}, "Error status : 500."),
    ({"status": 403, "body": b'{"error": {"code": "CallbackRejected"}}'}, "Error status : 403."),
    ({"status": 302, "body": b"{}"}, "Error status : 302."),
    ({"body": b"<html>not json</html>", "content_type": "text/html"}, "Response body is not valid json format."),
    ({"body": b""}, "Response body is not valid json format."),
    ({"length": None}, "Error Status : 400.User server missing content-length."),
    ({"body": b"[" + b"0," * (512 * 1024) + b"0]"}, "Error Status : 400.User server return too long content-length value."),
    ({"delay": 1.0}, "Cost too long time."),
], ids=["500", "403", "302", "html", "empty", "no-length", "over-1MB", "timeout"])
def test_a_failed_callback_is_203_and_the_object_is_kept(emu, receiver, plan, message):
    receiver.plan = plan
    started = time.monotonic()
    response = upload(emu, callback(receiver.url))
    assert response.status_code == 203, response.content
    assert response.headers["Content-Type"].startswith("application/xml")
    assert error_code(response) == "CallbackFailed" and error_message(response) == message
    assert response.headers["ETag"] and len(response.headers["x-oss-request-id"]) == 24
    assert time.monotonic() - started < 5  # the configured timeout, not OSS's 5 s
    assert emu.http.get(emu.url + "/" + quote(KEY)).content == b"hello"


def test_nobody_listening_is_203_can_not_connect(emu, receiver):
    response = upload(emu, callback(f"http://127.0.0.1:{free_port()}/cb"))
    assert response.status_code == 203 and error_code(response) == "CallbackFailed"
    assert error_message(response) == "Error Status : -1.OSS can not connect to your callbackUrl, please check it."
    assert emu.http.head(emu.url + "/" + quote(KEY)).status_code == 200


def test_the_default_timeout_is_oss_five_seconds():
    from oss_emulator.app import Emulator

    assert Emulator.callback_timeout == 5.0


# -- 400 InvalidArgument: nothing stored, nobody called --------------------------------------------

URL = "http://127.0.0.1:9/cb"
BAD = [
    ("%%%not-base64", "The callback configuration is not base64 encoded."),
    (base64.b64encode(b"\xff\xfe").decode(), "The callback configuration is not json format."),
    (b64("not json"), "The callback configuration is not json format."),
    (b64([1, 2]), "The callback configuration is not json format."),
    (callback(URL, body="a=" + "b" * 5000), "The length of callback exceed max value."),
    (b64({"callbackBody": "a=b"}), "The callback url configuration is invalid."),
    (callback(""), "The callback url configuration is invalid."),
    (callback(5), "The callback url configuration is invalid."),
    (callback("10.101.166.30:test"), "The callback url configuration is invalid."),
    (callback("ftp://127.0.0.1/cb"), "The callback url configuration is invalid."),
    (callback("http://127.0.0.1/回调"), "The callback url configuration is invalid."),
    (callback("http://[::1]:80/cb"), "The callback url configuration is invalid."),
    (callback(";".join([URL] * 6)), "The number of callback url exceed max value."),
    (b64({"callbackUrl": URL}), "The callback body is empty."),
    (callback(URL, body=""), "The callback body is empty."),
    (callback(URL, body=["a"]), "The callback body is invalid."),
    (callback(URL, body="a=${bucket"), "The callback body is invalid."),
    (callback(URL, body="a=${unknown}"), "The callback body is invalid."),
    (callback(URL, body="a=${x:Upper}"), "The callback body is invalid."),
    (callback(URL, body='{"a":${bucket}', callbackBodyType="application/json"),
     "The callback configuration is not json format."),
    (callback(URL, callbackBodyType="text/plain"), "The callback body type configuration is invalid."),
    (callback(URL, callbackBodyType=123), "The callback body type configuration is invalid."),
    (callback(URL, callbackSNI="true"), "The callback sni is invalid."),
    (callback(URL, callbackHost="bad host"), "The callback host configuration is invalid."),
]


@pytest.mark.parametrize("value,message", BAD, ids=[m[:40] + str(i) for i, (_, m) in enumerate(BAD)])
def test_a_bad_callback_is_400_with_oss_message_and_nothing_stored(emu, value, message):
    response = upload(emu, value)
    assert_refused(emu, response, 400, "InvalidArgument", message)
    assert b"<ArgumentName>callback</ArgumentName>" in response.content


def test_five_urls_are_allowed(emu, receiver):
    assert upload(emu, callback(";".join([receiver.url] * 5))).status_code == 200


def test_custom_variable_names_must_be_lower_case(emu):
    assert_refused(emu, upload(emu, callback(URL), extra=[("x:Name", "v")]), 400, "InvalidArgument")


def test_a_policy_pinning_the_callback_refuses_another(emu):
    fields = emu.sign(KEY, conditions=[{"callback": callback(URL)}], extra=[("callback", callback(URL + "?evil"))])
    assert_refused(emu, emu.post(fields), 403, "AccessDenied")


def test_without_a_callback_field_x_fields_are_ignored(emu):
    response = emu.post(emu.sign(extra=[("x:Anything", "v")]))
    assert response.status_code == 204 and response.content == b""
    assert not os.path.exists(os.path.join(emu.directory, "keys"))


def test_concurrent_callbacks_each_get_their_own_answer(emu, receiver):
    receiver.plan = {"body": b'{"ok":true}'}
    results = []

    def one(n):
        results.append(upload(emu, callback(receiver.url, body="n=${x:n}"), extra=[("x:n", str(n))],
                              key=f"uploads/{n}.bin").status_code)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert results == [200] * 6
    assert sorted(c["body"] for c in receiver.calls) == sorted(f"n={n}".encode() for n in range(6))
    assert all(c["verified"] for c in receiver.calls)


def test_a_callback_url_is_never_logged(emu, receiver, caplog):
    caplog.set_level("DEBUG", logger="oss_emulator")
    receiver.plan = {"status": 500, "body": b"{}"}
    upload(emu, callback(receiver.url + "/cb?token=SECRET-TOKEN"))
    assert "SECRET-TOKEN" not in caplog.text


# ---------- CompleteMultipartUpload with x-oss-callback ----------

def _multipart_to_complete(emu, data: bytes):
    from tests.test_local_oss_multipart import put_part, upload_id

    uid = upload_id(emu, key=KEY)
    etag = put_part(emu, uid, 1, data, key=KEY).headers["ETag"]
    return uid, etag


def _callback_b64(receiver, body=FORM_BODY, body_type=None) -> str:
    document = {"callbackUrl": receiver.url + "/cb?t=1", "callbackBody": body}
    if body_type:
        document["callbackBodyType"] = body_type
    return base64.b64encode(json.dumps(document).encode()).decode()


def test_complete_multipart_calls_back_with_the_whole_object_and_relays_the_answer(emu, receiver):
    from tests.test_local_oss_multipart import complete

    uid, etag = _multipart_to_complete(emu, b"0123456789")
    receiver.plan = {"body": b'{"id": 7}'}
    variables = base64.b64encode(json.dumps({"x:name": "视频"}).encode()).decode()
    response = complete(emu, uid, [(1, etag)], key=KEY,
                        headers={"x-oss-callback": _callback_b64(receiver), "x-oss-callback-var": variables})
    assert response.status_code == 200 and response.content == b'{"id": 7}'
    (call,) = receiver.calls
    assert call["verified"] and call["object_stored"]
    fields = dict(pair.split("=", 1) for pair in call["body"].decode().split("&"))
    assert fields["size"] == "10" and fields["name"] == quote("视频", safe="")
    assert response.headers["ETag"].strip('"').endswith("-1")  # the multipart ETag


def test_a_bad_multipart_callback_is_400_and_nothing_is_assembled(emu, receiver):
    from tests.test_local_oss_multipart import complete

    uid, etag = _multipart_to_complete(emu, b"abc")
    response = complete(emu, uid, [(1, etag)], key=KEY, headers={"x-oss-callback": "not base64!"})
    assert response.status_code == 400 and error_code(response) == "InvalidArgument"
    assert Storage(emu.directory).get(KEY) is None and receiver.calls == []


def test_a_failed_multipart_callback_is_203_and_the_object_is_kept(emu, receiver):
    from tests.test_local_oss_multipart import complete

    uid, etag = _multipart_to_complete(emu, b"abc")
    receiver.plan = {"status": 500}
    response = complete(emu, uid, [(1, etag)], key=KEY, headers={"x-oss-callback": _callback_b64(receiver)})
    assert response.status_code == 203 and error_code(response) == "CallbackFailed"
    assert Storage(emu.directory).get(KEY) is not None


# ---------- PutObject with x-oss-callback ----------

def test_put_object_calls_back_and_relays_the_answer(emu, receiver):
    receiver.plan = {"body": b'{"id": 8}'}
    variables = base64.b64encode(json.dumps({"x:name": "照片"}).encode()).decode()
    response = emu.http.put(f"{emu.url}/{quote(KEY)}", data=b"0123456789", timeout=10,
                            headers={"Content-Type": "image/png", "x-oss-callback": _callback_b64(receiver),
                                     "x-oss-callback-var": variables})
    assert response.status_code == 200 and response.content == b'{"id": 8}'
    assert response.headers["x-oss-hash-crc64ecma"] and response.headers["ETag"]
    (call,) = receiver.calls
    assert call["verified"] and call["object_stored"]
    fields = dict(pair.split("=", 1) for pair in call["body"].decode().split("&"))
    assert fields["size"] == "10" and fields["mimeType"] == quote("image/png", safe="")
    assert fields["name"] == quote("照片", safe="")


def test_a_bad_put_object_callback_is_400_and_nothing_is_stored(emu, receiver):
    response = emu.http.put(f"{emu.url}/{quote(KEY)}", data=b"abc", timeout=10,
                            headers={"x-oss-callback": "not base64!"})
    assert response.status_code == 400 and error_code(response) == "InvalidArgument"
    assert Storage(emu.directory).get(KEY) is None and receiver.calls == []


def test_sdk_put_object_options_carry_the_callback(emu, receiver):
    """Each SDK's own callback option (not a hand-made header) reaches the receiver, and the SDK
    reads the relayed answer: alibabacloud-oss-v2's `callback`/`callback_var`, oss2's headers."""
    import alibabacloud_oss_v2 as oss
    import oss2

    from tests.local_oss_support import KEY_ID, SECRET
    from tests.test_local_oss_sdk import sdk_client

    receiver.plan = {"body": b'{"id": 9}'}
    variables = base64.b64encode(json.dumps({"x:name": "v2"}).encode()).decode()
    result = sdk_client(emu).put_object(oss.PutObjectRequest(
        bucket="test-bucket", key=KEY, body=b"v2 body", callback=_callback_b64(receiver), callback_var=variables))
    assert result.status_code == 200 and json.loads(result.callback_result) == {"id": 9}
    assert receiver.calls[-1]["verified"] and b"name=v2" in receiver.calls[-1]["body"]

    # oss2 (its docs pass the two headers as they are) signs V1 at the real time; the emulator's fake clock is moved there for this call.
    emu.clock.advance(time.time() - emu.clock().timestamp())
    bucket = oss2.Bucket(oss2.Auth(KEY_ID, SECRET), emu.url, "test-bucket")
    answer = bucket.put_object(KEY, b"oss2 body", headers={
        "x-oss-callback": _callback_b64(receiver),
        "x-oss-callback-var": base64.b64encode(json.dumps({"x:name": "oss2"}).encode()).decode()})
    assert answer.status == 200 and answer.resp.read() == b'{"id": 9}'
    assert len(receiver.calls) == 2 and receiver.calls[-1]["verified"] and b"name=oss2" in receiver.calls[-1]["body"]
    assert Storage(emu.directory).get(KEY) is not None
