"""ram_role_arn: AssumeRole through sts20150401, faked with `responses` and with a real local server."""
from __future__ import annotations

import json
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from server import create_app
from server.post_form import sign_policy
from tests.fakes import (
    ACCESS_KEY_ID,
    BUCKET,
    ROLE_ARN,
    STS_KEY_ID,
    STS_SECRET,
    STS_TOKEN,
    STS_URL,
    LocalHttpServer,
    ram_role_config,
    sts_error,
    sts_success,
    wait_until,
)


@pytest.fixture
def sts():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def sts_params(call) -> dict:
    return {name: values[0] for name, values in parse_qs(urlparse(call.request.url).query).items()}


def signed(client, name="a.jpg"):
    started = time.monotonic()
    response = client.get(f"/generate_signature?filename={name}&size=1")
    return response, time.monotonic() - started


def test_success_and_what_is_sent(sts, clock):
    sts.add(responses.POST, STS_URL, json=sts_success(clock() + timedelta(hours=1)))
    app = create_app(ram_role_config(clock))
    response, _ = signed(app.test_client())
    assert response.status_code == 200
    body = response.get_json()
    assert body["security_token"] == STS_TOKEN
    assert body["x_oss_credential"] == f"{STS_KEY_ID}/20261129/cn-hangzhou/oss/aliyun_v4_request"
    assert body["host"] == f"https://{BUCKET}.oss-cn-hangzhou.aliyuncs.com"
    assert sign_policy(body["policy"], STS_SECRET, "20261129", "cn-hangzhou") == body["signature"]

    assert len(sts.calls) == 1
    request = sts.calls[0].request
    assert request.method == "POST"
    assert request.headers["x-acs-action"] == "AssumeRole"
    assert request.headers["Authorization"].startswith(f"ACS3-HMAC-SHA256 Credential={ACCESS_KEY_ID},")
    params = sts_params(sts.calls[0])
    assert params["RoleArn"] == ROLE_ARN
    assert params["RoleSessionName"] == "oss-wechat-upload"
    assert params["DurationSeconds"] == "3600"
    policy = json.loads(params["Policy"])
    assert policy["Statement"] == [
        {"Effect": "Allow", "Action": ["oss:PutObject", "oss:GetObject", "oss:DeleteObject", "oss:ListParts",
                                       "oss:AbortMultipartUpload"],
         "Resource": [f"acs:oss:*:*:{BUCKET}/uploads/*"]}
    ]


def test_session_policy_follows_settings(sts, clock):
    sts.add(responses.POST, "https://sts.cn-shanghai.aliyuncs.com/", json=sts_success(clock() + timedelta(hours=2)))
    app = create_app(
        ram_role_config(
            clock,
            OSS_REGION="oss-cn-shanghai",
            OSS_UPLOAD_DIR="media/wx",
            STS_DURATION_SECONDS="7200",
            ALIBABA_CLOUD_ROLE_SESSION_NAME="signer-01",
        )
    )
    response, _ = signed(app.test_client())
    assert response.status_code == 200 and response.get_json()["key"].startswith("media/wx/2026/11/29/")
    params = sts_params(sts.calls[0])
    assert (params["DurationSeconds"], params["RoleSessionName"]) == ("7200", "signer-01")
    statement = json.loads(params["Policy"])["Statement"]
    assert [s["Action"][0] for s in statement] == ["oss:PutObject"]  # the same actions, another folder
    assert [s["Resource"] for s in statement] == [[f"acs:oss:*:*:{BUCKET}/media/wx/*"]]


def test_only_reconciles_credentials_may_list_and_only_the_upload_dir(sts, clock):
    from server.reconcile import listing_client

    sts.add(responses.POST, "https://sts.cn-hangzhou.aliyuncs.com/", json=sts_success(clock() + timedelta(hours=2)))
    app = create_app(ram_role_config(clock))
    signed(app.test_client())
    listing_client(app)._credentials.get()
    signer, reconcile = [json.loads(sts_params(call)["Policy"])["Statement"] for call in sts.calls[:2]]
    assert "oss:ListObjects" not in json.dumps(signer) and reconcile[:1] == signer
    assert reconcile[1:] == [
        {"Effect": "Allow", "Action": ["oss:ListObjects"], "Resource": [f"acs:oss:*:*:{BUCKET}"],
         "Condition": {"StringLike": {"oss:Prefix": ["uploads/*"]}}},
        {"Effect": "Allow", "Action": ["oss:ListMultipartUploads"], "Resource": [f"acs:oss:*:*:{BUCKET}"]},
    ]


FAILURES = [
    pytest.param(dict(status=403, json=sts_error("NoPermission", "You are not authorized to do this action.")), "NoPermission", "AliyunSTSAssumeRoleAccess", id="NoPermission"),
    pytest.param(dict(status=400, json=sts_error("InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.")), "InvalidParameter.RoleArn", "ALIBABA_CLOUD_ROLE_ARN", id="InvalidRoleArn"),
    pytest.param(dict(status=404, json=sts_error("EntityNotExist.Role", "The specified Role not exists.")), "EntityNotExist.Role", "角色不存在", id="NoSuchRole"),
    pytest.param(dict(status=500, json=sts_error("InternalError", "The request processing has failed due to some unknown error.")), "InternalError", "修复建议", id="500"),
    pytest.param(dict(status=503, json=sts_error("ServiceUnavailable", "The request has failed due to a temporary failure of the server.")), "ServiceUnavailable", "修复建议", id="503"),
    pytest.param(dict(status=502, body="<html>Bad Gateway</html>", content_type="text/html"), "STSUnreachable", "修复建议", id="502-html"),
    pytest.param(dict(body=requests.ConnectionError("Connection refused")), "STSUnreachable", "STS_ENDPOINT", id="network"),
    pytest.param(dict(body=requests.Timeout("Read timed out")), "STSUnreachable", "STS_ENDPOINT", id="timeout"),
    pytest.param(dict(status=200, json={"RequestId": "x", "Credentials": {"AccessKeyId": "STS.x", "Expiration": "2026-11-29T03:00:00.000Z"}}), "STSBadResponse", "STS_ENDPOINT", id="bad-200"),
]


@pytest.mark.parametrize("reply, cause, hint", FAILURES)
def test_failures_answer_503_and_log_the_cause(sts, clock, caplog, reply, cause, hint):
    sts.add(responses.POST, STS_URL, **reply)
    app = create_app(ram_role_config(clock))
    response, elapsed = signed(app.test_client())
    assert response.status_code == 503 and elapsed < 2
    assert response.get_json()["error"]["code"] == "CredentialsUnavailable"
    assert response.headers["Retry-After"]
    text = response.get_data(as_text=True)
    for private in ("NoPermission", "EntityNotExist", "InvalidParameter", "RequestId", "修复建议", "STS", ROLE_ARN):
        assert private not in text
    warnings = [r.getMessage() for r in caplog.records if r.name == "server.credentials"]
    assert len(warnings) == 1, warnings
    assert cause in warnings[0] and hint in warnings[0]
    assert "Traceback" not in caplog.text
    health = app.test_client().get("/healthz").get_json()
    assert health["status"] == "degraded" and health["credentials"]["usable"] is False


def test_recovers_without_restart(sts, clock, caplog):
    sts.add(responses.POST, STS_URL, status=500, json=sts_error("InternalError"))
    app = create_app(ram_role_config(clock))
    client = app.test_client()
    assert signed(client)[0].status_code == 503
    sts.replace(responses.POST, STS_URL, json=sts_success(clock() + timedelta(hours=1)))
    assert signed(client)[0].status_code == 503  # still backing off
    clock.advance(1)
    assert signed(client)[0].status_code == 200
    assert len(sts.calls) == 2
    assert "临时凭证已恢复" in caplog.text


def test_sdk_loggers_print_nothing_themselves(sts, clock, capfd):
    sts.add(responses.POST, STS_URL, body=requests.ConnectionError("Connection refused"))
    app = create_app(ram_role_config(clock))
    assert signed(app.test_client())[0].status_code == 503
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err


def test_real_local_endpoint(clock):
    expiration = clock() + timedelta(hours=1)
    with LocalHttpServer(lambda request: (200, sts_success(expiration))) as server:
        app = create_app(ram_role_config(clock, STS_ENDPOINT=server.url))
        response, _ = signed(app.test_client())
        assert response.status_code == 200 and response.get_json()["security_token"] == STS_TOKEN
    (request,) = server.requests
    assert request["method"] == "POST" and request["body"] == b""
    params = {k: v[0] for k, v in parse_qs(urlparse(request["path"]).query).items()}
    assert params["RoleArn"] == ROLE_ARN and params["DurationSeconds"] == "3600"
    assert json.loads(params["Policy"])["Statement"][0]["Action"][0] == "oss:PutObject"


def test_real_local_endpoint_refusing(clock, caplog):
    with LocalHttpServer(lambda request: (403, sts_error("NoPermission"))) as server:
        app = create_app(ram_role_config(clock, STS_ENDPOINT=server.url))
        response, elapsed = signed(app.test_client())
    assert response.status_code == 503 and elapsed < 2
    assert "NoPermission" in caplog.text and "AliyunSTSAssumeRoleAccess" in caplog.text


def test_real_local_endpoint_down(clock, caplog):
    with LocalHttpServer(lambda request: (200, {})) as server:
        url = server.url  # a port that was just free and is closed again
    app = create_app(ram_role_config(clock, STS_ENDPOINT=url))
    response, elapsed = signed(app.test_client())
    assert response.status_code == 503 and elapsed < 2
    assert "STSUnreachable" in caplog.text


def test_real_local_endpoint_slow(clock, caplog, monkeypatch):
    # Still longer than the 1.5 s requests wait, shorter than the default so the test is quick.
    monkeypatch.setattr("server.credentials.sts.READ_TIMEOUT_MS", 1800)
    holder = {}

    def slow(request):
        holder["server"].release.wait(10)
        return 200, sts_success(clock() + timedelta(hours=1))

    with LocalHttpServer(slow) as server:
        holder["server"] = server
        app = create_app(ram_role_config(clock, STS_ENDPOINT=server.url))
        response, elapsed = signed(app.test_client())
        assert response.status_code == 503 and elapsed < 2
        assert response.get_json()["error"]["code"] == "CredentialsUnavailable"
        # The read timeout ends the hung call; its cause lands in the log.
        assert wait_until(lambda: "STSUnreachable" in caplog.text, timeout=5)
        assert "timed out" in caplog.text.lower() or "timeout" in caplog.text.lower()
