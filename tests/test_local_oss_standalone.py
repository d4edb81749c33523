"""`python -m oss_emulator`: the emulator alone, what it prints, the console token beyond loopback,
and the client snippets of docs/local-oss.md run as written against it."""
from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

DOC = Path(__file__).resolve().parent.parent / "docs" / "local-oss.md"
DOC_ENDPOINT = "http://127.0.0.1:5001"


class Standalone:
    def __init__(self, directory, *args):
        self.process = subprocess.Popen([sys.executable, "-m", "oss_emulator", "--port", "0", "--dir", str(directory),
                                         *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.lines = []
        threading.Thread(target=self._drain, daemon=True).start()  # werkzeug logs every request to stderr
        deadline = time.monotonic() + 20
        while not self.text or "/-/console" not in self.text:
            assert self.process.poll() is None and time.monotonic() < deadline, self.text
            time.sleep(0.05)
        self.endpoint = re.search(r"Endpoint:\s+(http://127\.0\.0\.1:\d+)", self.text).group(1)

    def _drain(self):
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    emulator = Standalone(tmp_path_factory.mktemp("standalone"))
    yield emulator
    emulator.stop()


def test_it_prints_what_a_client_needs(standalone):
    text = standalone.text
    for expected in ("Bucket:          local-bucket", "Region:          cn-hangzhou", "LTAI-local-dev-key",
                     "local-dev-secret-change-me", "oss2", "alibabacloud-oss-v2", "ali-oss", "docs/local-oss.md"):
        assert expected in text
    assert requests.get(standalone.endpoint + "/-/console", timeout=5).status_code == 200  # loopback: no token
    anonymous = requests.get(standalone.endpoint + "/", timeout=5)
    assert anonymous.status_code == 403 and "<Code>AccessDenied</Code>" in anonymous.text


def test_the_documented_python_snippets_run_as_written(standalone, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 2 and all(DOC_ENDPOINT in block for block in blocks)
    for block in blocks:
        exec(compile(block.replace(DOC_ENDPOINT, standalone.endpoint), str(DOC), "exec"), {})
    printed = capsys.readouterr().out
    assert "'demo/oss2.txt'" in printed and "'demo/v2.txt'" in printed


def test_beyond_loopback_the_console_needs_the_printed_token(tmp_path):
    emulator = Standalone(tmp_path, "--host", "0.0.0.0")
    try:
        token = re.search(r"/-/console\?token=([\w-]+)", emulator.text).group(1)
        console = emulator.endpoint + "/-/console"
        refused = requests.get(console, timeout=5)
        assert refused.status_code == 403 and "令牌" in refused.text and token not in refused.text
        assert requests.get(console, params={"token": token[:-1]}, timeout=5).status_code == 403
        assert requests.get(console, params={"token": token}, timeout=5).status_code == 200
    finally:
        emulator.stop()
