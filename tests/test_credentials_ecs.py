"""ecs_ram_role: the ECS metadata service (IMDSv2) faked with `responses` at 100.100.100.200."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests
import responses
from responses import matchers

from server import create_app
from server.post_form import sign_policy
from tests.fakes import IMDS_CREDS_URL, IMDS_TOKEN_URL, ROLE_NAME, STS_KEY_ID, STS_SECRET, STS_TOKEN, ecs_config, imds_success

IMDS_TOKEN = "AQAEAKmL-imds-session-token"
ROLE_LIST_URL = "http://100.100.100.200/latest/meta-data/ram/security-credentials/"


@pytest.fixture
def imds():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def serve_token(imds):
    imds.add(
        responses.PUT,
        IMDS_TOKEN_URL,
        body=IMDS_TOKEN,
        match=[matchers.header_matcher({"X-aliyun-ecs-metadata-token-ttl-seconds": "21600"})],
    )


def serve_credentials(imds, expiration, url=IMDS_CREDS_URL):
    imds.add(
        responses.GET,
        url,
        json=imds_success(expiration),
        match=[matchers.header_matcher({"X-aliyun-ecs-metadata-token": IMDS_TOKEN})],
    )


def sign(client):
    started = time.monotonic()
    response = client.get("/generate_signature?filename=a.png&size=1")
    return response, time.monotonic() - started


def test_success_over_imds_v2(imds, clock):
    serve_token(imds)
    serve_credentials(imds, clock() + timedelta(hours=6))
    app = create_app(ecs_config(clock))
    response, _ = sign(app.test_client())
    assert response.status_code == 200
    body = response.get_json()
    assert body["security_token"] == STS_TOKEN
    assert body["x_oss_credential"].startswith(STS_KEY_ID + "/")
    assert sign_policy(body["policy"], STS_SECRET, "20261129", "cn-hangzhou") == body["signature"]
    assert [call.request.method for call in imds.calls] == ["PUT", "GET"]
    assert app.test_client().get("/healthz").get_json()["mode"] == "ecs_ram_role"


def test_role_name_discovered_when_not_configured(imds, clock):
    serve_token(imds)
    imds.add(responses.GET, ROLE_LIST_URL, body=ROLE_NAME, match=[matchers.header_matcher({"X-aliyun-ecs-metadata-token": IMDS_TOKEN})])
    serve_credentials(imds, clock() + timedelta(hours=6))
    config = ecs_config(clock)
    del config["ALIBABA_CLOUD_ECS_METADATA"]
    app = create_app(config)
    assert sign(app.test_client())[0].status_code == 200


def test_wrong_role_is_404(imds, clock, caplog):
    serve_token(imds)
    imds.add(responses.GET, IMDS_CREDS_URL, status=404, body="Not Found")
    app = create_app(ecs_config(clock))
    response, elapsed = sign(app.test_client())
    assert response.status_code == 503 and elapsed < 2
    assert response.get_json()["error"]["code"] == "CredentialsUnavailable"
    assert "RoleNotAttached" in caplog.text and "ALIBABA_CLOUD_ECS_METADATA" in caplog.text
    assert ROLE_NAME not in response.get_data(as_text=True)


def test_token_refused_no_fallback_to_imds_v1(imds, clock, caplog):
    imds.add(responses.PUT, IMDS_TOKEN_URL, status=403, body="Forbidden")
    imds.add(responses.GET, IMDS_CREDS_URL, json=imds_success(clock() + timedelta(hours=6)))
    app = create_app(ecs_config(clock))
    assert sign(app.test_client())[0].status_code == 503
    assert [call.request.method for call in imds.calls] == ["PUT"]  # never a token-less GET
    assert "MetadataBadResponse" in caplog.text  # it answered: not a network problem


def test_failure_body_is_refused(imds, clock, caplog):
    serve_token(imds)
    imds.add(responses.GET, IMDS_CREDS_URL, json={"Code": "Failed", "Message": "role not ready"})
    app = create_app(ecs_config(clock))
    assert sign(app.test_client())[0].status_code == 503
    assert "拿不到临时凭证" in caplog.text and "MetadataBadResponse" in caplog.text


def test_down_then_back(imds, clock, caplog):
    imds.add(responses.PUT, IMDS_TOKEN_URL, body=requests.ConnectionError("No route to host"))
    app = create_app(ecs_config(clock))
    client = app.test_client()
    response, elapsed = sign(client)
    assert response.status_code == 503 and elapsed < 2
    assert "MetadataUnreachable" in caplog.text and "100.100.100.200" in caplog.text
    imds.replace(responses.PUT, IMDS_TOKEN_URL, body=IMDS_TOKEN)
    serve_credentials(imds, clock() + timedelta(hours=6))
    clock.advance(1)
    assert sign(client)[0].status_code == 200
    assert "临时凭证已恢复" in caplog.text


@pytest.mark.parametrize("offset", [timedelta(hours=-24), timedelta(seconds=-1), timedelta(seconds=30)])
def test_expired_credentials_from_metadata_are_never_used(imds, clock, caplog, offset):
    serve_token(imds)
    serve_credentials(imds, clock() + offset)
    app = create_app(ecs_config(clock))
    response, _ = sign(app.test_client())
    assert response.status_code == 503
    assert "ExpiredCredentials" in caplog.text


def test_metadata_down_after_success_never_serves_expired(imds, clock):
    """The SDK's own cache would keep returning the old credentials; ours drops them at expiry."""
    serve_token(imds)
    serve_credentials(imds, clock() + timedelta(hours=1))
    app = create_app(ecs_config(clock))
    client = app.test_client()
    assert sign(client)[0].status_code == 200
    imds.replace(responses.PUT, IMDS_TOKEN_URL, body=requests.ConnectionError("down"))
    clock.advance(3600 - 900)  # refresh point: the refresh fails, old credentials still serve
    assert sign(client)[0].status_code == 200
    clock.advance(900 - 59)
    response, elapsed = sign(client)
    assert response.status_code == 503 and elapsed < 2
    clock.advance(24 * 3600)
    assert sign(client)[0].status_code == 503
