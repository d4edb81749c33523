"""Local mode end to end: signer and emulator over real HTTP, and `python -m server` from nothing."""
from __future__ import annotations

import html
import io
import logging
from datetime import timedelta
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from PIL import Image

from server.config import load_settings
from oss_emulator import default_storage_dir
from oss_emulator.serve import start_emulator
from tests.kit import running_kit
from tests.net import free_port
from tests.ossform import multipart

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def kit(tmp_path, clock):
    with running_kit(tmp_path, clock) as kit:
        yield kit


def test_signature_upload_callback_read_back_and_listing(kit):
    picture = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 30, 30)).save(picture, "PNG")
    data = picture.getvalue()
    form, response = kit.upload("照片 1.png", data)
    assert form["host"] == kit.oss_url
    # OSS (here the emulator) called back; its answer is the server's record, as wx.uploadFile sees it.
    assert response.status_code == 200 and response.json()["key"] == form["key"]
    assert response.json()["name"] == "照片 1.png" and response.json()["size"] == len(data)

    object_url = kit.oss_url + "/" + quote(form["key"])
    assert kit.http.get(object_url).status_code == 403  # a private bucket
    got = kit.http.get(kit.app.extensions["bucket"].presign_get(form["key"], kit.clock() + timedelta(minutes=5)))
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["Content-Type"] == form["formData"]["Content-Type"] == "image/png"
    assert got.headers["Content-Disposition"] == form["formData"]["Content-Disposition"]
    assert got.headers["ETag"] == response.headers["ETag"]

    kit.clock.advance(5)
    second, response = kit.upload("notes.txt", b"later")
    assert response.status_code == 200
    page = kit.http.get(kit.oss_url + "/-/console")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.text.index(second["key"]) < page.text.index(form["key"])  # newest first
    thumbnail = html.unescape(page.text.split('<img src="', 1)[1].split('"', 1)[0])
    assert thumbnail.startswith(f"/{form['key']}?x-oss-process=image%2Fresize%2C")  # images get a thumbnail
    assert "<td>照片 1.png</td>" in page.text  # the uploader's own name, from Content-Disposition
    shown = requests.get(kit.oss_url + thumbnail, timeout=5)  # presigned by the page itself
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(shown.content)).size == (128, 96)


def test_the_signed_form_cannot_be_reused_for_another_key(kit):
    signed = kit.sign("a.png", 3)
    fields = dict(signed["formData"], key=signed["key"] + ".html")
    body, content_type = multipart(list(fields.items()), b"abc")
    response = kit.http.post(signed["host"], data=body, headers={"Content-Type": content_type}, timeout=10)
    assert response.status_code == 403 and b"<Code>AccessDenied</Code>" in response.content


def start_server(tmp_path, port, oss_port):
    # LOCAL_OSS_DIR, DATABASE_URL: never the checkout's instance folder, where a `make run` may be uploading
    # (signing now holds the declared size there for the quota).
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "PORT": str(port),
           "LOCAL_OSS_PORT": str(oss_port), "LOCAL_OSS_DIR": str(tmp_path / "oss"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'uploads.sqlite3'}",
           "PYTHONPATH": str(REPO)}  # PYTHONPATH: the dev venv may lack `pip -e`
    return subprocess.Popen([sys.executable, "-m", "server"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_python_m_server_with_no_settings_reaches_local_mode(tmp_path):
    port, oss_port = free_port(), free_port()
    process = start_server(tmp_path, port, oss_port)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                listing = requests.get(f"http://127.0.0.1:{oss_port}/-/console", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert health.status_code == 200 and health.json()["mode"] == "local"
        assert listing.status_code == 200 and "本地 OSS" in listing.text
        signed = requests.get(f"http://127.0.0.1:{port}/generate_signature",
                              params={"filename": "private-name-in-query.jpg", "size": 1}, timeout=5)
        assert signed.status_code == 200
        requests.get(f"http://127.0.0.1:{oss_port}/a.jpg?x-oss-signature=signature-in-query", timeout=5)
    finally:
        process.terminate()
        _, log = process.communicate(timeout=10)
    # Access log lines show paths only: queries carry file names, signatures and tokens.
    assert "GET /generate_signature HTTP" in log
    assert "private-name-in-query" not in log and "signature-in-query" not in log
    assert f"127.0.0.1:{oss_port}" in log
    assert f"http://127.0.0.1:{oss_port}/-/console" in log  # where to see the files
    assert "不校验合法域名" in log
    assert str(tmp_path / "oss") in log and (tmp_path / "oss" / "blobs").is_dir()


def test_default_storage_dir_is_in_the_instance_folder(tmp_path):
    assert default_storage_dir("b", str(tmp_path)) == os.path.join(str(tmp_path), "local-oss", "b")
    assert default_storage_dir("local-bucket") == str(REPO / "instance" / "local-oss" / "local-bucket")


def test_without_local_oss_dir_the_emulator_stores_in_the_instance_folder_and_says_so(tmp_path):
    settings = load_settings({"CREDENTIALS_TYPE": "local", "HOST": "127.0.0.1", "LOCAL_OSS_PORT": str(free_port())})
    assert settings.local_oss_dir in ("", None)
    instance = tmp_path / "instance"
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("oss_emulator")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        server = start_emulator(settings, str(instance))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert server is not None
    try:
        expected = instance / "local-oss" / "local-bucket"
        assert (expected / "blobs").is_dir()
        assert any(line.endswith(f"保存在：{expected}") for line in lines)
        listing = requests.get(f"http://127.0.0.1:{settings.local_oss_port}/-/console", timeout=5)
        assert str(expected) in listing.text
    finally:
        server.shutdown()
        server.server_close()


def test_emulator_port_taken_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = start_server(tmp_path, free_port(), taken.getsockname()[1])
        _, log = process.communicate(timeout=20)
    assert process.returncode == 2
    assert "LOCAL_OSS_PORT" in log and "Traceback" not in log
