"""我的文件: the caller's own records, newest first, keyset pages, presigned URLs that work and
expire, thumbnails for images, delete; nobody ever sees or deletes another user's file."""
from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from tests.kit import running_kit


@pytest.fixture
def kit(tmp_path, clock):
    with running_kit(tmp_path, clock) as kit:
        yield kit


@pytest.fixture
def login_kit(tmp_path, clock):
    with running_kit(tmp_path, clock, login=True) as kit:
        yield kit


def png(width=600, height=400) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def stored(kit, filename="a.txt", data=b"hello", user=None) -> dict:
    signed, response = kit.upload(filename, data, user=user)
    assert response.status_code == 200, response.text
    record = kit.confirm(signed["key"], user=user)
    assert record.status_code == 200, record.text
    return record.json()


def listing(kit, user=None, **params):
    return kit.call("GET", "/api/files", user, params=params)


def test_the_list_is_newest_first_with_working_download_urls(kit):
    first = stored(kit, "第一份.txt", b"one")
    second = stored(kit, "第二份.txt", b"two")
    response = listing(kit)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    files = response.json()["files"]
    assert [f["id"] for f in files] == [second["id"], first["id"]]
    assert response.json()["nextCursor"] is None
    download = kit.http.get(files[0]["url"], timeout=10)
    assert download.status_code == 200 and download.content == b"two"
    assert "filename*=UTF-8''%E7%AC%AC%E4%BA%8C%E4%BB%BD.txt" in download.headers["Content-Disposition"]
    assert "thumbnailUrl" not in files[0]


def test_the_bucket_is_private_without_the_signature(kit):
    record = stored(kit)
    url = listing(kit).json()["files"][0]["url"]
    bare = url.split("?", 1)[0]
    assert kit.http.get(bare, timeout=10).status_code == 403
    assert record["key"] in bare


def test_images_get_a_thumbnail_url_that_resizes(kit):
    stored(kit, "照片.png", png(600, 400))
    item = listing(kit).json()["files"][0]
    assert "x-oss-process=image%2Fresize" in item["thumbnailUrl"]
    thumbnail = kit.http.get(item["thumbnailUrl"], timeout=10)
    assert thumbnail.status_code == 200, thumbnail.text
    width, height = Image.open(io.BytesIO(thumbnail.content)).size
    assert max(width, height) <= 240 and (width, height) != (600, 400)


def test_urls_expire_after_the_setting_and_never_after_the_credentials(tmp_path, clock):
    with running_kit(tmp_path, clock, OSS_DOWNLOAD_EXPIRE_SECONDS="120") as kit:
        stored(kit)
        item = listing(kit).json()["files"][0]
        query = parse_qs(urlsplit(item["url"]).query)
        assert query["x-oss-expires"] == ["120"]
        kit.clock.advance(121)
        assert kit.http.get(item["url"], timeout=10).status_code == 403  # expired
        fresh = listing(kit).json()["files"][0]
        assert kit.http.get(fresh["url"], timeout=10).status_code == 200
    with running_kit(tmp_path / "short", clock, OSS_DOWNLOAD_EXPIRE_SECONDS="86400") as kit:
        stored(kit)
        item = listing(kit).json()["files"][0]
        expires = int(parse_qs(urlsplit(item["url"]).query)["x-oss-expires"][0])
        assert expires <= 3600  # the local credentials live an hour


def test_pages_are_stable_while_files_are_added(kit):
    ids = [stored(kit, f"{n}.txt", str(n).encode())["id"] for n in range(5)]
    page1 = listing(kit, limit=2).json()
    assert [f["id"] for f in page1["files"]] == ids[:2:-1][:2] == [ids[4], ids[3]]
    stored(kit, "late.txt", b"late")  # arrives while the user scrolls
    page2 = listing(kit, limit=2, cursor=page1["nextCursor"]).json()
    page3 = listing(kit, limit=2, cursor=page2["nextCursor"]).json()
    assert [f["id"] for f in page2["files"]] == [ids[2], ids[1]]
    assert [f["id"] for f in page3["files"]] == [ids[0]] and page3["nextCursor"] is None


@pytest.mark.parametrize("params, code", [
    ({"limit": "0"}, "InvalidLimit"), ({"limit": "101"}, "InvalidLimit"), ({"limit": "x"}, "InvalidLimit"),
    ({"limit": "-1"}, "InvalidLimit"), ({"cursor": "nonsense!"}, "InvalidCursor"), ({"cursor": "YWJj"}, "InvalidCursor"),
])
def test_bad_limits_and_cursors_are_400(kit, params, code):
    response = listing(kit, **params)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_delete_removes_the_object_and_the_record(kit):
    record = stored(kit)
    url = listing(kit).json()["files"][0]["url"]
    response = kit.call("DELETE", f"/api/files/{record['id']}")
    assert response.status_code == 204
    assert listing(kit).json()["files"] == []
    assert kit.app.extensions["bucket"].head(record["key"]) is None
    assert kit.http.get(url, timeout=10).status_code == 404  # the presigned URL finds nothing
    again = kit.call("DELETE", f"/api/files/{record['id']}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "FileNotFound"


def test_delete_when_the_object_is_already_gone_from_oss(kit):
    record = stored(kit)
    kit.app.extensions["bucket"].delete(record["key"])
    assert kit.call("DELETE", f"/api/files/{record['id']}").status_code == 204
    assert listing(kit).json()["files"] == []


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "1.5", "9" * 30])
def test_bad_ids_are_400(kit, raw):
    response = kit.call("DELETE", f"/api/files/{raw}")
    assert response.status_code == 400 and response.json()["error"]["code"] == "InvalidId"


def test_users_see_and_delete_only_their_own_files(login_kit):
    alice = stored(login_kit, "alice.txt", b"a", user="alice")
    bob = stored(login_kit, "bob.txt", b"b", user="bob")
    assert [f["id"] for f in listing(login_kit, user="alice").json()["files"]] == [alice["id"]]
    assert [f["id"] for f in listing(login_kit, user="bob").json()["files"]] == [bob["id"]]
    # Bob's id from Alice: the same 404 as an id that does not exist.
    response = login_kit.call("DELETE", f"/api/files/{bob['id']}", user="alice")
    assert response.status_code == 404 and response.json()["error"]["code"] == "FileNotFound"
    assert login_kit.call("DELETE", "/api/files/999999", user="alice").json()["error"]["code"] == "FileNotFound"
    assert listing(login_kit, user="bob").json()["files"][0]["id"] == bob["id"]
    # Without a token: 401, never someone's list.
    assert login_kit.call("GET", "/api/files").status_code == 401


def test_list_and_delete_count_against_the_user_quota(tmp_path, clock):
    with running_kit(tmp_path, clock, login=True, SIGN_RATE_LIMIT="3/minute") as kit:
        statuses = [listing(kit, user="carol").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
