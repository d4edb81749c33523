"""The keys one reconcile run listed, kept on disk: a temporary SQLite file of 16-byte digests.

Phase (b) of a reconcile asks of every record whether its key was listed. A Python set of the
listing held about 100 bytes an object (1 GB per 10 million); this file takes about 25 bytes an
object on disk and a few MB of memory whatever the bucket holds. It is scratch space of one run,
not the app's database (db.py): made in the system's temp folder, removed when the run ends.
"""
from __future__ import annotations

import os
import sqlite3
import tempfile
from typing import Iterable, Optional

DIGEST_BYTES = 16  # of the key's SHA-256 (db.key_hash): no two keys of one bucket share it in practice


class ListedKeys:
    def __init__(self, directory: Optional[str] = None):
        handle, self.path = tempfile.mkstemp(prefix="reconcile-listed-", suffix=".sqlite3", dir=directory)
        os.close(handle)
        self._conn: Optional[sqlite3.Connection] = None
        try:
            self._conn = sqlite3.connect(self.path)
            # Scratch data: no journal and no fsync; a crash loses nothing that matters.
            self._conn.execute("PRAGMA journal_mode=OFF")
            self._conn.execute("PRAGMA synchronous=OFF")
            self._conn.execute("PRAGMA cache_size=-4096")  # at most about 4 MB of pages in memory
            self._conn.execute("CREATE TABLE listed (digest BLOB PRIMARY KEY) WITHOUT ROWID")
        except BaseException:
            self.close()  # a full disk, say: no file left behind
            raise

    def add(self, digests: Iterable[bytes]) -> None:
        self._conn.executemany("INSERT OR IGNORE INTO listed VALUES (?)", ((d[:DIGEST_BYTES],) for d in digests))
        self._conn.commit()

    def __contains__(self, digest: bytes) -> bool:
        return self._conn.execute("SELECT 1 FROM listed WHERE digest = ?", (digest[:DIGEST_BYTES],)).fetchone() is not None

    def __len__(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM listed").fetchone()[0]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> "ListedKeys":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
