"""`python -m server.check` against a running local emulator: every step passes and nothing stays
behind; with the bucket unreachable, the step that fails says why in one line."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from oss_emulator import create_emulator_app
from server.config import load_settings
from tests.net import free_port, serve

REPO = Path(__file__).resolve().parent.parent


def _env(tmp_path, oss_port: int, **extra) -> dict:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "PYTHONPATH": str(REPO),
            "CREDENTIALS_TYPE": "local", "LOCAL_OSS_PORT": str(oss_port), "LOCAL_OSS_DIR": str(tmp_path / "oss"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", **extra}


def _run(tmp_path, env):
    # cwd: an empty folder, so no developer's .env is read.
    return subprocess.run([sys.executable, "-m", "server.check"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)


def test_every_step_passes_and_the_file_is_gone(tmp_path):
    port = free_port()
    env = _env(tmp_path, port)
    emulator = create_emulator_app(load_settings(env))
    with serve(emulator, port):
        result = _run(tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    for step in ("获取临时凭证", "签发上传表单", "上传一个小文件", "服务端 HEAD 对象", "通过预签名链接读回", "删除对象"):
        assert f"✓ {step}" in result.stdout
    assert "全部通过" in result.stdout and "✗" not in result.stdout
    assert emulator.storage.list() == []  # deleted again
    assert "x-oss-signature=" not in result.stdout + result.stderr  # no presigned URL is ever printed


def test_an_unreachable_bucket_fails_at_the_upload_with_a_hint(tmp_path):
    result = _run(tmp_path, _env(tmp_path, free_port()))
    assert result.returncode == 1
    assert "✓ 签发上传表单" in result.stdout
    assert "✗ 上传一个小文件" in result.stdout and "make run" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_settings_mistake_is_one_line_and_exit_2(tmp_path):
    result = _run(tmp_path, _env(tmp_path, free_port(), OSS_REGION="nowhere"))
    assert result.returncode == 2 and "OSS_REGION" in result.stdout
