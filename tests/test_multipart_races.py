"""Large files completed or cancelled by several requests at once, through the real signer and
emulator over HTTP, on SQLite and on MariaDB: one record per file, never a 500, never an object in
the bucket without a record."""
from __future__ import annotations

import os
import threading
import time
from datetime import timedelta

import pytest

from server.db import DatabaseUnavailable
from server.multipart_uploads import CLAIM_STALE_SECONDS
from tests.kit import running_kit
from tests.test_multipart import PART, complete, send_parts, start

PARTS = 12


@pytest.fixture(params=["sqlite", "mariadb"])
def kit(request, tmp_path, clock):
    settings = {"MULTIPART_PART_SIZE": str(PART)}
    if request.param == "mariadb":
        settings["DATABASE_URL"] = request.getfixturevalue("mariadb").new_database()
    with running_kit(tmp_path, clock, **settings) as kit:
        yield kit


def uploaded(kit):
    data = os.urandom(PARTS * PART - 1)
    upload = start(kit, len(data))
    send_parts(kit, upload, data)
    return upload


def at_once(*calls, delays=None):
    """Run the calls in threads released together (each after its delay); their responses."""
    results = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i):
        barrier.wait(10)
        time.sleep((delays or [0] * len(calls))[i])
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(r is not None for r in results), "a call did not return"
    return results


def records_of(kit, key):
    return [f for f in kit.call("GET", "/api/files", params={"limit": 100}).json()["files"] if f["key"] == key]


def test_five_completions_at_once_give_one_record_and_the_same_answer(kit):
    upload = uploaded(kit)
    responses = at_once(*[lambda: complete(kit, upload)] * 5)
    assert [r.status_code for r in responses] == [200] * 5, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(records_of(kit, upload["key"])) == 1
    assert kit.call("GET", "/api/usage").json()["fileCount"] == 1
    # A retry long after still answers the record, not 404.
    again = complete(kit, upload)
    assert again.status_code == 200 and again.json() == responses[0].json()


@pytest.mark.parametrize("delay", [0, 0.01, 0.03, 0.1])
def test_an_abort_racing_a_completion_either_wins_cleanly_or_loses_with_the_file_recorded(kit, delay):
    upload = uploaded(kit)
    path = f"/api/multipart/{upload['uploadId']}"
    done, aborted = at_once(lambda: complete(kit, upload), lambda: kit.call("DELETE", path), delays=[0, delay])
    stored = kit.app.extensions["bucket"].head(upload["key"]) is not None
    recorded = bool(records_of(kit, upload["key"]))
    assert stored == recorded, (done.status_code, aborted.status_code)
    if done.status_code == 200:
        assert aborted.status_code in (404, 409) and recorded
    else:
        assert (done.status_code, aborted.status_code) == (404, 204) and not stored
    assert kit.call("GET", "/api/usage").json()["reservedBytes"] == 0


def test_a_completion_whose_request_died_is_taken_over_once_its_claim_is_stale(kit):
    upload = uploaded(kit)
    uploads = kit.app.extensions["multipart_uploads"]
    uploads.claim_wait_seconds = 0.3
    claim_id, _ = kit.db.claim_multipart(upload["uploadId"], "", "completing", kit.clock() - timedelta(seconds=1))
    assert claim_id is not None
    busy = complete(kit, upload)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "CompleteInProgress"
    assert int(busy.headers["Retry-After"]) > 0
    kit.clock.advance(CLAIM_STALE_SECONDS + 1)
    assert complete(kit, upload).status_code == 200
    assert len(records_of(kit, upload["key"])) == 1


def test_completed_in_oss_but_not_recorded_is_recorded_by_the_next_call(kit, monkeypatch):
    upload = uploaded(kit)
    db = kit.db
    real_finish = db.finish_multipart

    def database_down(*args):
        monkeypatch.setattr(db, "finish_multipart", real_finish)
        raise DatabaseUnavailable("down for this test")

    monkeypatch.setattr(db, "finish_multipart", database_down)
    first = complete(kit, upload)
    assert first.status_code == 503 and kit.app.extensions["bucket"].head(upload["key"]) is not None
    assert records_of(kit, upload["key"]) == []
    # OSS no longer knows the upload (NoSuchUpload): the object is HEADed and recorded, not a 404.
    second = complete(kit, upload)
    assert second.status_code == 200, second.text
    assert [f["id"] for f in records_of(kit, upload["key"])] == [second.json()["id"]]


def test_an_abort_after_completion_in_oss_records_the_file_instead_of_hiding_it(kit, monkeypatch):
    upload = uploaded(kit)
    monkeypatch.setattr(kit.db, "finish_multipart", lambda *a: (_ for _ in ()).throw(DatabaseUnavailable("x")))
    assert complete(kit, upload).status_code == 503
    monkeypatch.undo()
    refused = kit.call("DELETE", f"/api/multipart/{upload['uploadId']}")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "UploadCompleting"
    assert len(records_of(kit, upload["key"])) == 1
