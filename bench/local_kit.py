"""The signer and the emulator in this process, on free loopback ports, with a temporary folder for
the emulator's storage and the records database: what the record and multipart benches run on."""
from __future__ import annotations

import contextlib
import logging
import socket
import tempfile
from pathlib import Path

from oss_emulator import create_emulator_app
from server import create_app

from .gunicorn_run import QUOTA_ON
from .http_routes import Server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def local_kit(signer_port: int, **settings):
    """(signer app, emulator) serving on `signer_port` and a free port; access logs quiet."""
    quiet = [logging.getLogger(name) for name in ("werkzeug", "server", "oss_emulator")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.ERROR)
    oss_port = free_port()
    try:
        with tempfile.TemporaryDirectory() as folder:
            app = create_app({
                "CREDENTIALS_TYPE": "local", "AUTH_REQUIRED": "false", "LOCAL_OSS_DIR": f"{folder}/oss",
                "LOCAL_OSS_PORT": str(oss_port), "PUBLIC_BASE_URL": f"http://127.0.0.1:{signer_port}",
                "DATABASE_URL": f"sqlite:///{Path(folder) / 'records.sqlite3'}",
                "SIGN_RATE_LIMIT": "1000000000/second", **QUOTA_ON, **settings,
            })
            emulator = create_emulator_app(app.config["SETTINGS"])
            with Server(emulator, port=oss_port), Server(app, port=signer_port):
                yield app, emulator
    finally:
        for logger, level in zip(quiet, levels):
            logger.setLevel(level)
