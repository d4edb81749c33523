"""Storage on disk: the no-overwrite commit without hard links, and start-up cleaning of `.tmp/`."""
from __future__ import annotations

import errno
import os
import threading
import time

import pytest

from oss_emulator.storage import ObjectExists, Storage
from tests.ossform import error_code


def _temp_upload(storage: Storage, data: bytes) -> str:
    path = os.path.join(storage.temp_dir, os.urandom(8).hex())
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def _commit(storage: Storage, key: str, data: bytes, forbid: bool = True):
    return storage.commit(_temp_upload(storage, data), key, len(data), "E" * 32, {}, time.time(), forbid)


@pytest.fixture
def no_hard_links(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", refuse)
    return calls


def test_uploads_work_where_hard_links_do_not(emu, no_hard_links):
    fields = emu.sign(extra=[("x-oss-forbid-overwrite", "true")])
    assert emu.post(fields, b"first").status_code == 204
    assert no_hard_links, "the link was never tried"
    again = emu.post(emu.sign(extra=[("x-oss-forbid-overwrite", "true")]), b"second")
    assert again.status_code == 409 and error_code(again) == "FileAlreadyExists"
    assert emu.http.get(emu.url + "/uploads/a.bin").content == b"first"
    assert len(emu.objects()) == 1 and not any("/.tmp/" in f for f in emu.files())


@pytest.mark.parametrize("code", [errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK])
def test_the_fallback_claim_reads_back_and_refuses_a_second_writer(tmp_path, monkeypatch, code):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", refuse)
    storage = Storage(str(tmp_path / "oss"))
    obj = _commit(storage, "k", b"one")
    assert storage.get("k") == obj
    with pytest.raises(ObjectExists):
        _commit(storage, "k", b"two")
    with storage.open("k")[1] as handle:
        assert handle.read() == b"one"
    assert os.listdir(storage.temp_dir) == [] and os.listdir(storage.blob_dir) == [obj.blob]


def test_the_fallback_claim_is_race_free_across_processes(tmp_path, no_hard_links):
    # One Storage per writer: their in-process lock does not serialise them, as with two processes.
    root = str(tmp_path / "oss")
    stores = [Storage(root) for _ in range(8)]
    results = []
    start = threading.Barrier(len(stores))

    def writer(storage, n):
        start.wait(5)
        try:
            results.append(_commit(storage, "same", f"writer {n}".encode()).blob)
        except ObjectExists:
            results.append(None)

    threads = [threading.Thread(target=writer, args=(s, n)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    winners = [r for r in results if r is not None]
    assert len(results) == 8 and len(winners) == 1
    assert stores[0].get("same").blob == winners[0]
    assert os.listdir(stores[0].blob_dir) == winners


def test_other_link_failures_are_not_hidden(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "link", broken)
    storage = Storage(str(tmp_path / "oss"))
    with pytest.raises(OSError) as raised:
        _commit(storage, "k", b"one")
    assert raised.value.errno == errno.EIO
    assert storage.get("k") is None and os.listdir(storage.blob_dir) == [] and os.listdir(storage.temp_dir) == []


def test_start_up_clears_only_stale_temp_files(tmp_path):
    storage = Storage(str(tmp_path / "oss"))
    stale = _temp_upload(storage, b"left by a crash")
    hour_and_a_bit = time.time() - 3700
    os.utime(stale, (hour_and_a_bit, hour_and_a_bit))
    in_flight = _temp_upload(storage, b"another process is still writing this")
    Storage(storage.root).clear_temp()
    assert not os.path.exists(stale)
    assert os.path.exists(in_flight)


def test_the_buckets_creation_time_is_kept_across_restarts(tmp_path):
    """GetBucketInfo's CreationDate: written once when the storage is first set up, never taken from
    the folder's own times (they change with every entry added to it)."""
    first = Storage(str(tmp_path)).created
    os.mkdir(tmp_path / "keys")  # what the first callback adds beside the objects
    os.utime(tmp_path, (first + 3600, first + 3600))
    assert Storage(str(tmp_path)).created == first
    (tmp_path / "created").write_text("half-writ")  # a process killed while writing it
    assert Storage(str(tmp_path)).created == os.stat(tmp_path / "created").st_mtime
