"""Login: wx.login code -> token -> per-user signatures; errors, tokens, folders, secrets."""
from __future__ import annotations

import json
import logging

import pytest
import requests
import responses

from server import create_app
from server.config import ConfigError

WECHAT = "https://api.weixin.qq.com"
APP_SECRET = "wx-app-secret-do-not-leak"
SECRET_KEY = "test-secret-key-0123456789abcdef"
SESSION_KEY = "session-key-do-not-leak"


def wechat_reply(body, status=200):
    return responses.Response(
        responses.GET, f"{WECHAT}/sns/jscode2session", body=body if isinstance(body, str) else json.dumps(body),
        status=status, content_type="text/plain",
    )


@pytest.fixture
def auth_config(local_config):
    return {
        **local_config,
        "WECHAT_APPID": "wx1234567890abcdef",
        "WECHAT_APP_SECRET": APP_SECRET,
        "SECRET_KEY": SECRET_KEY,
        "SIGN_RATE_LIMIT": "1000/minute",
        "LOGIN_RATE_LIMIT": "1000/minute",
    }


@pytest.fixture
def auth_client(auth_config):
    return create_app(auth_config).test_client()


def login(client, openid="openid-alice", code="code-1"):
    with responses.RequestsMock() as mock:
        mock.add(wechat_reply({"openid": openid, "session_key": SESSION_KEY}))
        response = client.post("/api/login", json={"code": code})
        assert response.status_code == 200, response.get_json()
        sent = mock.calls[0].request
        assert "js_code=" + code in sent.url and "grant_type=authorization_code" in sent.url
        assert "appid=wx1234567890abcdef" in sent.url
    return response.get_json()


def sign(client, token=None, filename="a.jpg"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(f"/generate_signature?filename={filename}&size=10", headers=headers)


def test_login_then_sign_into_own_folder(auth_client):
    body = login(auth_client)
    assert set(body) == {"token", "expiresIn"} and body["expiresIn"] == 7200
    response = sign(auth_client, body["token"])
    assert response.status_code == 200
    key = response.get_json()["key"]
    parts = key.split("/")
    assert parts[0] == "uploads" and len(parts[1]) == 24 and parts[2] == "2026"
    assert "openid-alice" not in json.dumps(response.get_json())


def test_two_users_get_different_folders_and_never_anothers(auth_client):
    alice = login(auth_client, "openid-alice")["token"]
    bob = login(auth_client, "openid-bob", code="code-2")["token"]
    folder_a = sign(auth_client, alice).get_json()["key"].split("/")[1]
    folder_b = sign(auth_client, bob).get_json()["key"].split("/")[1]
    assert folder_a != folder_b
    # Stable for the same user; the client's file name can never steer the key elsewhere.
    for name in ("../" + folder_b + "/x.jpg", "..%2F..%2Fx.jpg", "/uploads/" + folder_b + "/y.jpg"):
        key = sign(auth_client, alice, name).get_json()["key"]
        assert key.startswith(f"uploads/{folder_a}/"), key


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic abc", "bearer x.y.z"])
def test_missing_or_bad_token_is_401(auth_client, header):
    headers = {"Authorization": header} if header else {}
    response = auth_client.get("/generate_signature?filename=a.jpg&size=1", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "Unauthorized"


def test_tampered_token_is_401(auth_client):
    token = login(auth_client)["token"]
    payload, signature = token.split(".", 1)
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    assert sign(auth_client, tampered).status_code == 401
    # Flip a character inside the signature (the last one may only carry padding bits).
    flipped = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    assert sign(auth_client, flipped).status_code == 401


def test_token_from_another_secret_key_is_401(auth_config):
    other = create_app({**auth_config, "SECRET_KEY": "another-secret-key-0123456789"}).test_client()
    token = login(other)["token"]
    assert sign(create_app(auth_config).test_client(), token).status_code == 401


def test_expired_token_is_401(auth_config, clock):
    client = create_app({**auth_config, "SESSION_TTL_SECONDS": "120"}).test_client()
    token = login(client)["token"]
    clock.advance(119)
    assert sign(client, token).status_code == 200
    clock.advance(1)
    assert sign(client, token).status_code == 401


@pytest.mark.parametrize(
    "reply, status, code",
    [
        ({"errcode": 40029, "errmsg": "invalid code"}, 401, "InvalidCode"),
        ({"errcode": 40163, "errmsg": "code been used"}, 401, "InvalidCode"),
        ({"errcode": 45011, "errmsg": "api minute-quota reach limit"}, 429, "TooManyRequests"),
        ({"errcode": -1, "errmsg": "system error"}, 503, "WeChatUnavailable"),
        ("<html>bad gateway</html>", 502, "WeChatBadResponse"),
        ({"errcode": 0}, 502, "WeChatBadResponse"),
        ({"errcode": "40029", "errmsg": "invalid code"}, 401, "InvalidCode"),
        ({"errcode": [40029]}, 502, "WeChatBadResponse"),
        ({"errcode": {"code": 1}}, 502, "WeChatBadResponse"),
        ({"errcode": True}, 502, "WeChatBadResponse"),
        ("[]", 502, "WeChatBadResponse"),
        ({"errcode": 40226, "errmsg": "high risk"}, 403, "UserBlocked"),
        ({"errcode": 99999, "errmsg": "new error"}, 502, "WeChatError"),
        ({"openid": ["not", "a", "string"]}, 502, "WeChatBadResponse"),
    ],
)
def test_wechat_errors(auth_client, reply, status, code):
    with responses.RequestsMock() as mock:
        mock.add(wechat_reply(reply))
        response = auth_client.post("/api/login", json={"code": "c"})
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert ("Retry-After" in response.headers) == (status == 429)


def test_wechat_unreachable_is_503(auth_client):
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{WECHAT}/sns/jscode2session", body=requests.ConnectTimeout("timed out"))
        response = auth_client.post("/api/login", json={"code": "c"})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "WeChatUnavailable"


@pytest.mark.parametrize("body", [None, {}, {"code": ""}, {"code": 12}, ["code"], "code=abc"])
def test_login_needs_a_code(auth_client, body):
    if isinstance(body, str):
        response = auth_client.post("/api/login", data=body, content_type="application/x-www-form-urlencoded")
    else:
        response = auth_client.post("/api/login", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "MissingCode"


def test_sign_rate_limit_per_user(auth_config):
    client = create_app({**auth_config, "SIGN_RATE_LIMIT": "3/minute"}).test_client()
    alice = login(client, "openid-alice")["token"]
    bob = login(client, "openid-bob", code="c2")["token"]
    assert [sign(client, alice).status_code for _ in range(3)] == [200, 200, 200]
    limited = sign(client, alice)
    assert limited.status_code == 429 and limited.get_json()["error"]["code"] == "TooManyRequests"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert sign(client, bob).status_code == 200  # one user's quota does not limit another


def _login_status(client, ip_header=None):
    headers = {"X-Forwarded-For": ip_header} if ip_header else {}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(wechat_reply({"openid": "o", "session_key": SESSION_KEY}))
        return client.post("/api/login", json={"code": "c"}, headers=headers)


def test_login_rate_limit_ignores_spoofed_forwarded_for(auth_config):
    client = create_app({**auth_config, "LOGIN_RATE_LIMIT": "2/minute"}).test_client()
    statuses = [_login_status(client, f"10.0.0.{i}").status_code for i in range(3)]
    assert statuses == [200, 200, 429]


def test_login_rate_limit_honours_trusted_proxy(auth_config):
    client = create_app({**auth_config, "LOGIN_RATE_LIMIT": "2/minute", "TRUST_PROXY_HOPS": "1"}).test_client()
    assert [_login_status(client, "198.51.100.1").status_code for _ in range(3)] == [200, 200, 429]
    assert _login_status(client, "198.51.100.2").status_code == 200
    # With one trusted hop only the last address counts; a client-made prefix changes nothing.
    assert _login_status(client, "203.0.113.9, 198.51.100.1").status_code == 429


def test_cloud_mode_refuses_to_start_without_login_settings():
    base = {"TESTING": True, "OSS_BUCKET": "examplebucket", "ALIBABA_CLOUD_ECS_METADATA": "role"}
    with pytest.raises(ConfigError) as error:
        create_app(base)
    assert error.value.setting == "WECHAT_APPID" and "AUTH_REQUIRED=false" in str(error.value)
    with pytest.raises(ConfigError) as error:
        create_app({**base, "WECHAT_APPID": "wx1", "WECHAT_APP_SECRET": "s"})
    assert error.value.setting == "SECRET_KEY"


def test_auth_off_explicitly_warns_and_healthz_says_so(caplog):
    class Source:
        mode = "ecs_ram_role"

        def fetch(self):
            from datetime import datetime, timedelta, timezone

            from server.post_form import Credentials

            return Credentials("STS.x", "y", "z", datetime.now(timezone.utc) + timedelta(hours=1))

    with caplog.at_level(logging.WARNING, logger="server"):
        app = create_app(
            {"TESTING": True, "OSS_BUCKET": "examplebucket", "ALIBABA_CLOUD_ECS_METADATA": "role",
             "AUTH_REQUIRED": "false", "CREDENTIAL_SOURCE": Source()}
        )
    assert any("AUTH_REQUIRED=false" in r.getMessage() for r in caplog.records)
    assert app.test_client().get("/healthz").get_json()["auth"] == "off"


def test_local_mode_is_open_without_wechat_settings(client):
    assert client.get("/generate_signature?filename=a.jpg&size=1").status_code == 200
    assert client.get("/healthz").get_json()["auth"] == "off"
    assert client.post("/api/login", json={"code": "c"}).status_code == 404


def test_no_secret_in_responses_or_logs(auth_client, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    bodies = []
    token = login(auth_client)["token"]
    bodies.append(sign(auth_client, token).get_data(as_text=True))
    for reply in ({"errcode": 40029, "errmsg": "invalid"}, "garbage"):
        with responses.RequestsMock() as mock:
            mock.add(wechat_reply(reply))
            bodies.append(auth_client.post("/api/login", json={"code": "c"}).get_data(as_text=True))
    bodies.append(auth_client.get("/healthz").get_data(as_text=True))
    captured = capfd.readouterr()
    everything = "\n".join(bodies + [r.getMessage() for r in caplog.records] + [captured.out, captured.err])
    for secret in (SESSION_KEY, APP_SECRET, SECRET_KEY):
        assert secret not in everything
    assert SESSION_KEY not in token


def test_oversized_login_body_is_413_json(auth_client):
    response = auth_client.post("/api/login", data=b"{" + b" " * (64 * 1024) + b"}", content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "RequestTooLarge"


@pytest.mark.parametrize("body", [
    '{"code": "code-\\ud800"}',  # a lone surrogate: not even encodable for the URL to WeChat
    '{"code": "代码"}',
    '{"code": "a b"}',
    "[" * 5000 + "]" * 5000,  # nesting deep enough to overflow the parser's recursion
    '{"code": ' + "[" * 5000 + "]" * 5000 + "}",
    b"\xff\xfe{}",
])
def test_hostile_login_bodies_are_400_not_500(auth_client, body):
    with responses.RequestsMock() as mock:  # any call to WeChat would fail the test: none is registered
        response = auth_client.post("/api/login", data=body, content_type="application/json")
        assert len(mock.calls) == 0
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] in ("MissingCode", "InvalidCode")
