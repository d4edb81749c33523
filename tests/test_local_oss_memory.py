"""Large uploads are streamed to disk: the emulator's peak RSS grows by at most 64 MiB for a 256 MiB
form, and by less than one part for a multipart upload (bench/emulator_memory.py measures; `make
bench` at size full runs the 1 GiB multipart upload)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "emulator_memory.py"


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc to read peak RSS")
def test_256_mib_upload_does_not_grow_memory():
    run = subprocess.run([sys.executable, str(SCRIPT), "256", "--max-growth", "64"],
                         capture_output=True, text=True, timeout=120)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == 200
    assert result["stored_bytes"] == 256 * 1024 * 1024
    assert result["growth_mib"] <= 64, result
    assert run.returncode == 0, run.stderr


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc to read peak RSS")
def test_64_mib_multipart_upload_holds_less_than_one_part_in_memory():
    # 16 MiB parts and a 12 MiB bound: buffering one part (or the assembled object) would exceed it.
    run = subprocess.run([sys.executable, str(SCRIPT), "64", "--multipart", "--part-mib", "16", "--max-growth", "12"],
                         capture_output=True, text=True, timeout=120)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["mode"] == "multipart" and result["status"] == 200
    assert result["stored_bytes"] == 64 * 1024 * 1024
    assert result["growth_mib"] <= 12, result
    assert run.returncode == 0, run.stderr
