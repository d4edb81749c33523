"""GET /metrics: who may read it, and that the counters count what happened (real signer, emulator,
database); under gunicorn with two workers the counts of both are summed."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from server import create_app
from server.db import DatabaseUnavailable
from tests.kit import running_kit
from tests.net import free_port
from tests.test_deploy import GUNICORN_CONF, _clean_env
from tests.test_records import oss_calls_back

TOKEN = "metrics-token-0123456789abcdef"


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def client(local_config):
    return create_app({**local_config, "METRICS_TOKEN": TOKEN, "TRUST_PROXY_HOPS": "1"}).test_client()


def test_only_loopback_or_the_token_may_read_metrics(client):
    local = client.get("/metrics")
    assert local.status_code == 200 and local.headers["Content-Type"].startswith("text/plain")
    assert "oss_signer_signatures_total" in local.get_data(as_text=True)
    far = {"REMOTE_ADDR": "203.0.113.9"}
    for headers, environ in (({}, far), ({"Authorization": "Bearer wrong-token-0123456789"}, far),
                             ({"X-Forwarded-For": "127.0.0.1"}, {}),  # nginx on this host: never local
                             ({"Forwarded": "for=127.0.0.1"}, {})):
        refused = client.get("/metrics", headers=headers, environ_base=environ)
        assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "NotFound"
    # ProxyFix would take 127.0.0.1 from X-Forwarded-For as the client: still refused.
    spoofed = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}, environ_base=far)
    assert spoofed.status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, environ_base=far).status_code == 200


def test_an_upload_and_its_refusals_are_counted(tmp_path, clock, monkeypatch):
    from Crypto.PublicKey import RSA

    from tests.test_records import FAKE_OSS_KEY

    with running_kit(tmp_path, clock, emulator_calls_back=False, USER_QUOTA_FILES="2",
                     OSS_CALLBACK_PUBLIC_KEY=FAKE_OSS_KEY.publickey().export_key().decode()) as kit:
        signed0 = value("oss_signer_signatures_total")
        callback0 = value("oss_signer_uploads_recorded_total", path="callback")
        confirm0 = value("oss_signer_uploads_recorded_total", path="confirm")
        replay0 = value("oss_signer_callback_rejected_total", reason="replay")
        signature0 = value("oss_signer_callback_rejected_total", reason="signature")
        quota0 = value("oss_signer_quota_refusals_total")
        database0 = value("oss_signer_dependency_errors_total", dependency="database")
        routes0 = value("oss_signer_request_seconds_count", route="/generate_signature")

        signed, _ = kit.upload()
        assert oss_calls_back(kit, signed).status_code == 200
        assert oss_calls_back(kit, signed).status_code == 403  # a replay
        assert kit.confirm(signed["key"]).status_code == 200  # already recorded: not counted again
        assert oss_calls_back(kit, kit.upload()[0], signing_key=RSA.generate(1024)).status_code == 403
        assert kit.call("GET", "/generate_signature", params={"filename": "a.jpg", "size": 1}).status_code == 403
        monkeypatch.setattr(kit.db, "list_uploads", lambda *a, **k: (_ for _ in ()).throw(DatabaseUnavailable("x")))
        assert kit.call("GET", "/api/files").status_code == 503

        assert value("oss_signer_signatures_total") - signed0 == 2
        assert value("oss_signer_uploads_recorded_total", path="callback") - callback0 == 1
        assert value("oss_signer_uploads_recorded_total", path="confirm") - confirm0 == 0
        assert value("oss_signer_callback_rejected_total", reason="replay") - replay0 == 1
        assert value("oss_signer_callback_rejected_total", reason="signature") - signature0 == 1
        assert value("oss_signer_quota_refusals_total") - quota0 == 1
        assert value("oss_signer_dependency_errors_total", dependency="database") - database0 == 1
        assert value("oss_signer_request_seconds_count", route="/generate_signature") - routes0 == 3


def test_two_gunicorn_workers_are_summed(tmp_path):
    port = free_port()
    env = _clean_env(tmp_path, CREDENTIALS_TYPE="local", LOCAL_OSS_DIR=str(tmp_path / "oss"),
                     LOCAL_OSS_PORT=str(free_port()), SIGN_RATE_LIMIT="1000/second")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "-b", f"127.0.0.1:{port}", "-w", "2",
         "--chdir", str(tmp_path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        for i in range(12):  # new connections: the kernel spreads them over both workers
            with requests.Session() as session:
                assert session.get(base + "/generate_signature", params={"filename": f"{i}.jpg", "size": 1},
                                   timeout=10).status_code == 200
        text = requests.get(base + "/metrics", timeout=10).text
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for family in text_string_to_metric_families(text) for s in family.samples}
        assert samples[("oss_signer_signatures_total", ())] == 12
        assert samples[("oss_signer_request_seconds_count", (("route", "/generate_signature"),))] == 12
    finally:
        process.terminate()
        process.wait(10)
