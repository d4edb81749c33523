"""The HTTP API: the answer's shape, and every bad input as a JSON error (never HTML, never 500)."""
from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote, unquote

import pytest

from server import create_app
from server.credentials.local import check_token
from server.post_form import sign_policy
from tests.fakes import LOCAL_SECRET, local_mode_config, wait_until

KEY_RE = re.compile(r"^uploads/2026/11/29/[0-9a-f]{32}(\.[a-z0-9]+)?$")


@pytest.fixture
def app(clock, tmp_path):
    return create_app(local_mode_config(clock, tmp_path, OSS_MAX_SIZE="1048576"))


@pytest.fixture
def client(app):
    return app.test_client()


def get(client, **params):
    query = "&".join(f"{name}={quote(str(value), safe='')}" for name, value in params.items())
    return client.get("/generate_signature" + ("?" + query if query else ""))


def assert_json_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert body["error"]["message"]
    assert "<html" not in response.get_data(as_text=True).lower()
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_request_without_filename_or_size_is_refused(client):
    """The extension allow-list is hard and the size is pinned: both are required by default."""
    assert_json_error(client.get("/generate_signature"), 400, "MissingFilename")
    assert_json_error(get(client, filename="a.jpg"), 400, "MissingSize")


def test_tutorial_client_without_parameters_behind_the_explicit_setting(clock, tmp_path):
    client = create_app(local_mode_config(clock, tmp_path, OSS_MAX_SIZE="1048576",
                                          OSS_ALLOW_NAMELESS_UPLOADS="true")).test_client()
    response = client.get("/generate_signature")
    assert response.status_code == 200
    body = response.get_json()
    for name in ("policy", "x_oss_signature_version", "x_oss_credential", "x_oss_date", "signature", "security_token"):
        assert body[name], name
    assert body["x_oss_signature_version"] == "OSS4-HMAC-SHA256"
    assert body["host"] == "http://127.0.0.1:5001"
    assert KEY_RE.match(body["key"])
    assert body["maxSize"] == 1048576
    assert body["expire"] == "2026-11-29T02:10:00.000Z"
    assert body["formData"]["Content-Type"] == "application/octet-stream"
    # Without a declared size the range is the configured maximum (the weaker, opt-in mode).
    assert ["content-length-range", 1, 1048576] in json.loads(base64.b64decode(body["policy"]))["conditions"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_answer_is_consistent_and_verifiable(client, clock):
    body = get(client, filename="合同 扫描件.pdf", size=1024).get_json()
    form = body["formData"]
    assert form["key"] == body["key"] and body["key"].endswith(".pdf")
    assert form["policy"] == body["policy"]
    assert form["x-oss-signature"] == body["signature"]
    assert form["x-oss-credential"] == body["x_oss_credential"]
    assert form["x-oss-date"] == body["x_oss_date"] == "20261129T020000Z"
    assert form["x-oss-security-token"] == body["security_token"]
    assert form["Content-Type"] == "application/pdf"
    assert unquote(form["Content-Disposition"].split("UTF-8''")[1]) == "合同 扫描件.pdf"
    # The emulator's check recovers the temporary secret from the token; the signature must verify.
    temp_id = body["x_oss_credential"].split("/")[0]
    secret = check_token(temp_id, body["security_token"], "LTAI-local-dev-key", LOCAL_SECRET, clock())
    assert sign_policy(body["policy"], secret, "20261129", "cn-hangzhou") == body["signature"]
    policy = json.loads(base64.b64decode(body["policy"]))
    assert ["content-length-range", 1024, 1024] in policy["conditions"]


def test_healthz(client):
    # The first fetch runs in the background after start-up; health reports it once done.
    assert wait_until(lambda: client.get("/healthz").get_json()["credentials"]["usable"])
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["mode"] == "local" and body["status"] == "ok"
    assert LOCAL_SECRET not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "filename",
    ["../../etc/passwd.jpg", "..%2F..%2Fetc%2Fpasswd.jpg", "/etc/passwd.jpg", "..\\..\\boot.ini.png", "微信图片_20261129.jpg", "😀.png"],
)
def test_server_chooses_the_key(client, filename):
    response = get(client, filename=filename, size=1)
    assert response.status_code == 200
    key = response.get_json()["key"]
    assert KEY_RE.match(key) and ".." not in key and "passwd" not in key


@pytest.mark.parametrize(
    "params, status, code",
    [
        ({"filename": ""}, 400, "InvalidFilename"),
        ({"filename": "   "}, 400, "InvalidFilename"),
        ({"filename": "a" * 300 + ".jpg"}, 400, "InvalidFilename"),
        ({"filename": "a\x00.jpg"}, 400, "InvalidFilename"),
        ({"filename": "a\r\nSet-Cookie: x.jpg"}, 400, "InvalidFilename"),
        ({"filename": "a\x1b[31m.jpg"}, 400, "InvalidFilename"),
        ({"filename": ".."}, 400, "InvalidFilename"),
        ({"filename": "virus.exe"}, 415, "ExtensionNotAllowed"),
        ({"filename": "page.html"}, 415, "ExtensionNotAllowed"),
        ({"filename": "noextension"}, 415, "ExtensionNotAllowed"),
        ({"filename": "photo\u202egnp.jpg"}, 400, "InvalidFilename"),  # shows as photojpg.png
        ({"filename": "a\u200b.jpg"}, 400, "InvalidFilename"),
        ({"filename": "a\u2028b.jpg"}, 400, "InvalidFilename"),
        ({"filename": "a\u0085b.jpg"}, 400, "InvalidFilename"),
        ({"filename": "a\uffffb.jpg"}, 400, "InvalidFilename"),
        ({"filename": "\ufeffa.jpg"}, 400, "InvalidFilename"),
        ({"filename": "a.jpg", "size": "0"}, 400, "InvalidSize"),
        ({"filename": "a.jpg", "size": "-5"}, 400, "InvalidSize"),
        ({"filename": "a.jpg", "size": "abc"}, 400, "InvalidSize"),
        ({"filename": "a.jpg", "size": ""}, 400, "InvalidSize"),
        ({"filename": "a.jpg", "size": "1e9"}, 400, "InvalidSize"),
        ({"filename": "a.jpg", "size": "9" * 100}, 400, "InvalidSize"),
        ({"filename": "a.jpg", "size": "1048577"}, 413, "FileTooLarge"),
        ({"filename": "a.jpg", "size": "99999999999"}, 413, "FileTooLarge"),
    ],
)
def test_bad_input(client, params, status, code):
    assert_json_error(get(client, **params), status, code)


def test_size_at_the_limit_is_fine(client):
    assert get(client, filename="a.jpg", size=1048576).status_code == 200


@pytest.mark.parametrize("name", ["👨\u200d👩\u200d👧.jpg", "می\u200cخواهم.png", "年度 报告.pdf"])
def test_joiners_in_real_names_are_fine(client, name):
    assert get(client, filename=name, size=1).status_code == 200


def test_very_long_query_string(client):
    response = get(client, filename="x" * 100_000 + ".jpg", size="1" * 10_000)
    assert response.status_code == 400 and response.mimetype == "application/json"


def test_invalid_percent_encoding_is_not_a_500(client):
    response = client.get("/generate_signature?filename=%FF%FE%ZZ.jpg&size=%")
    assert response.status_code in (200, 400)
    assert response.mimetype == "application/json"


@pytest.mark.parametrize("path", ["/", "/nope", "/generate_signature/", "/healthz/x", "/static/x.js", "/%2e%2e/etc/passwd"])
def test_unknown_routes(client, path):
    assert_json_error(client.get(path), 404, "NotFound")


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_wrong_method(client, method):
    response = getattr(client, method)("/generate_signature", data="x")
    assert_json_error(response, 405, "MethodNotAllowed")
    assert "GET" in response.headers["Allow"]


def test_preflight_grants_no_cors(client):
    response = client.options("/generate_signature", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_an_unexpected_error_is_a_json_500_without_the_traceback(app, caplog):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret-detail-in-the-exception")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.get_json() == {"error": {"code": "InternalError", "message": "服务器内部错误"}}
    assert "secret-detail" not in response.get_data(as_text=True)
    assert "RuntimeError" in caplog.text  # the operator still gets the traceback in the log


def test_head_spends_no_signing_quota(client):
    response = client.head("/generate_signature?filename=a.jpg&size=1")
    assert response.status_code == 405 and response.headers["Allow"] == "GET"
