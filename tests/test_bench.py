"""The benchmark keeps working: `python -m bench` at its tiny size prints every line (speed is not judged)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_bench_runs_at_tiny_size():
    env = {**os.environ, "BENCH_SIZE": "tiny", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "bench"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "bench size: tiny" in out
    assert "us/signature" in out and "goal: <= 50 us/signature" in out
    assert "/generate_signature:" in out and "/bench/ping (trivial JSON):" in out
    assert "ratio:" in out and "goal: >= 0.8" in out
    assert out.rstrip().splitlines()[-1] in ("all goals met", "some goals NOT met")


def test_unknown_size_is_refused():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "bench", "huge"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "tiny" in result.stderr
