"""Reconcile's listed keys live in a temporary file: membership is exact, memory stays flat however
many keys a bucket lists, and the file is gone when the run ends (even when it fails)."""
from __future__ import annotations

import hashlib
import os
import tempfile
import tracemalloc

import pytest

from server.listed_keys import ListedKeys


def digest(n: int) -> bytes:
    return hashlib.sha256(f"uploads/2026/12/06/{n}.jpg".encode()).digest()


def test_membership_and_duplicates(tmp_path):
    with ListedKeys(str(tmp_path)) as listed:
        listed.add(digest(n) for n in range(1000))
        listed.add([digest(5), digest(6)])  # a key listed twice (pages that overlap after a retry)
        assert len(listed) == 1000
        assert digest(0) in listed and digest(999) in listed and digest(1000) not in listed
        path = listed.path
        assert os.path.exists(path) and os.path.dirname(path) == str(tmp_path)
    assert not os.path.exists(path)


def test_memory_stays_flat_for_many_keys(tmp_path):
    tracemalloc.start()
    try:
        with ListedKeys(str(tmp_path)) as listed:
            for page in range(100):  # 100,000 keys in pages of 1,000, as the listing arrives
                listed.add(digest(page * 1000 + n) for n in range(1000))
            assert digest(54321) in listed
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A Python set of the same digests holds about 10 MB; here Python holds a page at a time (SQLite's
    # own page cache, capped at 4 MB, is outside tracemalloc's view).
    assert peak < 2 * 1024 * 1024, peak


def test_the_file_is_removed_when_the_run_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(RuntimeError):
        with ListedKeys() as listed:
            listed.add([digest(1)])
            raise RuntimeError("OSS went away")
    assert os.listdir(tmp_path) == []


def test_no_file_is_left_when_setting_up_fails(tmp_path, monkeypatch):
    import sqlite3

    def full_disk(path):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite3, "connect", full_disk)
    with pytest.raises(sqlite3.OperationalError):
        ListedKeys(str(tmp_path))
    assert os.listdir(tmp_path) == []
