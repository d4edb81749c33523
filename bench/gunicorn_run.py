"""Run a WSGI app under gunicorn with deploy/gunicorn.conf.py on a free 127.0.0.1 port."""
from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "deploy" / "gunicorn.conf.py"

# Production runs with the per-user quota on, so the benches do too: every signature takes the
# reservation path (one write transaction, the user's row locked), at limits no bench ever reaches.
QUOTA_ON = {"USER_QUOTA_BYTES": str(2 ** 50), "USER_QUOTA_FILES": str(10 ** 9)}

# What every bench server shares: login off (so the route itself is measured), no rate limit, the quota on.
BASE_ENV = {
    **QUOTA_ON,
    "AUTH_REQUIRED": "false",
    "SIGN_RATE_LIMIT": "1000000000/second",
    "OSS_BUCKET": "bench-bucket",
    "OSS_REGION": "cn-hangzhou",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(port: int, path: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", path)
        status = connection.getresponse().status
        connection.close()
        return status == 200
    except OSError:
        return False


@contextlib.contextmanager
def gunicorn(app_spec: str, env: dict, ready_path: str = "/healthz", timeout: float = 30.0, prefix=(), args=()):
    """Yield the port of `gunicorn -c deploy/gunicorn.conf.py -b 127.0.0.1:<port> <args> <app_spec>`.

    Runs in an empty working directory, so a developer's `.env` never leaks into a measurement.
    `prefix` goes before the command (e.g. `taskset -c 0`).
    """
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "OSS_", "STS_", "CREDENTIALS_"))}
    with tempfile.TemporaryDirectory(prefix="bench-gunicorn-") as workdir:
        full_env = {**clean, **BASE_ENV, "LOCAL_OSS_DIR": os.path.join(workdir, "oss"),
                    "DATABASE_URL": f"sqlite:///{os.path.join(workdir, 'uploads.sqlite3')}", **env,
                    "PYTHONPATH": str(REPO)}
        command = [*prefix, sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "-b", f"127.0.0.1:{port}", *args, app_spec]
        log_path = os.path.join(workdir, "gunicorn.log")
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, cwd=workdir, env=full_env, stdout=log, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + timeout
                while not _ready(port, ready_path):
                    if process.poll() is not None or time.monotonic() > deadline:
                        with open(log_path, "rb") as handle:
                            tail = handle.read()[-2000:].decode(errors="replace")
                        raise RuntimeError(f"gunicorn {app_spec} did not become ready:\n{tail}")
                    time.sleep(0.05)
                yield port
            finally:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
