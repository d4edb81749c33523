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
    assert "/generate_signature:" in out and "/bench/ping (trivial JSON):" in out
    assert "ratio:" in out and "goal: >= 0.8" in out
    assert "gunicorn (deploy config" in out and "p99" in out
    assert "against the tutorial's design" in out and "STS calls: ours 1 for 50 signatures" in out
    assert "tutorial 50 for 50" in out  # the tutorial's design: one AssumeRole per signature
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
    from tests.ossform import serve

    app = Flask("load")
    app.add_url_rule("/ok", "ok", lambda: "ok")
    with serve(app) as url:
        port = int(url.rsplit(":", 1)[1])
        good = loadgen._python(port, "/ok", connections=2, seconds=0.3)
        bad = loadgen._python(port, "/missing", connections=1, seconds=0.2)
        assert loadgen.exactly(port, "/ok", 3, 25) == 0 and loadgen.exactly(port, "/missing", 2, 5) == 5
    assert good.requests > 0 and good.failed == 0 and good.p50_ms <= good.p99_ms and good.seconds < 5
    assert bad.requests > 0 and bad.failed == bad.requests
