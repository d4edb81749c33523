"""Per-user storage quota: recorded uploads plus what signed forms and open multipart uploads hold,
through the real signer and emulator, shared by two signer processes on one database."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from server.db import Usage
from server.quota import Quota, QuotaExceeded, human_size
from tests.kit import database_on, running_kit
from tests.net import free_port
from tests.test_multipart import PART, send_parts, start

ROOT = Path(__file__).resolve().parent.parent


def usage(kit, user=None) -> dict:
    response = kit.call("GET", "/api/usage", user)
    assert response.status_code == 200, response.text
    return response.json()


def refused(response) -> str:
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "QuotaExceeded"
    return response.json()["error"]["message"]


def test_sizes_read_as_a_phone_shows_them():
    assert [human_size(n) for n in (0, 1023, 1536, 10 * 2**20, 2**30, 5 * 2**40)] == [
        "0 B", "1023 B", "1.5 KB", "10 MB", "1 GB", "5120 GB"]


def test_the_check_counts_holds_and_zero_means_no_limit():
    class Settings:
        user_quota_bytes, user_quota_files, bucket = 100, 3, "b"

    quota = Quota(Settings, db=None)
    quota.check(Usage(50, 1, 40, 1), 10)  # exactly full is allowed
    with pytest.raises(QuotaExceeded, match="已用 90 B / 100 B"):
        quota.check(Usage(50, 1, 40, 1), 11)
    with pytest.raises(QuotaExceeded, match="已有 3 / 3 个"):
        quota.check(Usage(0, 2, 0, 1), 0)
    Settings.user_quota_bytes = Settings.user_quota_files = 0
    assert not Quota(Settings, db=None).enabled


@pytest.fixture
def kit(tmp_path, clock):
    with running_kit(tmp_path, clock, login=True, USER_QUOTA_BYTES="100", USER_QUOTA_FILES="3") as kit:
        yield kit


def test_a_signed_form_holds_its_size_until_recorded_or_expired(kit):
    signed, response = kit.upload(data=b"x" * 60, user="ann")
    assert response.status_code == 200  # the emulator's callback recorded it
    assert usage(kit, "ann") == {"usedBytes": 60, "fileCount": 1, "reservedBytes": 0, "quotaBytes": 100, "quotaFiles": 3}
    held = kit.call("GET", "/generate_signature", "ann", params={"filename": "a.jpg", "size": 30})
    assert held.status_code == 200 and usage(kit, "ann")["reservedBytes"] == 30
    message = refused(kit.call("GET", "/generate_signature", "ann", params={"filename": "b.jpg", "size": 11}))
    assert "已用 90 B / 100 B" in message and "删除一些文件后再传" in message
    # Another user is not affected.
    assert kit.call("GET", "/generate_signature", "bob", params={"filename": "b.jpg", "size": 100}).status_code == 200
    # The unused form's hold ends a little after its policy.
    kit.clock.advance(600 + 300 + 1)
    assert kit.call("GET", "/generate_signature", "ann", params={"filename": "b.jpg", "size": 40}).status_code == 200
    # Deleting a file frees its bytes and its place.
    file_id = kit.call("GET", "/api/files", "ann").json()["files"][0]["id"]
    assert kit.call("DELETE", f"/api/files/{file_id}", "ann").status_code == 204
    assert usage(kit, "ann")["usedBytes"] == 0 and usage(kit, "ann")["fileCount"] == 0


def test_the_file_count_is_bounded_too(kit):
    for name in ("1.jpg", "2.jpg", "3.jpg"):
        assert kit.call("GET", "/generate_signature", "cat", params={"filename": name, "size": 1}).status_code == 200
    assert "已有 3 / 3 个" in refused(kit.call("GET", "/generate_signature", "cat", params={"filename": "4.jpg", "size": 1}))


def test_a_large_file_is_refused_before_anything_exists_in_oss(tmp_path, clock):
    with running_kit(tmp_path, clock, MULTIPART_PART_SIZE=str(PART), USER_QUOTA_BYTES=str(3 * PART)) as kit:
        first = start(kit, 2 * PART)
        assert usage(kit)["reservedBytes"] == 2 * PART
        refused(kit.call("POST", "/api/multipart", json={"filename": "b.mp4", "size": 2 * PART}))
        listing = kit.app.extensions["bucket"].list_multipart_uploads(kit.app.config["SETTINGS"].upload_dir)
        assert [u.upload_id for page in listing for u in page] == [first["uploadId"]]
        assert kit.call("DELETE", f"/api/multipart/{first['uploadId']}").status_code == 204
        assert usage(kit)["reservedBytes"] == 0
        second = start(kit, 2 * PART)
        send_parts(kit, second, os.urandom(2 * PART))
        assert kit.call("POST", f"/api/multipart/{second['uploadId']}/complete").status_code == 200
        assert usage(kit) == {"usedBytes": 2 * PART, "fileCount": 1, "reservedBytes": 0,
                              "quotaBytes": 3 * PART, "quotaFiles": 1000}


def test_no_limit_writes_no_hold(tmp_path, clock):
    with running_kit(tmp_path, clock, USER_QUOTA_BYTES="0", USER_QUOTA_FILES="0") as kit:
        assert kit.call("GET", "/generate_signature", params={"filename": "a.jpg", "size": 5}).status_code == 200
        assert usage(kit) == {"usedBytes": 0, "fileCount": 0, "reservedBytes": 0, "quotaBytes": 0, "quotaFiles": 0}


@pytest.mark.parametrize("backend", ["sqlite", "mariadb"])
def test_two_signer_processes_on_one_database_never_overshoot(request, tmp_path, backend):
    database = database_on(request, backend).get("DATABASE_URL", f"sqlite:///{tmp_path / 'shared.sqlite3'}")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OSS_", "ALIBABA_", "WECHAT_"))}
    env.update(CREDENTIALS_TYPE="local", LOCAL_OSS_DIR=str(tmp_path / "oss"), DATABASE_URL=database,
               USER_QUOTA_FILES="7", SIGN_RATE_LIMIT="1000/second", PYTHONPATH=str(ROOT))
    ports = [free_port(), free_port()]
    processes = [subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "-b", f"127.0.0.1:{port}",
         "--chdir", str(tmp_path), "--threads", "8"],
        env=dict(env, LOCAL_OSS_PORT=str(free_port())), stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"log{port}", "w"))
        for port in ports]
    try:
        for port in ports:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        statuses = []
        barrier = threading.Barrier(20)

        def sign(i):
            barrier.wait(10)
            response = requests.get(f"http://127.0.0.1:{ports[i % 2]}/generate_signature",
                                    params={"filename": f"{i}.jpg", "size": 1}, timeout=20)
            statuses.append((response.status_code, response.json().get("error", {}).get("code")))

        threads = [threading.Thread(target=sign, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(statuses, key=str) == sorted([(200, None)] * 7 + [(403, "QuotaExceeded")] * 13, key=str)
        shown = requests.get(f"http://127.0.0.1:{ports[1]}/api/usage", timeout=5).json()
        assert (shown["reservedBytes"], shown["quotaFiles"]) == (7, 7)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


def test_uploads_never_recorded_still_count_after_their_forms_expire(tmp_path, clock):
    """No callback, no confirm: the files are in the bucket. Waiting for the forms to expire must not
    open room for more; the settled holds record the files instead."""
    with running_kit(tmp_path, clock, emulator_calls_back=False, USER_QUOTA_BYTES="20") as kit:
        for _ in range(4):
            _, response = kit.upload("a.jpg", b"12345")
            assert response.status_code == 203
        refused(kit.call("GET", "/generate_signature", params={"filename": "b.jpg", "size": 5}))
        kit.clock.advance(600 + 300 + 1)
        message = refused(kit.call("GET", "/generate_signature", params={"filename": "b.jpg", "size": 5}))
        assert "已用 20 B / 20 B" in message
        assert usage(kit) == {"usedBytes": 20, "fileCount": 4, "reservedBytes": 0, "quotaBytes": 20, "quotaFiles": 1000}
        assert len(kit.call("GET", "/api/files").json()["files"]) == 4
        file_id = kit.call("GET", "/api/files").json()["files"][0]["id"]
        assert kit.call("DELETE", f"/api/files/{file_id}").status_code == 204
        assert kit.call("GET", "/generate_signature", params={"filename": "b.jpg", "size": 5}).status_code == 200


def test_an_expired_form_that_brought_nothing_stops_counting(tmp_path, clock):
    with running_kit(tmp_path, clock, USER_QUOTA_FILES="1") as kit:
        assert kit.call("GET", "/generate_signature", params={"filename": "a.jpg", "size": 5}).status_code == 200
        refused(kit.call("GET", "/generate_signature", params={"filename": "b.jpg", "size": 5}))
        kit.clock.advance(600 + 300 + 1)
        assert kit.call("GET", "/generate_signature", params={"filename": "b.jpg", "size": 5}).status_code == 200
        assert usage(kit)["fileCount"] == 0 and usage(kit)["reservedBytes"] == 5


def test_on_mariadb_a_users_check_never_waits_for_another_users_upload(mariadb, clock):
    import pymysql

    from server.db import Database

    url = mariadb.new_database()
    db = Database(url, clock)
    db.add_multipart("UPB", "b", "uploads/b.mp4", "bob", "b.mp4", 10, 10, 1, "video/mp4")
    other = pymysql.connect(host="127.0.0.1", port=mariadb.port, user="root", database=url.rsplit("/", 1)[1].split("?")[0],
                            autocommit=False)
    try:
        with other.cursor() as cursor:  # bob's completion holds his row
            cursor.execute("UPDATE multipart_uploads SET state='completing' WHERE upload_id='UPB'")
        started = time.monotonic()
        db.reserve("ann", "b", "uploads/a.jpg", 5, clock() + timedelta(minutes=10), lambda usage, size: None)
        assert time.monotonic() - started < 1
    finally:
        other.rollback()
        other.close()
        db.close()
