"""No secret in any response or log line: long-term AccessKey secret, STS/IMDS temporary secrets,
local secrets. The security token is meant for the client; the temporary secret never leaves."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import requests
import responses

from server import create_app
from server.credentials.local import temporary_secret
from tests.fakes import (
    ACCESS_KEY_SECRET,
    IMDS_CREDS_URL,
    IMDS_TOKEN_URL,
    LOCAL_SECRET,
    STS_SECRET,
    STS_TOKEN,
    STS_URL,
    CountingSource,
    ecs_config,
    imds_success,
    local_mode_config,
    ram_role_config,
    source_config,
    sts_error,
    sts_success,
)

PATHS = [
    "/generate_signature",
    "/generate_signature?filename=%E7%85%A7%E7%89%87.jpg&size=1000",
    "/generate_signature?filename=../../etc/passwd.jpg",
    "/generate_signature?filename=a.exe",
    "/generate_signature?size=-1",
    "/generate_signature?size=99999999999999",
    "/healthz",
    "/nope",
]


def everything_said(client, caplog, capfd) -> str:
    """Responses (bodies and headers), log records (with tracebacks) and all stdout/stderr output."""
    parts = []
    for path in PATHS:
        for response in (client.get(path), client.post(path, data={"x": "y"})):
            parts.append(response.get_data(as_text=True))
            parts.extend(f"{k}: {v}" for k, v in response.headers.items())
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(str(record.args))
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
    out, err = capfd.readouterr()
    parts += [out, err]
    return "\n".join(parts)


def assert_no_secret(text: str, *secrets: str):
    for secret in secrets:
        assert secret not in text


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_ram_role_success_and_failures(mocked, clock, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    mocked.add(responses.POST, STS_URL, json=sts_success(clock() + timedelta(hours=1)))
    app = create_app(ram_role_config(clock))
    client = app.test_client()
    body = client.get("/generate_signature?filename=a.jpg&size=1").get_json()
    assert body["security_token"] == STS_TOKEN  # handed to the client on purpose
    said = everything_said(client, caplog, capfd)

    for reply in (
        dict(status=403, json=sts_error("NoPermission")),
        dict(status=500, json=sts_error("InternalError")),
        dict(body=requests.ConnectionError("refused")),
        dict(status=200, json={"Credentials": {"AccessKeySecret": STS_SECRET, "Expiration": "bad"}}),
    ):
        mocked.replace(responses.POST, STS_URL, **reply)
        failing = create_app(ram_role_config(clock))
        said += everything_said(failing.test_client(), caplog, capfd)
    assert "CredentialsUnavailable" in said and "NoPermission" in said  # the capture works
    assert_no_secret(said, ACCESS_KEY_SECRET, STS_SECRET)


def test_ecs_success_and_failure(mocked, clock, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    mocked.add(responses.PUT, IMDS_TOKEN_URL, body="imds-token")
    mocked.add(responses.GET, IMDS_CREDS_URL, json=imds_success(clock() + timedelta(hours=6)))
    app = create_app(ecs_config(clock))
    said = everything_said(app.test_client(), caplog, capfd)
    mocked.replace(responses.GET, IMDS_CREDS_URL, json=imds_success(clock() - timedelta(hours=1)))
    expired = create_app(ecs_config(clock))
    said += everything_said(expired.test_client(), caplog, capfd)
    assert "ExpiredCredentials" in said
    assert_no_secret(said, STS_SECRET)


def test_local_mode(clock, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    app = create_app(local_mode_config(clock, tmp_path))
    client = app.test_client()
    body = client.get("/generate_signature?filename=a.jpg&size=1").get_json()
    temp_secret = temporary_secret(LOCAL_SECRET, body["x_oss_credential"].split("/")[0])
    said = everything_said(client, caplog, capfd)
    assert_no_secret(said, LOCAL_SECRET, temp_secret)


def test_redaction_is_the_last_line_of_defence(clock, caplog, capfd):
    """Even an exception text that carries the long-term secret reaches stderr masked."""

    class Leaky(CountingSource):
        def fetch(self):
            raise RuntimeError(f"SDK said: bad key {ACCESS_KEY_SECRET}")

    app = create_app(source_config(clock, Leaky(clock)))
    assert app.test_client().get("/generate_signature?filename=a.jpg&size=1").status_code == 503
    out, err = capfd.readouterr()
    assert "UnexpectedError" in err and "***" in err
    assert ACCESS_KEY_SECRET not in out + err


def test_presigned_urls_never_reach_a_log(tmp_path, clock, caplog):
    """urllib3 logs request paths with their query at DEBUG; a presigned URL's query is its
    signature and security token. The app keeps that logger at WARNING, whatever the root says."""
    import logging

    from tests.kit import running_kit

    caplog.set_level(logging.DEBUG)
    with running_kit(tmp_path, clock) as kit:
        signed, stored = kit.upload("a.txt", b"hello")
        assert stored.status_code == 200
        item = kit.call("GET", "/api/files").json()["files"][0]
        assert kit.http.get(item["url"], timeout=10).status_code == 200
    assert logging.getLogger("urllib3").getEffectiveLevel() >= logging.WARNING
    assert "x-oss-signature" not in caplog.text and "x-oss-security-token" not in caplog.text
