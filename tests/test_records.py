"""Upload records: OSS's callback (verified, single use, HEAD-checked) and the confirm fallback.

OSS is played here by a test key installed as OSS_CALLBACK_PUBLIC_KEY; the uploads themselves go
through the real signer and the local emulator over HTTP.
"""
from __future__ import annotations

import base64
import json
import threading
from urllib.parse import quote, urlsplit

import pytest
from Crypto.Hash import MD5
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15

from tests.kit import running_kit

FAKE_OSS_KEY = RSA.generate(1024)
OSS_KEY_URL = "https://gosspublic.alicdn.com/callback_pub_key_v1.pem"


@pytest.fixture
def kit(tmp_path, clock):
    """The emulator's own callbacks go nowhere (203); these tests play OSS's callback themselves."""
    with running_kit(tmp_path, clock, emulator_calls_back=False,
                     OSS_CALLBACK_PUBLIC_KEY=FAKE_OSS_KEY.publickey().export_key().decode()) as kit:
        yield kit


@pytest.fixture
def login_kit(tmp_path, clock):
    with running_kit(tmp_path, clock, login=True, emulator_calls_back=False,
                     OSS_CALLBACK_PUBLIC_KEY=FAKE_OSS_KEY.publickey().export_key().decode()) as kit:
        yield kit


def callback_document(signed: dict) -> dict:
    return json.loads(base64.b64decode(signed["formData"]["callback"]))


def oss_calls_back(kit, signed: dict, body: str = None, key_url: str = OSS_KEY_URL, url: str = None,
                   signing_key=FAKE_OSS_KEY, tamper=None):
    """What OSS does after storing the object: POST the callback body, signed, to the callbackUrl.

    The form names a dead callback host (the kit's emulator_calls_back=False): the request goes to
    the signer's real address with the same path and query, which is all OSS signs."""
    document = callback_document(signed)
    if url is None:
        callback = urlsplit(document["callbackUrl"])
        url = f"{kit.signer_url}{callback.path}?{callback.query}"
    if body is None:
        body = (f"bucket={kit.app.config['SETTINGS'].bucket}&object={quote(signed['key'], safe='')}"
                "&etag=X&size=5&mimeType=image%2Fjpeg")
    parts = urlsplit(url)
    message = parts.path.encode() + (b"?" + parts.query.encode() if parts.query else b"") + b"\n" + body.encode()
    signature = base64.b64encode(pkcs1_15.new(signing_key).sign(MD5.new(message))).decode()
    headers = {"authorization": signature, "x-oss-pub-key-url": base64.b64encode(key_url.encode()).decode(),
               "Content-Type": "application/x-www-form-urlencoded"}
    if tamper:
        url, headers, body = tamper(url, headers, body)
    return kit.http.post(url, data=body.encode(), headers=headers, timeout=10)


# ---------- the form asks for the callback, pinned ----------

def test_the_form_carries_a_pinned_callback_to_our_public_url(kit):
    signed = kit.sign()
    document = callback_document(signed)
    assert document["callbackUrl"].startswith(kit.config["PUBLIC_BASE_URL"] + "/api/oss-callback?")
    assert document["callbackBodyType"] == "application/x-www-form-urlencoded"
    assert "${object}" in document["callbackBody"] and "${etag}" in document["callbackBody"]
    policy = json.loads(base64.b64decode(signed["policy"]))
    assert ["eq", "$callback", signed["formData"]["callback"]] in policy["conditions"]


def test_without_public_base_url_in_cloud_mode_there_is_no_callback(clock):
    from server import create_app
    from tests.fakes import ram_role_config

    app = create_app(ram_role_config(clock, CREDENTIAL_SOURCE=_source(clock)))
    assert app.extensions["upload_callbacks"] is None
    form = app.test_client().get("/generate_signature?filename=a.jpg&size=1").get_json()["formData"]
    assert "callback" not in form


def _source(clock):
    from tests.fakes import CountingSource

    return CountingSource(clock)


# ---------- the callback ----------

def test_a_genuine_callback_records_the_upload_from_what_the_bucket_holds(kit):
    signed, stored = kit.upload("年度 报告.pdf", b"%PDF-1.4 tiny")
    assert stored.status_code == 203  # the emulator's own callback went nowhere; the object is stored
    # The body's claims (etag X, size 5, image/jpeg) are not what gets recorded: the HEAD is.
    answer = oss_calls_back(kit, signed)
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert record["key"] == signed["key"] and record["name"] == "年度 报告.pdf"
    assert record["size"] == len(b"%PDF-1.4 tiny") and record["contentType"] == "application/pdf"
    assert set(record) == {"id", "key", "name", "size", "contentType", "createdAt"}
    assert record["createdAt"].endswith("Z")


def test_a_replayed_callback_is_refused_and_records_nothing_new(kit, caplog):
    signed, _ = kit.upload()
    assert oss_calls_back(kit, signed).status_code == 200
    again = oss_calls_back(kit, signed)
    assert again.status_code == 403 and again.json()["error"]["code"] == "CallbackRejected"
    assert "replay" in caplog.text
    assert len(kit.db.list_uploads("", 100)) == 1


def test_concurrent_duplicates_make_one_record(kit):
    signed, _ = kit.upload()
    results = []
    threads = [threading.Thread(target=lambda: results.append(oss_calls_back(kit, signed).status_code))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [200] + [403] * 7
    assert len(kit.db.list_uploads("", 100)) == 1


@pytest.mark.parametrize("tamper, why", [
    (lambda u, h, b: (u.replace("/api/oss-callback", "/api/oss-callback/"), h, b), None),  # path (404 or refused)
    (lambda u, h, b: (u + "x", h, b), "signature"),
    (lambda u, h, b: (u, h, b.replace("size=5", "size=6")), "signature"),
    (lambda u, h, b: (u, {**h, "authorization": base64.b64encode(b"\0" * 128).decode()}, b), "signature"),
    (lambda u, h, b: (u, {**h, "x-oss-pub-key-url": base64.b64encode(
        b"https://gosspublic.alicdn.com.evil.example/callback_pub_key_v1.pem").decode()}, b), "untrusted"),
    (lambda u, h, b: (u, {k: v for k, v in h.items() if k != "authorization"}, b), "authorization"),
])
def test_tampered_callbacks_are_refused_and_record_nothing(kit, caplog, tamper, why):
    signed, _ = kit.upload()
    answer = oss_calls_back(kit, signed, tamper=tamper)
    assert answer.status_code in (403, 404, 405)
    assert answer.json()["error"]["code"] in ("CallbackRejected", "NotFound", "MethodNotAllowed")
    if why:
        assert why in caplog.text
    assert kit.db.list_uploads("", 100) == []


def test_a_signature_by_another_key_is_refused(kit):
    signed, _ = kit.upload()
    answer = oss_calls_back(kit, signed, signing_key=RSA.generate(1024))
    assert answer.status_code == 403 and kit.db.list_uploads("", 100) == []


def test_an_untrusted_key_url_is_never_fetched(kit):
    """A key server on loopback that would hand out a key: the signer never asks it."""
    from tests.fakes import LocalHttpServer

    with LocalHttpServer(lambda request: (200, {"key": FAKE_OSS_KEY.publickey().export_key().decode()})) as server:
        signed, _ = kit.upload()
        answer = oss_calls_back(kit, signed, key_url=f"{server.url}/callback_pub_key_v1.pem")
        assert answer.status_code == 403
        assert server.requests == []
    assert kit.db.list_uploads("", 100) == []


def test_a_body_naming_another_object_is_refused(kit):
    signed, _ = kit.upload()
    other, _ = kit.upload("b.jpg")
    body = f"bucket=local-bucket&object={quote(other['key'], safe='')}&etag=X&size=5&mimeType=image%2Fjpeg"
    answer = oss_calls_back(kit, signed, body=body)
    assert answer.status_code == 403 and kit.db.list_uploads("", 100) == []
    wrong_bucket = f"bucket=someone-else&object={quote(signed['key'], safe='')}&etag=X&size=5&mimeType=x"
    assert oss_calls_back(kit, signed, body=wrong_bucket).status_code == 403


def test_an_expired_token_is_refused(kit):
    signed, _ = kit.upload()
    kit.clock.advance(600 + 5 * 60 + 1)  # the policy's 10 minutes and the 5-minute margin
    answer = oss_calls_back(kit, signed)
    assert answer.status_code == 403 and kit.db.list_uploads("", 100) == []


def test_a_token_from_another_signer_is_refused(kit):
    signed, _ = kit.upload()
    query = urlsplit(callback_document(signed)["callbackUrl"]).query
    forged = query[: query.index(".") + 1] + "A" * 43
    answer = oss_calls_back(kit, signed, url=f"{kit.signer_url}/api/oss-callback?{forged}")
    assert answer.status_code == 403


def test_a_genuine_callback_for_an_object_that_is_not_there_records_nothing(kit):
    """Any OSS customer can make OSS call us with a body of their choosing: the HEAD is what counts."""
    signed = kit.sign()  # signed, but never uploaded
    answer = oss_calls_back(kit, signed)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "ObjectNotFound"
    assert kit.db.list_uploads("", 100) == []


def test_unpinned_fields_an_uploader_added_get_the_object_deleted_not_recorded(kit):
    signed, stored = kit.upload(extra=[("x-oss-meta-evil", "1")])
    assert stored.status_code == 203  # stored: OSS does not check fields the policy leaves out
    answer = oss_calls_back(kit, signed)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "ObjectRejected"
    assert kit.db.list_uploads("", 100) == []
    assert kit.app.extensions["bucket"].head(signed["key"]) is None  # deleted


def test_callbacks_off_answers_404(tmp_path, clock):
    with running_kit(tmp_path, clock, OSS_CALLBACK="off") as kit:
        signed = kit.sign()
        assert "callback" not in signed["formData"]
        response = kit.http.post(kit.signer_url + "/api/oss-callback?x", data=b"a=b", timeout=5)
        assert response.status_code == 404 and response.json()["error"]["code"] == "CallbackDisabled"


# ---------- the database down ----------

def test_database_down_is_503_then_recovers(kit, monkeypatch):
    from server.db import DatabaseUnavailable

    signed, _ = kit.upload()
    db = kit.db

    def down(*args, **kwargs):
        raise DatabaseUnavailable("test: database stopped")

    with monkeypatch.context() as patched:
        patched.setattr(db, "use_callback_token", down)
        patched.setattr(db, "ping", lambda: False)
        answer = oss_calls_back(kit, signed)
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "DatabaseUnavailable"
        health = kit.http.get(kit.signer_url + "/healthz", timeout=5).json()
        assert health["status"] == "degraded" and health["database"] == "down"
    # OSS gave the uploader 203; the client confirms once the database is back.
    confirmed = kit.confirm(signed["key"])
    assert confirmed.status_code == 200 and confirmed.json()["key"] == signed["key"]
    assert kit.http.get(kit.signer_url + "/healthz", timeout=5).json()["database"] == "ok"


# ---------- confirm (the 203 path, and callbacks off) ----------

def test_confirm_records_once_and_answers_the_same_record(kit):
    signed, _ = kit.upload("合同.pdf", b"%PDF-1.4 x")
    first = kit.confirm(signed["key"])
    assert first.status_code == 200, first.text
    assert first.json()["name"] == "合同.pdf" and first.headers["Cache-Control"] == "no-store"
    assert kit.confirm(signed["key"]).json() == first.json()
    # and the callback arriving late finds the same record
    assert oss_calls_back(kit, signed).json() == first.json()
    assert len(kit.db.list_uploads("", 100)) == 1


def test_confirm_of_a_missing_object_is_404(kit):
    signed = kit.sign()
    response = kit.confirm(signed["key"])
    assert response.status_code == 404 and response.json()["error"]["code"] == "ObjectNotFound"


@pytest.mark.parametrize("body", [{}, {"key": 1}, {"key": ""}, [], "x"])
def test_confirm_with_a_bad_body_is_400(kit, body):
    response = kit.call("POST", "/api/files/confirm", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] in ("InvalidKey", "InvalidRequestBody")


@pytest.mark.parametrize("key", ["../etc/passwd", "other-dir/a.jpg", "uploads/", "uploads/../x.jpg"])
def test_confirm_outside_the_upload_folder_is_404(kit, key):
    response = kit.confirm(key)
    assert response.status_code == 404


def test_with_login_a_user_cannot_confirm_another_users_upload(login_kit):
    signed, _ = login_kit.upload(user="alice")
    response = login_kit.confirm(signed["key"], user="bob")
    assert response.status_code == 404
    assert login_kit.confirm(signed["key"], user="alice").status_code == 200
    assert login_kit.call("POST", "/api/files/confirm", json={"key": signed["key"]}).status_code == 401


# ---------- end to end: the emulator calls back like OSS ----------

@pytest.fixture
def live_kit(tmp_path, clock):
    with running_kit(tmp_path, clock, login=True) as kit:
        yield kit


def test_upload_then_the_emulators_callback_records_and_answers_the_record(live_kit):
    data = b"\xff\xd8 jpeg bytes"
    signed, stored = live_kit.upload("照片.jpg", data, user="alice")
    assert stored.status_code == 200, stored.text
    record = stored.json()  # OSS hands the callback's JSON to wx.uploadFile
    assert record["key"] == signed["key"] and record["name"] == "照片.jpg" and record["size"] == len(data)
    assert stored.headers["ETag"]
    listing = live_kit.call("GET", "/api/files", "alice").json()["files"]
    assert [item["id"] for item in listing] == [record["id"]]
    assert live_kit.call("GET", "/api/files", "bob").json()["files"] == []
    # Confirming afterwards (say, after a lost answer) finds the same record.
    assert live_kit.confirm(signed["key"], user="alice").json() == record


def test_with_login_off_the_callback_records_in_the_shared_list(tmp_path, clock):
    with running_kit(tmp_path, clock) as kit:
        signed, stored = kit.upload("a.pdf", b"%PDF-1.4")
        assert stored.status_code == 200 and stored.json()["key"] == signed["key"]
        assert [f["key"] for f in kit.call("GET", "/api/files").json()["files"]] == [signed["key"]]


def test_signer_down_during_the_callback_gives_203_then_confirm_records(tmp_path, clock):
    with running_kit(tmp_path, clock, emulator_calls_back=False) as kit:
        signed, stored = kit.upload("a.txt", b"hello")
        assert stored.status_code == 203 and b"CallbackFailed" in stored.content
        assert kit.app.extensions["bucket"].head(signed["key"]) is not None  # the object is kept
        assert kit.db.list_uploads("", 10) == []
        confirmed = kit.confirm(signed["key"])
        assert confirmed.status_code == 200 and confirmed.json()["key"] == signed["key"]
