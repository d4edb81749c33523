"""What the server decides about one upload: key, type, download name, and what it refuses."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from server.config import DEFAULT_ALLOWED_EXTENSIONS
from server.upload_rules import (
    DEFAULT_CONTENT_TYPE,
    UploadRejected,
    clean_filename,
    extension_of,
    parse_size,
    plan_upload,
)

NOW = datetime(2026, 11, 29, 2, 0, 0, tzinfo=timezone.utc)
ALLOWED = frozenset(DEFAULT_ALLOWED_EXTENSIONS.split())
KEY_RE = re.compile(r"^uploads/2026/11/29/[0-9a-f]{32}(\.[a-z0-9]+)?$")


def plan(name, allowed=ALLOWED):
    return plan_upload(name, allowed, "uploads/", NOW)


def rejected(call) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(
    "name, ext, content_type",
    [
        ("photo.jpg", "jpg", "image/jpeg"),
        ("PHOTO.JPEG", "jpeg", "image/jpeg"),
        ("picture.png", "png", "image/png"),
        ("clip.MP4", "mp4", "video/mp4"),
        ("song.mp3", "mp3", "audio/mpeg"),
        ("doc.pdf", "pdf", "application/pdf"),
        ("sheet.xlsx", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("notes.txt", "txt", "text/plain; charset=utf-8"),
        ("pack.zip", "zip", "application/zip"),
        ("archive.tar.zip", "zip", "application/zip"),
        ("evil.exe.jpg", "jpg", "image/jpeg"),
    ],
)
def test_key_and_content_type_from_extension(name, ext, content_type):
    target = plan(name)
    assert KEY_RE.match(target.key) and target.key.endswith("." + ext)
    assert target.content_type == content_type
    stem = name.rsplit(".", 1)[0]
    assert stem not in target.key  # the client's name never enters the key


def test_allowed_extension_without_known_type_is_opaque_bytes():
    target = plan("scan.raw", frozenset({"raw"}))
    assert target.key.endswith(".raw") and target.content_type == DEFAULT_CONTENT_TYPE


def test_no_filename_is_refused_unless_allowed():
    error = rejected(lambda: plan(None))
    assert (error.status, error.code) == (400, "MissingFilename")


def test_no_filename_gives_opaque_object_when_allowed():
    target = plan_upload(None, ALLOWED, "uploads/", NOW, allow_nameless=True)
    assert KEY_RE.match(target.key) and "." not in target.key.rsplit("/", 1)[1]
    assert target.content_type == DEFAULT_CONTENT_TYPE
    assert target.content_disposition == "attachment"


def test_keys_are_unique():
    keys = {plan("a.jpg").key for _ in range(2000)}
    assert len(keys) == 2000


def test_new_id_is_used():
    target = plan_upload("a.png", ALLOWED, "media/", NOW, new_id=lambda: "f" * 32)
    assert target.key == "media/2026/11/29/" + "f" * 32 + ".png"


@pytest.mark.parametrize(
    "raw, name",
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("..\\..\\windows\\win.ini.png", "win.ini.png"),
        ("/abs/path/x.pdf", "x.pdf"),
        ("C:\\Users\\me\\照片.jpg", "照片.jpg"),
        ("  spaced.jpg  ", "spaced.jpg"),
    ],
)
def test_only_the_base_name_counts(raw, name):
    assert clean_filename(raw) == name
    target = plan(raw)
    assert KEY_RE.match(target.key) and ".." not in target.key


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "a" * 252 + ".jpgx", "a\x00.jpg", "a\nb.jpg", "a\rb.jpg", "a\tb.jpg", "a\x1b.jpg", "a\x7f.jpg", "..", "dir/", "dir/.."],
)
def test_bad_filenames(raw):
    error = rejected(lambda: plan(raw))
    assert (error.status, error.code) == (400, "InvalidFilename")


def test_longest_name_is_accepted():
    name = "a" * 251 + ".jpg"
    assert len(name) == 255
    assert plan(name).key.endswith(".jpg")


@pytest.mark.parametrize("raw", ["virus.exe", "page.html", "image.svg", "script.js", "README", ".jpg", "a.jpg.exe", "a."])
def test_disallowed_extensions(raw):
    error = rejected(lambda: plan(raw))
    assert (error.status, error.code) == (415, "ExtensionNotAllowed")


def test_extension_of():
    assert extension_of("a.JPG") == "jpg"
    assert extension_of(".bashrc") == ""
    assert extension_of("noext") == ""
    assert extension_of(None) == ""


@pytest.mark.parametrize("raw, expected", [("1", 1), (" 42 ", 42), ("100", 100), (7, 7)])
def test_sizes_accepted(raw, expected):
    assert parse_size(raw, 100) == expected


def test_size_is_required_unless_optional():
    error = rejected(lambda: parse_size(None, 100))
    assert (error.status, error.code) == (400, "MissingSize")
    assert parse_size(None, 100, required=False) is None


@pytest.mark.parametrize("raw", [True, 1.5, [1], {"a": 1}])
def test_sizes_of_the_wrong_json_type(raw):
    assert rejected(lambda: parse_size(raw, 100)).code == "InvalidSize"


@pytest.mark.parametrize("raw", ["0", "-1", "-0", "abc", "1.5", "1e3", "", " ", "0x10", "١٢", "9" * 21])
def test_bad_sizes(raw):
    error = rejected(lambda: parse_size(raw, 100))
    assert (error.status, error.code) == (400, "InvalidSize")


@pytest.mark.parametrize("raw", ["101", "9" * 20])
def test_size_over_limit(raw):
    error = rejected(lambda: parse_size(raw, 100))
    assert (error.status, error.code) == (413, "FileTooLarge")
