"""The committed production files work: gunicorn config, nginx config, systemd unit."""
from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tests.net import free_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
NGINX_CONF = DEPLOY / "nginx.conf"
UNIT = DEPLOY / "oss-signer.service"
# `make test` unpacks Debian's nginx here when none is installed (no root, no service started).
LOCAL_NGINX = ROOT / ".venv" / "nginx" / "usr" / "sbin" / "nginx"




def _gunicorn() -> list:
    return [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)]


def _clean_env(tmp_path: Path, **extra) -> dict:
    """The test's own environment minus any setting, so a developer's shell cannot leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OSS_", "ALIBABA_CLOUD_", "WECHAT_", "LOCAL_OSS_"))}
    for name in ("CREDENTIALS_TYPE", "AUTH_REQUIRED", "SECRET_KEY", "HOST", "PORT", "STS_ENDPOINT",
                 "STS_DURATION_SECONDS", "SESSION_TTL_SECONDS", "SIGN_RATE_LIMIT", "LOGIN_RATE_LIMIT",
                 "RATELIMIT_STORAGE_URI", "TRUST_PROXY_HOPS", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"):
        env.pop(name, None)
    # The app's records in this test's folder, never the checkout's instance/uploads.sqlite3.
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/uploads.sqlite3"
    env.update(extra)
    return env


# ---------- gunicorn ----------

def test_gunicorn_config_values(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no developer's `.env`
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    conf = runpy.run_path(str(GUNICORN_CONF))
    assert conf["wsgi_app"] == "server:create_app()"
    assert conf["bind"] == ["127.0.0.1:5000"]
    # In-memory rate limits count per process: one worker, and the log says why.
    assert conf["workers"] == 1 and conf["threads"] >= 2 and "memory://" in conf["_workers_reason"]
    # Limits shared in Redis: a worker per core the process may run on (from `.env` as well).
    (tmp_path / ".env").write_text("RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0\n", encoding="utf-8")
    assert runpy.run_path(str(GUNICORN_CONF))["workers"] == len(os.sched_getaffinity(0))
    fmt = conf["access_log_format"].lower()
    assert "authorization" not in fmt and "%(r)s" not in fmt and "%(q)s" not in fmt
    assert callable(conf["on_starting"])


def test_gunicorn_serves_healthz(tmp_path):
    port = free_port()
    env = _clean_env(
        tmp_path, CREDENTIALS_TYPE="local", LOCAL_OSS_DIR=str(tmp_path / "oss"), LOCAL_OSS_PORT=str(free_port())
    )
    # --chdir to an empty directory: no `.env` of the developer's is read.
    proc = subprocess.Popen(
        _gunicorn() + ["-b", f"127.0.0.1:{port}", "--chdir", str(tmp_path)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        body = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200
                    body = response.read().decode("utf-8")
                    break
            except OSError:
                time.sleep(0.2)
        assert body is not None, "gunicorn did not serve /healthz in time"
        assert '"mode":"local"' in body.replace(" ", "")
    finally:
        proc.terminate()
        try:
            output = proc.communicate(timeout=15)[0].decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0].decode("utf-8", "replace")
    assert "Traceback" not in output
    assert "GET /healthz" in output  # the access log is on
    assert "只用 1 个 worker" in output and "RATELIMIT_STORAGE_URI 是 memory://" in output


def test_gunicorn_refuses_bad_settings_with_one_line(tmp_path):
    env = _clean_env(tmp_path, CREDENTIALS_TYPE="ram_role_arn", OSS_BUCKET="examplebucket")
    result = subprocess.run(
        _gunicorn() + ["-b", f"127.0.0.1:{free_port()}", "--chdir", str(tmp_path)],
        env=env, capture_output=True, timeout=30,
    )
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2, stderr
    # Cloud mode without login settings: refused, secure by default.
    assert [line for line in stderr.splitlines() if "配置错误" in line] == [
        line for line in stderr.splitlines() if line.startswith("配置错误 WECHAT_APPID")
    ] != []
    assert "Traceback" not in stderr
    assert "Booting worker" not in stderr


def test_gunicorn_reads_dotenv_from_working_directory(tmp_path):
    # The hook reads `.env` exactly where the app will: a bad value there stops the start.
    (tmp_path / ".env").write_text("CREDENTIALS_TYPE=local\nOSS_EXPIRE_SECONDS=5\n", encoding="utf-8")
    result = subprocess.run(
        _gunicorn() + ["-b", f"127.0.0.1:{free_port()}", "--chdir", str(tmp_path)],
        env=_clean_env(tmp_path), capture_output=True, timeout=30,
    )
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2 and "配置错误 OSS_EXPIRE_SECONDS" in stderr, stderr


# ---------- nginx ----------

def _nginx_binary() -> str:
    found = shutil.which("nginx") or (str(LOCAL_NGINX) if LOCAL_NGINX.exists() else None)
    if found is None:
        for candidate in ("/usr/sbin/nginx", "/usr/local/sbin/nginx"):
            if os.path.exists(candidate):
                found = candidate
    if found is None:
        pytest.skip("nginx 未安装，跳过 deploy/nginx.conf 的检查（Debian/Ubuntu：apt-get install nginx）")
    probe = subprocess.run([found, "-v"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        pytest.skip(f"{found} 无法运行，跳过 deploy/nginx.conf 的检查：{probe.stderr[:200]!r}")
    return found


def _self_signed_cert(directory: Path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl 未安装，无法生成测试用的自签名证书")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=signer.example.com",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def _nginx_wrapper(tmp_path: Path, site: str) -> Path:
    """`site` included in a minimal http block, with the certificate and every path in tmp_path."""
    cert, key = _self_signed_cert(tmp_path)
    site = (
        site.replace("/etc/nginx/ssl/signer.example.com.pem", str(cert))
        .replace("/etc/nginx/ssl/signer.example.com.key", str(key))
        .replace("/var/log/nginx/", f"{tmp_path}/")
    )
    (tmp_path / "oss-signer.conf").write_text(site, encoding="utf-8")
    temp = tmp_path / "temp"
    temp.mkdir(exist_ok=True)
    wrapper = f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    access_log {tmp_path}/access.log;
    include {tmp_path}/oss-signer.conf;
}}
"""
    (tmp_path / "nginx.conf").write_text(wrapper, encoding="utf-8")
    return tmp_path / "nginx.conf"


def _nginx_args(nginx: str, tmp_path: Path, conf: Path) -> list:
    return [nginx, "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")]


def _nginx_test(nginx: str, tmp_path: Path, site: str):
    conf = _nginx_wrapper(tmp_path, site)
    return subprocess.run(_nginx_args(nginx, tmp_path, conf) + ["-t"], capture_output=True, timeout=30)


def test_nginx_conf_passes_nginx_t(tmp_path):
    nginx = _nginx_binary()
    result = _nginx_test(nginx, tmp_path, NGINX_CONF.read_text(encoding="utf-8"))
    output = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 0, output
    assert "test is successful" in output
    assert "[warn]" not in output, output


def test_nginx_t_catches_a_broken_config(tmp_path):
    # The check above can fail: a typo in the same file is refused.
    nginx = _nginx_binary()
    broken = NGINX_CONF.read_text(encoding="utf-8").replace("proxy_pass", "proxy_passs", 1)
    assert _nginx_test(nginx, tmp_path, broken).returncode != 0


def _wait_for(url: str, context=None, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                return response.status
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_nginx_conf_in_front_of_gunicorn(tmp_path):
    """The real thing on loopback ports: redirect, TLS proxy, headers, body limit, X-Forwarded-For."""
    import ssl
    import urllib.error

    nginx = _nginx_binary()
    app_port, http_port, https_port = free_port(), free_port(), free_port()
    env = _clean_env(tmp_path, CREDENTIALS_TYPE="local", LOCAL_OSS_DIR=str(tmp_path / "oss"),
                     LOCAL_OSS_PORT=str(free_port()))
    gunicorn = subprocess.Popen(
        _gunicorn() + ["-b", f"127.0.0.1:{app_port}", "--chdir", str(tmp_path)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    site = (
        NGINX_CONF.read_text(encoding="utf-8")
        .replace("listen 80;", f"listen 127.0.0.1:{http_port};")
        .replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
        .replace("127.0.0.1:5000", f"127.0.0.1:{app_port}")
    )
    conf = _nginx_wrapper(tmp_path, site)
    front = subprocess.Popen(_nginx_args(nginx, tmp_path, conf) + ["-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    base = f"https://127.0.0.1:{https_port}"
    try:
        assert _wait_for(f"{base}/healthz", insecure) == 200

        request = urllib.request.Request(f"{base}/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
        with urllib.request.urlopen(request, timeout=5, context=insecure) as response:
            headers = response.headers
            assert b'"mode":"local"' in response.read().replace(b" ", b"")
        assert "Access-Control-Allow-Origin" not in headers
        assert headers["Strict-Transport-Security"].startswith("max-age=")

        opener = urllib.request.build_opener(_NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(f"http://127.0.0.1:{http_port}/healthz", timeout=5)
        assert redirect.value.code == 301
        assert redirect.value.headers["Location"].startswith("https://127.0.0.1")

        big = urllib.request.Request(f"{base}/api/login", data=b"x" * 64 * 1024, method="POST",
                                     headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as too_big:
            urllib.request.urlopen(big, timeout=5, context=insecure)
        assert too_big.value.code == 413
        assert json.loads(too_big.value.read())["error"]["code"] == "RequestTooLarge"

        for path, headers, status, code in [
            ("/generate_signature?filename=" + "a" * 10000, {}, 414, "RequestLineTooLong"),
            ("/healthz", {"X-Big": "b" * 9000}, 400, "RequestHeadersTooLarge"),
        ]:
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(urllib.request.Request(base + path, headers=headers), timeout=5, context=insecure)
            assert refused.value.code == status
            assert refused.value.headers["Content-Type"] == "application/json"
            assert json.loads(refused.value.read())["error"]["code"] == code
    finally:
        front.terminate()
        gunicorn.terminate()
        try:
            front.wait(timeout=15)
            output = gunicorn.communicate(timeout=15)[0].decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            front.kill()
            gunicorn.kill()
            output = gunicorn.communicate()[0].decode("utf-8", "replace")
    # nginx replaced the client's X-Forwarded-For instead of passing it on.
    assert "203.0.113.9" not in output
    assert '127.0.0.1 "GET /healthz"' in output


def test_nginx_conf_content():
    text = NGINX_CONF.read_text(encoding="utf-8")
    directives = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert "proxy_pass http://127.0.0.1:5000;" in directives
    assert "listen 443 ssl" in directives and "return 301 https://" in directives
    assert "proxy_set_header X-Forwarded-For" in directives
    assert "Access-Control-Allow-Origin" not in directives
    assert "client_max_body_size 16k;" in directives


# ---------- systemd ----------

def _verify_unit(analyze: str, path: Path):
    result = subprocess.run([analyze, "verify", str(path)], capture_output=True, timeout=60)
    return result.returncode, (result.stdout + result.stderr).decode("utf-8", "replace").strip()


def test_systemd_unit_passes_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze 未安装，跳过 deploy/oss-signer.service 的检查")
    # `verify` checks that ExecStart exists: point the unit at a stand-in install tree.
    app = tmp_path / "app"
    (app / ".venv" / "bin").mkdir(parents=True)
    stub = app / ".venv" / "bin" / "gunicorn"
    stub.write_text("#!/bin/sh\n", encoding="utf-8")
    stub.chmod(0o755)

    probe = tmp_path / "probe.service"
    probe.write_text("[Service]\nExecStart=/bin/true\n", encoding="utf-8")
    code, output = _verify_unit(analyze, probe)
    if code != 0 or output:
        pytest.skip(f"systemd-analyze verify 在此环境中无法运行：{output[:200]}")
    bad = tmp_path / "bad.service"
    bad.write_text("[Service]\nExecStart=/bin/true\nNoSuchOption=1\n", encoding="utf-8")
    assert _verify_unit(analyze, bad)[1], "systemd-analyze verify ignores unknown options here"

    unit = tmp_path / "oss-signer.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace("/opt/oss-signer", str(app)), encoding="utf-8")
    code, output = _verify_unit(analyze, unit)
    assert code == 0 and output == "", output


def test_systemd_unit_content():
    lines = [line.strip() for line in UNIT.read_text(encoding="utf-8").splitlines()]
    for expected in (
        "User=oss-signer",
        "WorkingDirectory=/opt/oss-signer",
        "EnvironmentFile=/opt/oss-signer/.env",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "RestartPreventExitStatus=2",
    ):
        assert expected in lines, expected
    exec_start = next(line for line in lines if line.startswith("ExecStart="))
    assert "deploy/gunicorn.conf.py" in exec_start


def test_gunicorn_answers_its_own_errors_in_json(tmp_path):
    """Over-long request lines and headers are refused by gunicorn itself: in our JSON, not HTML."""
    import http.client

    port = free_port()
    env = _clean_env(tmp_path, CREDENTIALS_TYPE="local", LOCAL_OSS_DIR=str(tmp_path / "oss"),
                     LOCAL_OSS_PORT=str(free_port()))
    proc = subprocess.Popen(_gunicorn() + ["-b", f"127.0.0.1:{port}", "--chdir", str(tmp_path)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "gunicorn did not start"
                time.sleep(0.2)
        for path, headers, status, code in [
            ("/generate_signature?filename=" + "a" * 6000, {}, 414, "RequestLineTooLong"),
            ("/healthz", {"X-Big": "b" * 9000}, 431, "RequestHeadersTooLarge"),
        ]:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            connection.close()
            assert response.status == status
            assert response.getheader("Content-Type") == "application/json"
            assert json.loads(body)["error"]["code"] == code
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_under_systemd_the_records_live_in_the_state_directory(tmp_path, monkeypatch):
    """ProtectSystem=strict makes everything read-only but StateDirectory=; the default SQLite file
    follows $STATE_DIRECTORY there."""
    from server import create_app

    text = UNIT.read_text(encoding="utf-8")
    assert "StateDirectory=oss-signer" in text and "ProtectSystem=strict" in text
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("STATE_DIRECTORY", str(state))
    monkeypatch.chdir(tmp_path)  # no developer .env
    for name in ("DATABASE_URL", "CREDENTIALS_TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOCAL_OSS_DIR", str(tmp_path / "oss"))
    app = create_app()
    assert str(app.extensions["db"].url.database) == str(state / "uploads.sqlite3")
    assert app.extensions["db"].ping()
