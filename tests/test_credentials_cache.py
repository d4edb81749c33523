"""Counted: how often credentials are fetched, when they refresh, and that unusable ones never sign."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from server import create_app
from server.credentials import CredentialCache, CredentialsUnavailable, SourceError
from tests.fakes import CountingSource, source_config, wait_until

# Defaults: 3600 s credentials, refresh 900 s before expiry (min(600 + 300, 3600 // 2)).
REFRESH_AT = 3600 - 900


def make_app(clock, source, **extra):
    return create_app(source_config(clock, source, **extra))


def signer_of(app):
    return app.extensions["upload_signer"]


def key_id(response) -> str:
    return response.get_json()["x_oss_credential"].split("/")[0]


def concurrently(app, count: int):
    results, lock = [], threading.Lock()

    def one():
        response = app.test_client().get("/generate_signature?filename=a.jpg&size=1")
        with lock:
            results.append(response)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, results


def test_ten_thousand_signatures_one_fetch(clock):
    source = CountingSource(clock)
    # One user signing 10,000 forms: far past the default file quota, which this test is not about.
    app = make_app(clock, source, USER_QUOTA_FILES="0", USER_QUOTA_BYTES="0")
    signer = signer_of(app)
    keys = set()
    for i in range(10_000):
        keys.add(signer.sign("a.jpg", "100")["key"])
        if i % 10 == 0:
            clock.advance(2)  # 10,000 signatures spread over 2,000 s of the credentials' life
    client = app.test_client()
    for _ in range(20):
        assert client.get("/generate_signature?filename=a.jpg&size=1").status_code == 200
    assert source.calls == 1
    assert len(keys) == 10_000


def test_fifty_concurrent_requests_at_start_one_fetch(clock):
    source = CountingSource(clock)
    source.gate = threading.Event()  # hold the first fetch in flight
    app = make_app(clock, source)
    assert source.started.wait(2)
    threads, results = concurrently(app, 50)
    time.sleep(0.2)
    source.gate.set()
    for thread in threads:
        thread.join(5)
    assert [r.status_code for r in results] == [200] * 50
    assert {key_id(r) for r in results} == {"STS.fake1"}
    assert len({r.get_json()["key"] for r in results}) == 50
    assert source.calls == 1


def test_fifty_concurrent_requests_during_refresh_one_fetch(clock):
    source = CountingSource(clock)
    app = make_app(clock, source)
    client = app.test_client()
    assert key_id(client.get("/generate_signature?filename=a.jpg&size=1")) == "STS.fake1"
    source.gate = threading.Event()
    clock.advance(REFRESH_AT)
    threads, results = concurrently(app, 50)
    for thread in threads:
        thread.join(5)  # nobody waits for the refresh: the old credentials still serve
    assert [r.status_code for r in results] == [200] * 50
    assert {key_id(r) for r in results} == {"STS.fake1"}
    assert source.calls == 2
    source.gate.set()
    assert wait_until(lambda: key_id(client.get("/generate_signature?filename=a.jpg&size=1")) == "STS.fake2")
    assert source.calls == 2


def test_refresh_happens_before_expiry(clock):
    source = CountingSource(clock)
    app = make_app(clock, source)
    client = app.test_client()
    first = client.get("/generate_signature?filename=a.jpg&size=1").get_json()
    clock.advance(REFRESH_AT - 1)
    assert key_id(client.get("/generate_signature?filename=a.jpg&size=1")) == "STS.fake1"
    assert source.calls == 1
    clock.advance(1)
    source.gate = threading.Event()
    during = client.get("/generate_signature?filename=a.jpg&size=1")
    assert during.status_code == 200 and key_id(during) == "STS.fake1"
    assert wait_until(lambda: source.calls == 2)
    source.gate.set()
    assert wait_until(lambda: key_id(client.get("/generate_signature?filename=a.jpg&size=1")) == "STS.fake2")
    # The old credentials still had 15 minutes left when the new ones arrived.
    assert first["expire"] < during.get_json()["expire"]


@pytest.mark.parametrize("lifetime", [-3600, -1, 0, 30, 59])
def test_expired_or_too_short_credentials_never_sign(clock, caplog, lifetime):
    source = CountingSource(clock, lifetime=lifetime)
    app = make_app(clock, source)
    started = time.monotonic()
    response = app.test_client().get("/generate_signature?filename=a.jpg&size=1")
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "CredentialsUnavailable"
    assert "ExpiredCredentials" in caplog.text


@pytest.mark.parametrize("lifetime", [61, 120, 599, 600, 601, 3600])
def test_policy_never_outlives_credentials(clock, lifetime):
    source = CountingSource(clock, lifetime=lifetime)
    app = make_app(clock, source)
    body = app.test_client().get("/generate_signature?filename=a.jpg&size=1").get_json()
    expected = min(clock() + timedelta(seconds=600), clock() + timedelta(seconds=lifetime))
    assert body["expire"] == expected.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_credentials_that_run_low_are_dropped(clock, caplog):
    source = CountingSource(clock, lifetime=3600)
    app = make_app(clock, source)
    client = app.test_client()
    assert client.get("/generate_signature?filename=a.jpg&size=1").status_code == 200
    source.error = SourceError("STSUnreachable", "connection refused", "check the network")
    clock.advance(REFRESH_AT)
    # Refresh fails, but the cached credentials are still good for 15 minutes.
    assert client.get("/generate_signature?filename=a.jpg&size=1").status_code == 200
    assert wait_until(lambda: "STSUnreachable" in caplog.text)
    clock.advance(900 - 61)
    body = client.get("/generate_signature?filename=a.jpg&size=1").get_json()
    assert body["expire"] == (clock() + timedelta(seconds=61)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    clock.advance(2)  # 59 s left: never again
    response = client.get("/generate_signature?filename=a.jpg&size=1")
    assert response.status_code == 503


def test_down_then_back_recovers_with_backoff_on_the_injected_clock(clock, caplog):
    source = CountingSource(clock)
    source.error = SourceError("STSUnreachable", "connection refused", "check the network")
    app = make_app(clock, source)
    client = app.test_client()

    def status():
        return client.get("/generate_signature?filename=a.jpg&size=1").status_code

    assert status() == 503 and source.calls == 1
    credentials = app.extensions["upload_signer"].credentials
    assert wait_until(lambda: credentials.status()["lastError"] == "STSUnreachable")  # the refresh has failed
    assert status() == 503 and source.calls == 1  # backing off, in fake time
    clock.advance(1)
    assert status() == 503 and source.calls == 2
    clock.advance(1)
    assert status() == 503 and source.calls == 2  # second backoff is 2 s
    clock.advance(1)
    assert status() == 503 and source.calls == 3
    source.error = None
    clock.advance(4)
    assert status() == 200 and source.calls == 4
    assert "临时凭证已恢复" in caplog.text
    assert status() == 200 and source.calls == 4


def test_backoff_is_capped(clock):
    source = CountingSource(clock)
    source.error = SourceError("STSUnreachable", "down")
    cache = CredentialCache(source, clock, refresh_before=timedelta(seconds=900), min_remaining=timedelta(seconds=60))
    for expected_calls in range(1, 8):
        with pytest.raises(CredentialsUnavailable):
            cache.get()
        assert source.calls == expected_calls
        clock.advance(10)  # the cap: never wait longer than 10 s between attempts


def test_waiters_give_up_quickly_when_the_fetch_hangs(clock):
    source = CountingSource(clock)
    source.gate = threading.Event()
    try:
        app = make_app(clock, source)
        started = time.monotonic()
        response = app.test_client().get("/generate_signature?filename=a.jpg&size=1")
        elapsed = time.monotonic() - started
        assert response.status_code == 503 and 1.0 < elapsed < 2.0
        assert response.headers["Retry-After"]
    finally:
        source.gate.set()


def test_status(clock):
    source = CountingSource(clock)
    cache = CredentialCache(source, clock, refresh_before=timedelta(seconds=900), min_remaining=timedelta(seconds=60))
    assert cache.status()["usable"] is False
    cache.get()
    assert cache.status() == {"usable": True, "expiresInSeconds": 3600, "lastError": None}
