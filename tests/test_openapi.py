"""docs/openapi.yaml stays in step with the code: the same routes and methods, and real
responses (success and every kind of error) match its schemas."""
from __future__ import annotations

import re

from pathlib import Path

import pytest
import responses
import schemathesis
import yaml

from server import create_app
from tests.fakes import CountingSource, source_config
from server.credentials import SourceError

SPEC_PATH = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
WECHAT = "https://api.weixin.qq.com"


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema():
    return schemathesis.openapi.from_path(SPEC_PATH)


def app_routes(app) -> set:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":  # Flask's built-in static route; the server ships no static files
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)  # Flask's <name> is OpenAPI's {name}
        routes |= {(path, method) for method in rule.methods & METHODS}
    return routes


def spec_routes(spec) -> set:
    return {(path, method.upper()) for path, item in spec["paths"].items() for method in item if method.upper() in METHODS}


def test_every_route_is_in_the_spec_and_back(app, spec):
    assert app_routes(app) == spec_routes(spec)


def test_every_error_response_uses_the_error_schema(spec):
    def error_ref(response):
        if "$ref" in response:
            response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        return response["content"]["application/json"]["schema"]["$ref"]

    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert error_ref(response) == "#/components/schemas/Error", (path, method, status)


def check(schema, path, method, response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    schema[path][method].validate_response(response)  # raises with the mismatch
    if status >= 400:
        assert response.get_json()["error"]["code"]


@pytest.mark.parametrize("query,status", [
    ("filename=%E7%85%A7%E7%89%87.jpg&size=1024", 200),
    ("", 400),
    ("filename=a.jpg&size=abc", 400),
    ("filename=a.jpg&size=999999999999", 413),
    ("filename=a.exe&size=1", 415),
    ("filename=" + "a" * 5000 + ".jpg", 400),
])
def test_signature_responses_match(client, schema, query, status):
    check(schema, "/generate_signature", "GET", client.get("/generate_signature?" + query), status)


def test_healthz_matches_ok_and_degraded(client, schema, clock):
    check(schema, "/healthz", "GET", client.get("/healthz"), 200)
    source = CountingSource(clock)
    source.error = SourceError("STSUnreachable", "down")
    degraded = create_app(source_config(clock, source)).test_client()
    response = degraded.get("/healthz")
    check(schema, "/healthz", "GET", response, 200)
    assert response.get_json()["status"] == "degraded"
    check(schema, "/generate_signature", "GET", degraded.get("/generate_signature?filename=a.jpg&size=1"), 503)


def test_login_disabled_in_local_mode_matches(client, schema):
    check(schema, "/api/login", "POST", client.post("/api/login", json={"code": "x"}), 404)


@pytest.fixture
def login_client(local_config):
    config = {**local_config, "WECHAT_APPID": "wx1234567890abcdef", "WECHAT_APP_SECRET": "app-secret-for-openapi",
              "SECRET_KEY": "openapi-test-secret-key-0123456789", "SIGN_RATE_LIMIT": "2/minute"}
    return create_app(config).test_client()


def test_login_flow_responses_match(login_client, schema):
    with responses.RequestsMock() as wechat:
        wechat.add(responses.GET, f"{WECHAT}/sns/jscode2session", body='{"openid":"o-1","session_key":"k"}')
        wechat.add(responses.GET, f"{WECHAT}/sns/jscode2session", body='{"errcode":40029,"errmsg":"invalid code"}')
        wechat.add(responses.GET, f"{WECHAT}/sns/jscode2session", body="<html>")
        login = login_client.post("/api/login", json={"code": "code-1"})
        check(schema, "/api/login", "POST", login, 200)
        check(schema, "/api/login", "POST", login_client.post("/api/login", json={"code": "bad"}), 401)
        check(schema, "/api/login", "POST", login_client.post("/api/login", json={"code": "garbage"}), 502)
    check(schema, "/api/login", "POST", login_client.post("/api/login", data="not json"), 400)
    check(schema, "/generate_signature", "GET", login_client.get("/generate_signature?filename=a.jpg&size=1"), 401)
    headers = {"Authorization": "Bearer " + login.get_json()["token"]}
    for _ in range(2):
        check(schema, "/generate_signature", "GET", login_client.get("/generate_signature?filename=a.jpg&size=1", headers=headers), 200)
    check(schema, "/generate_signature", "GET", login_client.get("/generate_signature?filename=a.jpg&size=1", headers=headers), 429)


def test_unknown_route_and_wrong_method_are_json_errors(client):
    for response, status in ((client.get("/nope"), 404), (client.delete("/healthz"), 405)):
        assert response.status_code == status and response.get_json()["error"]["code"]
