"""Login through WECHAT_API_BASE against a real local stand-in, and limits in a real Redis."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from server import create_app
from tests.fake_wechat import FakeWeChat
from tests.net import free_port


@pytest.fixture
def wechat():
    with FakeWeChat() as fake:
        yield fake


@pytest.fixture
def e2e_config(local_config, wechat):
    return {
        **local_config,
        "WECHAT_APPID": wechat.appid,
        "WECHAT_APP_SECRET": wechat.secret,
        "WECHAT_API_BASE": wechat.base,
        "SECRET_KEY": "e2e-secret-key-0123456789abcdef",
    }


def test_login_and_sign_through_the_wechat_stand_in(e2e_config, wechat):
    client = create_app(e2e_config).test_client()
    response = client.post("/api/login", json={"code": "code-carol"})
    assert response.status_code == 200
    assert wechat.calls[-1]["grant_type"] == "authorization_code"
    token = response.get_json()["token"]
    signed = client.get("/generate_signature?filename=x.png&size=1", headers={"Authorization": f"Bearer {token}"})
    assert signed.status_code == 200 and signed.get_json()["key"].startswith("uploads/")
    assert "fake-session-key-secret" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "code, status, error",
    [("used", 401, "InvalidCode"), ("nonsense", 401, "InvalidCode"), ("busy", 503, "WeChatUnavailable"),
     ("garbage", 502, "WeChatBadResponse")],
)
def test_wechat_stand_in_errors(e2e_config, code, status, error):
    response = create_app(e2e_config).test_client().post("/api/login", json={"code": code})
    assert response.status_code == status and response.get_json()["error"]["code"] == error


def test_slow_wechat_gives_503_within_3_seconds(e2e_config):
    client = create_app(e2e_config).test_client()
    started = time.monotonic()
    response = client.post("/api/login", json={"code": "slow"})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "WeChatUnavailable"
    assert time.monotonic() - started < 3.0




@pytest.fixture
def redis_uri(tmp_path):
    binary = shutil.which("redis-server")
    if not binary:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server); `make test` installs it where it can")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_limits_are_shared_through_redis(e2e_config, redis_uri):
    config = {**e2e_config, "RATELIMIT_STORAGE_URI": redis_uri, "SIGN_RATE_LIMIT": "2/minute"}
    # Two app instances (two servers behind a load balancer) share one quota per user.
    first, second = create_app(config).test_client(), create_app(config).test_client()
    token = first.post("/api/login", json={"code": "code-dave"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert first.get("/generate_signature?filename=a.jpg&size=1", headers=headers).status_code == 200
    assert second.get("/generate_signature?filename=a.jpg&size=1", headers=headers).status_code == 200
    limited = first.get("/generate_signature?filename=a.jpg&size=1", headers=headers)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_redis_down_is_a_clear_503_not_a_500(e2e_config):
    config = {**e2e_config, "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{free_port()}/0"}
    client = create_app(config).test_client()
    response = client.post("/api/login", json={"code": "code-erin"})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "RateLimitUnavailable"
