"""A throwaway MariaDB server for tests: Debian's mariadbd on 127.0.0.1, its data in a temp folder.

`make test` unpacks Debian's package into .venv/mariadb/ when no mariadbd is installed (see the
Makefile's mariadb-binary target). The server runs without grant tables: it is reachable from this
machine only, lives for one test session, and skipping mariadb-install-db (help tables, sys schema)
saves several seconds per run. Its compiled-in default character set is latin1, which is what
proves the schema asks for utf8mb4 itself.
"""
from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Optional

from tests.net import free_port

ROOT = Path(__file__).resolve().parent.parent
UNPACKED = ROOT / ".venv" / "mariadb" / "usr" / "sbin" / "mariadbd"
SKIP_REASON = "MariaDB is not installed (Debian: apt-get install mariadb-server); `make test` unpacks it where it can"


def find_mariadbd() -> Optional[Path]:
    for candidate in (shutil.which("mariadbd"), "/usr/sbin/mariadbd", UNPACKED):
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


class MariaDB:
    """One mariadbd process. stop() and start() again keep the data (for outage tests)."""

    def __init__(self, binary: Path, folder: Path, buffer_pool: str = "16M"):
        self.binary = binary
        self.buffer_pool = buffer_pool  # the tests' tables are tiny; `make bench` holds a million rows
        self.base = binary.parent.parent  # .../usr
        self.folder = folder
        self.datadir = folder / "data"
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None
        self._databases = 0

    def _environment(self) -> dict:
        env = dict(os.environ)
        libs = [str(p) for p in (self.base / "lib").glob("*-linux-gnu")]
        if libs:  # the unpacked package brings libaio / liburing of its own
            env["LD_LIBRARY_PATH"] = os.pathsep.join(libs + [env.get("LD_LIBRARY_PATH", "")]).rstrip(os.pathsep)
        return env

    def start(self, timeout: float = 30) -> None:
        import pymysql

        self.datadir.mkdir(parents=True, exist_ok=True)
        command = [
            str(self.binary), "--no-defaults", f"--user={getpass.getuser()}", f"--datadir={self.datadir}",
            f"--basedir={self.base}", f"--lc-messages-dir={self.base / 'share' / 'mysql'}",
            f"--port={self.port}", "--bind-address=127.0.0.1", f"--socket={self.folder / 'sock'}",
            f"--pid-file={self.folder / 'pid'}", f"--log-error={self.folder / 'error.log'}", f"--tmpdir={self.folder}",
            "--skip-grant-tables", f"--innodb-buffer-pool-size={self.buffer_pool}", "--innodb-log-file-size=8M",
            "--innodb-page-size=4k", "--innodb-temp-data-file-path=ibtmp1:4M:autoextend",
            # A throwaway server: no fsync per commit (the tests measure behaviour, not durability).
            "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--innodb-flush-method=nosync",
            "--skip-log-bin", "--skip-name-resolve",
        ]
        self.process = subprocess.Popen(
            command, env=self._environment(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=1).close()
                return
            except pymysql.err.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.folder / "error.log"
                    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
                    errors = [line for line in lines if "[ERROR]" in line] or lines[-1:] or ["no log"]
                    self.stop()
                    raise RuntimeError(f"mariadbd did not start: {errors[0]}")
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def new_database(self, name: Optional[str] = None) -> str:
        """A fresh, empty database (server default character set); its SQLAlchemy URL."""
        import pymysql

        self._databases += 1
        name = name or f"test{self._databases}"
        connection = pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=3)
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {name}")
        finally:
            connection.close()
        return self.url(name)

    def url(self, database: str) -> str:
        # The throwaway server has no TLS: skip PyMySQL's per-connection attempt (about 40 ms each).
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{database}?ssl_disabled=true"
