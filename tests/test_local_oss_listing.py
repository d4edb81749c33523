"""The console at `/-/console`: paged, newest first, from an in-memory index, with presigned links."""
from __future__ import annotations

import hashlib
import html
import io
import os
import re
import time

import pytest
import requests
from PIL import Image
from werkzeug.test import Client

from server.config import load_settings
from oss_emulator import create_emulator_app, listing
from oss_emulator.storage import Storage
from tests.conftest import FakeClock

SETTINGS = load_settings({"CREDENTIALS_TYPE": "local", "OSS_BUCKET": "test-bucket", "OSS_REGION": "cn-hangzhou"})


def commit(storage: Storage, key: str, when: float, data: bytes = b"x", content_type: str = "text/plain"):
    path = os.path.join(storage.temp_dir, hashlib.md5(key.encode()).hexdigest())
    with open(path, "wb") as handle:
        handle.write(data)
    return storage.commit(path, key, len(data), hashlib.md5(data).hexdigest().upper(),
                          {"Content-Type": content_type}, when, False)


def keys_on(page: str):
    return re.findall(r'<a href="[^"]*">([^<]*)</a></td>', page)


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """2,000 stored objects, key-0000 the oldest."""
    directory = str(tmp_path_factory.mktemp("many") / "oss")
    storage = Storage(directory)
    for n in range(2000):
        commit(storage, f"uploads/key-{n:04d}.txt", 1_700_000_000 + n)
    return directory


@pytest.fixture
def reads(monkeypatch):
    """How many metadata files are read from now on."""
    count = {"files": 0}
    real = Storage._read

    def counted(self, path):
        count["files"] += 1
        return real(self, path)

    monkeypatch.setattr(Storage, "_read", counted)
    return count


def test_2000_objects_list_a_page_at_a_time_without_reading_them(many, reads):
    emulator = create_emulator_app(SETTINGS, clock=FakeClock(), storage_dir=many)
    assert reads["files"] == 2000  # the index is built once, at start
    client = Client(emulator)
    started = time.monotonic()
    for _ in range(20):
        first = client.get("/-/console")
    elapsed = (time.monotonic() - started) / 20
    assert reads["files"] == 2000, "a listing read metadata files"
    assert elapsed < 0.25, f"{elapsed * 1000:.0f} ms per listing"
    page = first.get_data(as_text=True)
    shown = keys_on(page)
    assert len(shown) == listing.PAGE_SIZE
    assert shown[0] == "uploads/key-1999.txt" and shown[-1] == "uploads/key-1900.txt"  # newest first
    assert "共 2000 个文件" in page and 'href="/-/console?page=2"' in page and "上一页" not in page
    last = client.get("/-/console?page=20").get_data(as_text=True)
    assert keys_on(last)[-1] == "uploads/key-0000.txt" and "下一页" not in last
    assert keys_on(client.get("/-/console?page=21").get_data(as_text=True)) == []
    for junk in ("0", "-1", "abc", "9" * 30, "%C2%B2", "%D9%A3"):
        assert keys_on(client.get(f"/-/console?page={junk}").get_data(as_text=True)) == shown


def test_uploads_and_deletes_of_this_process_show_at_once(emu):
    assert emu.post(emu.sign("uploads/new.txt"), b"n").status_code == 204
    assert keys_on(requests.get(emu.url + "/-/console", timeout=5).text) == ["uploads/new.txt"]
    assert emu.http.delete(emu.url + "/uploads/new.txt").status_code == 204
    assert "还没有文件" in requests.get(emu.url + "/-/console", timeout=5).text


def test_another_process_sharing_the_folder_is_noticed_reading_only_what_changed(tmp_path, reads):
    directory = str(tmp_path / "oss")
    emulator = create_emulator_app(SETTINGS, clock=FakeClock(), storage_dir=directory)
    client = Client(emulator)
    other = Storage(directory)  # as a second emulator process would
    for n in range(50):
        commit(other, f"uploads/{n}.txt", 1_700_000_000 + n)
    before = reads["files"]
    assert len(keys_on(client.get("/-/console").get_data(as_text=True))) == 50
    assert reads["files"] - before == 50
    commit(other, "uploads/3.txt", 1_800_000_000, b"replaced")  # an overwrite: same file name, new inode
    other.delete("uploads/4.txt")
    before = reads["files"]
    shown = keys_on(client.get("/-/console").get_data(as_text=True))
    assert shown[0] == "uploads/3.txt" and "uploads/4.txt" not in shown and len(shown) == 49
    assert reads["files"] - before == 1


def test_an_old_folder_time_is_trusted(tmp_path, reads):
    directory = str(tmp_path / "oss")
    storage = Storage(directory)
    commit(storage, "uploads/a.txt", 1_700_000_000)
    old = time.time() - 60
    os.utime(storage.meta_dir, (old, old))
    emulator = create_emulator_app(SETTINGS, clock=FakeClock(), storage_dir=directory)
    client = Client(emulator)
    before = reads["files"]
    client.get("/-/console")
    assert reads["files"] == before


def test_links_and_thumbnails_are_short_lived_presigned_urls(emu):
    out = io.BytesIO()
    Image.new("RGB", (300, 300), (0, 0, 255)).save(out, "JPEG")
    assert emu.post(emu.sign("uploads/p.jpg"), out.getvalue(), filename="p.jpg").status_code == 204
    page = requests.get(emu.url + "/-/console", timeout=5)
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    href = html.unescape(re.search(r'<a href="([^"]+)">uploads/p.jpg', page.text).group(1))
    thumb = html.unescape(re.search(r'<img src="([^"]+)"', page.text).group(1))
    assert "x-oss-signature=" in href and f"x-oss-expires={listing.LINK_SECONDS}" in href
    assert requests.get(emu.url + href, timeout=5).content == out.getvalue()
    small = requests.get(emu.url + thumb, timeout=5)
    assert small.status_code == 200 and Image.open(io.BytesIO(small.content)).size == (128, 128)
    emu.clock.advance(listing.LINK_SECONDS + 1)
    assert requests.get(emu.url + href, timeout=5).status_code == 403


def test_no_thumbnail_for_types_a_browser_cannot_show_resized(emu):
    assert emu.post(emu.sign("uploads/v.svg", extra=[("Content-Type", "image/svg+xml")]), b"<svg/>").status_code == 204
    assert "<img" not in requests.get(emu.url + "/-/console", timeout=5).text


def test_storage_list_is_every_object_newest_first_without_reading_files(many, reads):
    storage = Storage(many)
    before = reads["files"]
    everything = storage.list()
    assert len(everything) == 2000 and everything[0].key == "uploads/key-1999.txt"
    assert reads["files"] == before
