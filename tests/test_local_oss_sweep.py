"""What a killed emulator leaves behind is gone at the next start: temp files of dead writers at
once, orphan blobs once past their grace period; uploads another live emulator has in flight stay."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from server.config import load_settings
from oss_emulator import create_emulator_app
from oss_emulator.storage import ORPHAN_BLOB_SECONDS, Storage, _start_time, owner_tag
from tests.fakes import wait_until
from tests.local_oss_support import KEY_ID, SECRET
from tests.ossform import multipart_parts, signed_fields

REPO = Path(__file__).resolve().parent.parent
ENV = {"CREDENTIALS_TYPE": "local", "OSS_BUCKET": "test-bucket", "OSS_REGION": "cn-hangzhou",
       "LOCAL_OSS_ACCESS_KEY_ID": KEY_ID, "LOCAL_OSS_ACCESS_KEY_SECRET": SECRET}
EMULATOR = """
import sys
from werkzeug.serving import make_server
from server.config import load_settings
from oss_emulator import create_emulator_app
settings = load_settings(dict(arg.split("=", 1) for arg in sys.argv[2:]))
server = make_server("127.0.0.1", 0, create_emulator_app(settings, storage_dir=sys.argv[1]), threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""
needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="process start times come from /proc")


def temp_file(storage: Storage, tag: str, age: float = 0) -> str:
    path = os.path.join(storage.temp_dir, f"upload-{tag}-x{os.urandom(4).hex()}.part")
    Path(path).write_bytes(b"half an upload")
    if age:
        os.utime(path, (time.time() - age, time.time() - age))
    return path


@pytest.fixture
def sleeper():
    """Another live process (its pid and start time make a live writer's tag)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait(10)


def test_kill_9_mid_upload_leaves_nothing_after_the_next_start(tmp_path):
    directory = str(tmp_path / "oss")
    child = subprocess.Popen([sys.executable, "-c", EMULATOR, directory, *[f"{k}={v}" for k, v in ENV.items()]],
                             cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: os.path.isdir(os.path.join(directory, ".tmp")), timeout=20)
        port = int(child.stdout.readline())
        fields = signed_fields("uploads/killed.bin", KEY_ID, SECRET, "cn-hangzhou", datetime.now(timezone.utc))
        body = multipart_parts([(n, v.encode(), None) for n, v in fields] + [("file", bytes(4 << 20), "a")], "b0undary")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall((f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n"
                          "Content-Type: multipart/form-data; boundary=b0undary\r\n\r\n").encode() + body[:1 << 20])
            temp_dir = os.path.join(directory, ".tmp")
            assert wait_until(lambda: any(n.endswith(".part") for n in os.listdir(temp_dir)), timeout=10)
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        left = os.listdir(temp_dir)
        assert len(left) == 1 and left[0].startswith(f"upload-{child.pid}.")  # kill -9 leaves it, named
    finally:
        child.kill()
        child.wait(10)
        child.stdout.close()

    settings = load_settings(ENV)
    create_emulator_app(settings, storage_dir=directory)  # the next start, seconds later
    assert os.listdir(os.path.join(directory, ".tmp")) == []
    assert os.listdir(os.path.join(directory, "blobs")) == [] and os.listdir(os.path.join(directory, "meta")) == []


@needs_proc
def test_temp_files_of_live_writers_stay_and_of_dead_ones_go(tmp_path, sleeper):
    storage = Storage(str(tmp_path / "oss"))
    ours = temp_file(storage, owner_tag())  # another emulator in this very process
    theirs = temp_file(storage, f"{sleeper.pid}.{_start_time(sleeper.pid)}")  # another live emulator
    reused = temp_file(storage, f"{sleeper.pid}.1")  # that pid, but an earlier process that had it
    dead = temp_file(storage, f"{2 ** 22 + 12345}.777")  # no such process
    Storage(storage.root).sweep()
    assert os.path.exists(ours) and os.path.exists(theirs)
    assert not os.path.exists(reused) and not os.path.exists(dead)

    sleeper.kill()
    sleeper.wait(10)
    Storage(storage.root).sweep()
    assert os.path.exists(ours) and not os.path.exists(theirs)


def test_nothing_in_flight_outlives_the_hour_rule(tmp_path):
    storage = Storage(str(tmp_path / "oss"))
    live_but_stale = temp_file(storage, owner_tag(), age=3700)
    Storage(storage.root).sweep()
    assert not os.path.exists(live_but_stale)


def test_orphan_blobs_go_after_their_grace_period(emu):
    assert emu.post(emu.sign(), b"kept").status_code == 204
    storage = Storage(emu.directory)
    (referenced,) = emu.objects()
    orphan = os.path.join(storage.blob_dir, "0" * 32)
    Path(orphan).write_bytes(b"moved into place, then the writer was killed")

    storage.sweep()  # a blob this young may belong to a commit in flight
    assert os.path.exists(orphan)
    storage.sweep(now=time.time() + ORPHAN_BLOB_SECONDS + 1)
    assert not os.path.exists(orphan)
    assert emu.objects() == [referenced]
    assert emu.http.get(emu.url + "/uploads/a.bin").content == b"kept"


def test_the_emulator_sweeps_when_it_starts(tmp_path, monkeypatch):
    directory = str(tmp_path / "oss")
    storage = Storage(directory)
    dead = temp_file(storage, f"{2 ** 22 + 12345}.777")
    orphan = os.path.join(storage.blob_dir, "1" * 32)
    Path(orphan).write_bytes(b"orphan")
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + ORPHAN_BLOB_SECONDS + 1)
    create_emulator_app(load_settings(ENV), storage_dir=directory)
    assert not os.path.exists(dead) and not os.path.exists(orphan)
