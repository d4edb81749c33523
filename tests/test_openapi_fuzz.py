"""Hostile input against docs/openapi.yaml (schemathesis, bounded): no 5xx, every response
matches the schema, every error carries a code. Two servers: local mode (login off) and login on
(code2session faked: codes starting with `code-` are accepted)."""
from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, positive_data_acceptance

from server import create_app

SPEC_PATH = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"
EXAMPLES = 40  # per operation and server: about 10 s in all on the 2-core machine

def _code2session(request):
    code = parse_qs(urlparse(request.url).query).get("js_code", [""])[0]
    if code.startswith("code-"):
        return 200, {}, json.dumps({"openid": "openid-" + code[5:], "session_key": "never-shown"})
    return 200, {}, json.dumps({"errcode": 40029, "errmsg": "invalid code"})


@pytest.fixture(scope="module", autouse=True)
def wechat():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, "https://api.weixin.qq.com/sns/jscode2session", callback=_code2session)
        yield mock


def _schema(**settings_):
    storage = tempfile.mkdtemp(prefix="openapi-fuzz-")
    atexit.register(shutil.rmtree, storage, True)
    app = create_app({"TESTING": True, "CREDENTIALS_TYPE": "local", "LOCAL_OSS_DIR": storage,
                      "SIGN_RATE_LIMIT": "1000000/second", "LOGIN_RATE_LIMIT": "1000000/second", **settings_})
    schema = schemathesis.openapi.from_path(SPEC_PATH)
    schema.app = app
    return schema


local_schema = _schema()
login_schema = _schema(WECHAT_APPID="wx1234567890abcdef", WECHAT_APP_SECRET="fuzz-app-secret",
                       SECRET_KEY="fuzz-secret-key-0123456789abcdef")


def _call(case):
    # Which file names are allowed is configuration, not schema: a 4xx for a schema-valid name is fine.
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance], additional_checks=[not_a_server_error])
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert json.loads(response.content)["error"]["code"]


BOUNDED = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@local_schema.parametrize()
@BOUNDED
def test_local_mode(case):
    _call(case)


@login_schema.parametrize()
@BOUNDED
def test_login_on(case):
    _call(case)
