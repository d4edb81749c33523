"""Shared fixtures. No test may reach the real cloud: non-loopback connections fail loudly."""
from __future__ import annotations

import ipaddress
import shutil
import socket
import threading
from datetime import datetime, timedelta, timezone

import pytest

from server import create_app
from tests.local_oss_support import running_emulator
from tests.mariadb import SKIP_REASON, MariaDB, find_mariadbd

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address) -> bool:
    if isinstance(address, tuple):
        host = address[0]
    else:  # unix socket path
        return True
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded(real):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise ConnectionRefusedError(f"tests may not connect to {address!r} (loopback only)")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True, scope="session")
def _loopback_only():
    socket.socket.connect = _guarded(_real_connect)
    socket.socket.connect_ex = _guarded(_real_connect_ex)
    yield
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex


class FakeClock:
    """A controllable aware-UTC clock, safe to read from several threads."""

    def __init__(self, start: datetime = datetime(2026, 11, 29, 2, 0, 0, tzinfo=timezone.utc)):
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def local_config(tmp_path, clock):
    return {"TESTING": True, "CREDENTIALS_TYPE": "local", "LOCAL_OSS_DIR": str(tmp_path / "oss"), "CLOCK": clock}


@pytest.fixture
def app(local_config):
    return create_app(local_config)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def emu(tmp_path, clock):
    """The local OSS emulator over real HTTP on 127.0.0.1 (tests/local_oss_support.py: Emu)."""
    yield from running_emulator(tmp_path, clock)


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory):
    """A throwaway MariaDB on 127.0.0.1 for the whole session (tests/mariadb.py), or a skip."""
    binary = find_mariadbd()
    if binary is None:
        pytest.skip(SKIP_REASON)
    server = MariaDB(binary, tmp_path_factory.mktemp("mariadb"))
    try:
        server.start()
    except RuntimeError as error:
        pytest.skip(str(error))
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def mariadb_url(mariadb):
    """mysql+pymysql://root@127.0.0.1:PORT/test on the session's MariaDB."""
    return mariadb.new_database("test")
