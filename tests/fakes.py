"""Test doubles shared by the signer tests: settings, counted credential sources, STS/IMDS bodies,
and a tiny real HTTP server on 127.0.0.1 for the slow and local-endpoint cases."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional

from server.credentials import SourceError
from tests.net import running
from server.post_form import Credentials

BUCKET = "test-bucket"
ROLE_ARN = "acs:ram::1234567890123456:role/oss-upload"
ROLE_NAME = "oss-upload-role"
ACCESS_KEY_ID = "LTAI5tTestAccessKeyId"
# Distinctive values so a leak is found by a plain substring search.
ACCESS_KEY_SECRET = "LongTermSecret-NEVER-LEAK-4f1c9a"
STS_KEY_ID = "STS.NUtestTempKeyId"
STS_SECRET = "StsTempSecret-NEVER-LEAK-8b2d7e"
STS_TOKEN = "CAIStestSecurityToken+forTheClient"
LOCAL_SECRET = "LocalLongSecret-NEVER-LEAK-3e9f"

STS_URL = "https://sts.cn-hangzhou.aliyuncs.com/"
IMDS_TOKEN_URL = "http://100.100.100.200/latest/api/token"
IMDS_CREDS_URL = f"http://100.100.100.200/latest/meta-data/ram/security-credentials/{ROLE_NAME}"

# The signer's per-client limit is not what these tests measure.
NO_RATE_LIMIT = {"SIGN_RATE_LIMIT": "1000000/second"}


def _test_config(clock, mode: dict, extra: dict) -> dict:
    # Login and rate limits are other tests' subject: off here, so they cannot mask what is measured.
    return {"TESTING": True, "AUTH_REQUIRED": "false", "CLOCK": clock, **NO_RATE_LIMIT, **mode, **extra}


def ram_role_config(clock, **extra) -> dict:
    return _test_config(clock, {
        "CREDENTIALS_TYPE": "ram_role_arn",
        "OSS_BUCKET": BUCKET,
        "OSS_REGION": "cn-hangzhou",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
        "ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN,
    }, extra)


def ecs_config(clock, **extra) -> dict:
    return _test_config(clock, {
        "CREDENTIALS_TYPE": "ecs_ram_role",
        "ALIBABA_CLOUD_ECS_METADATA": ROLE_NAME,
        "OSS_BUCKET": BUCKET,
    }, extra)


def local_mode_config(clock, tmp_path, **extra) -> dict:
    config = {
        "TESTING": True,
        "CREDENTIALS_TYPE": "local",
        "LOCAL_OSS_DIR": str(tmp_path / "oss"),
        "LOCAL_OSS_ACCESS_KEY_SECRET": LOCAL_SECRET,
        "CLOCK": clock,
        **NO_RATE_LIMIT,
    }
    config.update(extra)
    return config


def source_config(clock, source, **extra) -> dict:
    """Cloud-looking settings with an injected credential source (no SDK involved)."""
    return ram_role_config(clock, CREDENTIAL_SOURCE=source, **extra)


def wire_time(moment: datetime) -> str:
    """The exact Expiration format both SDKs accept."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sts_success(expiration: datetime, key_id: str = STS_KEY_ID, secret: str = STS_SECRET, token: str = STS_TOKEN) -> dict:
    return {
        "RequestId": "6894B13B-6D71-4EF5-88FA-F32781734A7F",
        "AssumedRoleUser": {"Arn": ROLE_ARN + "/oss-wechat-upload", "AssumedRoleId": "34458433936495****:oss-wechat-upload"},
        "Credentials": {
            "AccessKeyId": key_id,
            "AccessKeySecret": secret,
            "SecurityToken": token,
            "Expiration": wire_time(expiration),
        },
    }


def sts_error(code: str, message: str = "error from STS") -> dict:
    return {"RequestId": "429A2D5B-1F2E-4C3A-9B1D-7A0E6C8F5D21", "HostId": "sts.aliyuncs.com", "Code": code, "Message": message}


def imds_success(expiration: datetime, secret: str = STS_SECRET) -> dict:
    return {
        "Code": "Success",
        "AccessKeyId": STS_KEY_ID,
        "AccessKeySecret": secret,
        "SecurityToken": STS_TOKEN,
        "Expiration": wire_time(expiration),
        "LastUpdated": "2026-11-29T01:00:00Z",
    }


class CountingSource:
    """A credential source that counts fetches; can fail, hand out short-lived credentials, or
    block until released (to hold a refresh in flight)."""

    mode = "fake"

    def __init__(self, clock: Callable[[], datetime], lifetime: float = 3600):
        self.clock = clock
        self.lifetime = lifetime
        self.error: Optional[SourceError] = None
        self.gate: Optional[threading.Event] = None
        self.calls = 0
        self.started = threading.Event()
        self._lock = threading.Lock()

    def fetch(self) -> Credentials:
        with self._lock:
            self.calls += 1
            n = self.calls
        self.started.set()
        if self.gate is not None:
            self.gate.wait(5)
        if self.error is not None:
            raise self.error
        return Credentials(
            access_key_id=f"STS.fake{n}",
            access_key_secret=f"fake-secret-{n}",
            security_token=f"fake-token-{n}",
            expiration=(self.clock() + timedelta(seconds=self.lifetime)).replace(microsecond=0),
        )


def wait_until(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


class LocalHttpServer:
    """A real HTTP server on a free loopback port. `handler(request)` returns (status, dict body)
    and may block on `self.release` to play a slow service."""

    def __init__(self, handler: Callable[[dict], tuple]):
        self.handler = handler
        self.requests: list = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": self.rfile.read(length) if length else b"",
                }
                outer.requests.append(request)
                status, body = outer.handler(request)
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout): expected in the slow cases

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._running = running(self._server)

    def __enter__(self) -> "LocalHttpServer":
        self._running.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self._running.__exit__(*exc)
