"""Faults on the credential path, over real loopback HTTP with the real SDKs: a flaky, down, slow
STS; ECS metadata hanging at start.

The design under test (server/credentials/cache.py): one background thread refreshes ahead of
expiry while requests keep signing with the cached credentials; only when nothing usable is
cached do requests wait for the refresh, at most 1.5 s each, then answer 503 while that one
refresh carries on (bounded by the SDK's own timeouts: 1 s connect, 3 s read).
"""
from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import responses

from server import create_app
from tests.fakes import (
    IMDS_CREDS_URL,
    IMDS_TOKEN_URL,
    LocalHttpServer,
    ecs_config,
    imds_success,
    ram_role_config,
    sts_error,
    sts_success,
    wait_until,
)
from tests.net import running

REFRESH_AT = 3600 - 900  # 3600 s credentials, refreshed 900 s before expiry


class Sts:
    """A loopback STS whose answers follow the fake clock. `mode`: ok | fail30 | error | slow."""

    def __init__(self, clock, seed: int = 6):
        self.clock = clock
        self.mode = "ok"
        self.calls = 0
        self.failed = 0
        self.random = random.Random(seed)
        self._lock = threading.Lock()
        self.server = LocalHttpServer(self._answer)

    def _answer(self, request):
        with self._lock:
            self.calls += 1
            n = self.calls
            fail = self.mode == "error" or (self.mode == "fail30" and self.random.random() < 0.3)
            self.failed += fail
        if self.mode == "slow":
            self.server.release.wait(5)  # "STS takes 5 s" (the SDK's 3 s read timeout may end it first)
        if fail:
            return 503, sts_error("ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
        return 200, sts_success(self.clock() + timedelta(hours=1), key_id=f"STS.fault{n}")

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)


@pytest.fixture
def sts(clock):
    with Sts(clock) as fake:
        yield fake


def signer_app(clock, sts):
    # One user signs thousands of forms here: far past the default file quota, which is not under test.
    return create_app(ram_role_config(clock, STS_ENDPOINT=sts.server.url, USER_QUOTA_FILES="0", USER_QUOTA_BYTES="0"))


def key_id(response) -> str:
    return response.get_json()["x_oss_credential"].split("/")[0]


def refresh_idle(app) -> bool:
    return not app.extensions["upload_signer"].credentials._refreshing


def test_sts_failing_30_percent_never_fails_a_signature(clock, sts):
    """Three credential lifetimes in fake time, STS failing 30% of calls at random: every
    signature succeeds, because every failed refresh is retried long before the cached
    credentials run out."""
    sts.mode = "fail30"
    app = signer_app(clock, sts)
    client = app.test_client()
    assert wait_until(lambda: client.get("/generate_signature?filename=a.jpg&size=1").status_code == 200, timeout=10)
    statuses, keys = [], set()
    for _ in range(3 * 3600 // 5):
        clock.advance(5)
        response = client.get("/generate_signature?filename=a.jpg&size=1")
        statuses.append(response.status_code)
        if response.status_code == 200:
            keys.add(key_id(response))
        assert wait_until(lambda: refresh_idle(app), timeout=5)
    assert statuses == [200] * len(statuses)
    assert sts.failed >= 1, "the fake never failed: the test proved nothing"
    assert len(keys) >= 3  # credentials really rotated through the failures
    assert sts.calls <= 3 * 6  # retries back off: a handful per lifetime, not one per request


def test_sts_down_at_refresh_then_503_then_recovers(clock, sts, caplog):
    app = signer_app(clock, sts)
    client = app.test_client()
    assert key_id(client.get("/generate_signature?filename=a.jpg&size=1")) == "STS.fault1"

    sts.mode = "error"
    clock.advance(REFRESH_AT)
    for _ in range(20):  # refresh due, STS down: the still-valid credentials keep signing
        response = client.get("/generate_signature?filename=a.jpg&size=1")
        assert response.status_code == 200 and key_id(response) == "STS.fault1"
        assert wait_until(lambda: refresh_idle(app))
        clock.advance(30)
    assert sts.calls > 2 and "ServiceUnavailable" in caplog.text

    clock.advance(900 - 20 * 30 - 59)  # 59 s of life left: too close to expiry to hand out
    started = time.monotonic()
    response = client.get("/generate_signature?filename=a.jpg&size=1")
    assert response.status_code == 503 and time.monotonic() - started < 2
    assert response.get_json()["error"]["code"] == "CredentialsUnavailable"
    assert "ServiceUnavailable" not in response.get_data(as_text=True)  # the cause stays in the log

    sts.mode = "ok"
    clock.advance(10)  # past the longest backoff; no restart, no operator
    assert wait_until(lambda: client.get("/generate_signature?filename=a.jpg&size=1").status_code == 200, timeout=5)
    assert key_id(client.get("/generate_signature?filename=a.jpg&size=1")) != "STS.fault1"
    assert "临时凭证已恢复" in caplog.text


def test_sts_refused_connections_then_back_on_the_same_port(clock, caplog):
    with Sts(clock) as sts:
        url = sts.server.url
        app = create_app(ram_role_config(clock, STS_ENDPOINT=url))
        client = app.test_client()
        assert client.get("/generate_signature?filename=a.jpg&size=1").status_code == 200
    clock.advance(REFRESH_AT)  # nothing listens on the port now
    assert client.get("/generate_signature?filename=a.jpg&size=1").status_code == 200
    assert wait_until(lambda: "STSUnreachable" in caplog.text, timeout=5)
    clock.advance(900 - 59)
    started = time.monotonic()
    assert client.get("/generate_signature?filename=a.jpg&size=1").status_code == 503
    assert time.monotonic() - started < 2

    port = int(url.rsplit(":", 1)[1])
    with _sts_on_port(clock, port):
        clock.advance(10)
        assert wait_until(lambda: client.get("/generate_signature?filename=a.jpg&size=1").status_code == 200, timeout=5)


@contextlib.contextmanager
def _sts_on_port(clock, port):
    """STS listening again on the port it was on before it went down."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.dumps(sts_success(clock() + timedelta(hours=1), key_id="STS.back")).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    with running(server):
        yield


def _refresh_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "credentials-refresh")


def _concurrently(client_factory, count: int):
    results, lock = [], threading.Lock()

    def one():
        started = time.monotonic()
        response = client_factory().get("/generate_signature?filename=a.jpg&size=1")
        with lock:
            results.append((response.status_code, time.monotonic() - started, response))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, results


def test_slow_sts_at_start_one_call_no_pile_up_fast_503(clock, sts, caplog):
    """Nothing cached and STS takes 5 s: 50 requests each wait at most 1.5 s and get 503 while
    the one AssumeRole carries on; no thread per request goes to STS."""
    sts.mode = "slow"
    baseline = threading.active_count()
    app = signer_app(clock, sts)
    assert wait_until(lambda: sts.calls == 1)
    threads, results = _concurrently(app.test_client, 50)
    time.sleep(0.5)
    assert _refresh_threads() == 1
    assert threading.active_count() <= baseline + 50 + 1 + 2  # requests + one refresh (+ the fake's handler)
    for thread in threads:
        thread.join(5)
    assert len(results) == 50
    assert {status for status, _, _ in results} == {503}
    assert max(elapsed for _, elapsed, _ in results) < 2.0
    assert sts.calls == 1
    # The SDK's read timeout (3 s) ends the hung call; then STS answers again and the server recovers.
    assert wait_until(lambda: "STSUnreachable" in caplog.text, timeout=5)
    assert sts.calls == 1 and _refresh_threads() == 0
    sts.mode = "ok"
    clock.advance(2)
    assert wait_until(lambda: app.test_client().get("/generate_signature?filename=a.jpg&size=1").status_code == 200, timeout=5)


def test_slow_sts_during_refresh_nobody_waits(clock, sts):
    app = signer_app(clock, sts)
    assert key_id(app.test_client().get("/generate_signature?filename=a.jpg&size=1")) == "STS.fault1"
    sts.mode = "slow"
    clock.advance(REFRESH_AT)
    threads, results = _concurrently(app.test_client, 50)
    for thread in threads:
        thread.join(5)
    assert [status for status, _, _ in results] == [200] * 50
    assert {key_id(response) for _, _, response in results} == {"STS.fault1"}
    assert max(elapsed for _, elapsed, _ in results) < 1.0
    assert sts.calls == 2 and _refresh_threads() == 1
    sts.mode = "ok"
    sts.server.release.set()  # STS finally answers: the new credentials take over
    assert wait_until(lambda: key_id(app.test_client().get("/generate_signature?filename=a.jpg&size=1")) == "STS.fault2", timeout=5)
    assert sts.calls == 2


def test_ecs_metadata_hanging_at_start(clock, caplog):
    """The metadata service hangs (cut by the SDK's 1 s timeout): the server still starts at once,
    says why in the log, answers 503 fast, and recovers by itself when the service answers."""
    hanging = {"on": True}

    def token(request):
        if hanging["on"]:
            time.sleep(1.0)
            raise requests.exceptions.ReadTimeout("Read timed out. (read timeout=1.0)")
        return 200, {}, "imds-token"

    with responses.RequestsMock(assert_all_requests_are_fired=False) as imds:
        imds.add_callback(responses.PUT, IMDS_TOKEN_URL, callback=token)
        imds.add(responses.GET, IMDS_CREDS_URL, json=imds_success(clock() + timedelta(hours=6)))
        started = time.monotonic()
        app = create_app(ecs_config(clock))
        assert time.monotonic() - started < 0.5  # start-up never waits for the metadata service
        client = app.test_client()
        health = client.get("/healthz")
        assert health.status_code == 200 and health.get_json()["credentials"]["usable"] is False
        started = time.monotonic()
        response = client.get("/generate_signature?filename=a.jpg&size=1")
        assert response.status_code == 503 and time.monotonic() - started < 2
        assert wait_until(lambda: "MetadataUnreachable" in caplog.text, timeout=3)
        assert "100.100.100.200" in caplog.text  # the why, with the fix hint

        hanging["on"] = False
        clock.advance(2)
        assert wait_until(lambda: client.get("/generate_signature?filename=a.jpg&size=1").status_code == 200, timeout=5)
        assert client.get("/healthz").get_json()["credentials"]["usable"] is True
