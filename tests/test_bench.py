"""The benchmark keeps working: `python -m bench` at its tiny size prints every line (speed is not judged)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_bench_runs_at_tiny_size():
    env = {**os.environ, "BENCH_SIZE": "tiny", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "bench"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "bench size: tiny" in out
    assert "us/signature" in out and "goal: <= 50 us/signature" in out
    assert "/generate_signature:" in out and "/bench/ping (trivial JSON, tiny answer):" in out
    assert "/bench/fixed (trivial JSON, same size as the signing answer):" in out
    assert "ratio vs same-size route:" in out and "ratio vs tiny-answer route:" in out and "goal: >= 0.8" in out
    assert "gunicorn (deploy config" in out and "p99" in out and "median of rounds" in out
    # Both HTTP comparisons say whether the load generator had its own core.
    assert sum(line.strip().startswith(("pinned with taskset", "not pinned")) for line in out.splitlines()) == 2
    assert "against the tutorial's design" in out and "STS calls: ours 1 for 50 signatures" in out
    assert "tutorial 50 for 50" in out  # the tutorial's design: one AssumeRole per signature
    assert "POST /api/files/confirm (HEAD + insert)" in out and "40 presigned URLs" in out
    assert "keyset pages" in out and "EXPLAIN page 1: SEARCH uploads USING INDEX ix_uploads_user_folder_id" in out
    assert "gunicorn workers" in out and "2 workers / 1 worker:" in out
    assert "local OSS emulator" in out and "growth" in out
    assert "start-up" in out and "local: " in out and "SDKs loaded: none" in out
    header = next(line for line in out.splitlines() if line.startswith("metric"))
    assert header.split() == ["metric", "measured", "goal", "result"]
    assert out.rstrip().splitlines()[-1] in ("all goals met", "some goals NOT met")


def test_unknown_size_is_refused():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "bench", "huge"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "tiny" in result.stderr


def test_python_load_client_counts_and_fails_loudly():
    """The fallback used where wrk is not installed: bounded in time, counts failures."""
    from flask import Flask

    from bench import loadgen
    from tests.net import serve

    app = Flask("load")
    app.add_url_rule("/ok", "ok", lambda: "ok")
    with serve(app) as url:
        port = int(url.rsplit(":", 1)[1])
        good = loadgen._python(port, "/ok", connections=2, seconds=0.3)
        bad = loadgen._python(port, "/missing", connections=1, seconds=0.2)
        assert loadgen.exactly(port, "/ok", 3, 25) == 0 and loadgen.exactly(port, "/missing", 2, 5) == 5
    assert good.requests > 0 and good.failed == 0 and good.p50_ms <= good.p99_ms and good.seconds < 5
    assert bad.requests > 0 and bad.failed == bad.requests


def test_pinning_gives_the_load_generator_its_own_core_or_says_why_not(monkeypatch):
    from bench import pinning

    monkeypatch.delenv("BENCH_PIN", raising=False)
    monkeypatch.setattr(pinning.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(pinning.shutil, "which", lambda name: "/usr/bin/taskset")
    pinned = pinning.plan()
    assert pinned.server_prefix() == ["taskset", "-c", "0"] and pinned.client_prefix() == ["taskset", "-c", "1"]
    assert pinned.note.startswith("pinned with taskset")

    monkeypatch.setattr(pinning.shutil, "which", lambda name: None)
    no_taskset = pinning.plan()
    assert not no_taskset.pinned and no_taskset.server_prefix() == [] and "taskset" in no_taskset.note

    monkeypatch.setattr(pinning.shutil, "which", lambda name: "/usr/bin/taskset")
    monkeypatch.setattr(pinning.os, "sched_getaffinity", lambda pid: {3})
    one_core = pinning.plan()
    assert not one_core.pinned and "only 1 core" in one_core.note

    monkeypatch.setattr(pinning.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setenv("BENCH_PIN", "off")
    assert not pinning.plan().pinned
