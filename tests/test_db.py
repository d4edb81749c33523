"""server/db.py: every test runs against SQLite and against a real MariaDB (tests/mariadb.py)."""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, text

from server import create_app
from server.db import (
    Usage,
    SCHEMA_VERSION,
    Database,
    DatabaseUnavailable,
    UploadConflict,
    callback_tokens_used,
    uploads,
    url_secrets,
)
from tests.conftest import FakeClock
from tests.net import free_port

BUCKET = "local-bucket"
ETAG = '"5EB63BBBE01EEED093CB22BB8F5ACDC3"'
THREADS = 10


class Backend:
    """A fresh, empty database and a way to take it away and bring it back."""

    def __init__(self, name: str, url: str, down, up):
        self.name, self.url, self.down, self.up = name, url, down, up


@pytest.fixture(params=["sqlite", "mariadb"])
def backend(request, tmp_path):
    if request.param == "sqlite":
        folder = tmp_path / "db"

        # SQLite "down": its folder cannot be opened (moved away, a plain file in its place).
        def down():
            folder.rename(tmp_path / "db.away")
            folder.write_text("not a folder")

        def up():
            folder.unlink()
            (tmp_path / "db.away").rename(folder)

        return Backend("sqlite", f"sqlite:///{folder}/uploads.sqlite3", down, up)
    server = request.getfixturevalue("mariadb")
    return Backend("mariadb", server.new_database(), server.stop, server.start)


@pytest.fixture
def db(backend, clock):
    database = Database(backend.url, clock)
    yield database
    database.close()


def _record(db, key="uploads/2026/11/29/a.jpg", folder="u1/", name="a.jpg", size=1234, etag=ETAG, content_type="image/jpeg"):
    return db.record_upload(BUCKET, key, folder, name, size, etag, content_type)


def _count(url: str, table) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar()
    finally:
        engine.dispose()


def _race(count: int, work):
    """Run work(i) in `count` threads released together; their results in order."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(i):
        try:
            barrier.wait(5)
            results[i] = work(i)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


def _raised(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the type is the answer
        return type(error)
    return None


# ---------- records ----------

def test_a_record_round_trips_and_answers_the_api_json(db, clock):
    record = _record(db, name="报告 2026.pdf", content_type="application/pdf")
    assert record.id >= 1 and record.key == "uploads/2026/11/29/a.jpg" and record.user_folder == "u1/"
    assert record.etag == "5EB63BBBE01EEED093CB22BB8F5ACDC3"  # stored without the quotes
    assert record.to_json() == {
        "id": record.id, "key": "uploads/2026/11/29/a.jpg", "name": "报告 2026.pdf", "size": 1234,
        "contentType": "application/pdf", "createdAt": "2026-11-29T02:00:00Z",
    }
    assert db.find_by_key(BUCKET, record.key) == record
    assert db.get_upload(record.id, "u1/") == record
    assert db.find_by_key(BUCKET, "uploads/other.jpg") is None and db.find_by_key("other-bucket", record.key) is None


def test_the_same_object_and_etag_is_recorded_once_even_when_ten_callers_race(backend, clock):
    # Two Database objects: two signer processes sharing one database.
    first, second = Database(backend.url, clock), Database(backend.url, clock)
    try:
        first.ensure_tables()
        ids = _race(THREADS, lambda i: (first if i % 2 else second).record_upload(
            BUCKET, "uploads/race.mp4", "u1/", "race.mp4", 10, ETAG if i % 3 else ETAG.strip('"').lower(), "video/mp4"
        ).id)
        assert len(set(ids)) == 1
        assert _count(backend.url, uploads) == 1
    finally:
        first.close()
        second.close()


def test_a_replay_returns_the_existing_record(db, clock):
    original = _record(db)
    clock.advance(60)
    again = _record(db, etag=ETAG.strip('"'))  # the callback's ${etag} has no quotes; HEAD's has
    assert again == original and again.created_at == original.created_at


def test_the_same_key_with_another_etag_is_a_conflict_and_keeps_the_first(db):
    original = _record(db)
    with pytest.raises(UploadConflict) as caught:
        _record(db, etag='"00000000000000000000000000000000"')
    assert caught.value.existing == original and caught.value.status == 409
    assert db.list_uploads("u1/", 10) == [original]


def test_keyset_pages_stay_stable_while_files_are_added(db, backend):
    made = [_record(db, key=f"uploads/p{i}.jpg").id for i in range(25)]
    first = db.list_uploads("u1/", 10)
    assert [r.id for r in first] == made[::-1][:10]
    newer = [_record(db, key=f"uploads/new{i}.jpg").id for i in range(5)]
    second = db.list_uploads("u1/", 10, before_id=first[-1].id)
    third = db.list_uploads("u1/", 10, before_id=second[-1].id)
    assert [r.id for r in first + second + third] == made[::-1]  # nothing twice, nothing skipped
    assert db.list_uploads("u1/", 10, before_id=third[-1].id) == []
    assert [r.id for r in db.list_uploads("u1/", 5)] == newer[::-1]  # new files start a fresh first page
    # A deep page reads a range of (user_folder, id), never every row of the user above the cursor
    # (MariaDB's optimizer picks `ref` on user_folder alone at scale without the index hint).
    plan = db.explain_list_uploads("u1/", 11, before_id=second[-1].id)
    if backend.name == "sqlite":
        assert [row["detail"] for row in plan] == [
            "SEARCH uploads USING INDEX ix_uploads_user_folder_id (user_folder=? AND id<?)"]
    else:
        assert [(row["type"], row["key"]) for row in plan] == [("range", "ix_uploads_user_folder_id")]


def test_users_see_and_delete_only_their_own_records(db):
    mine = _record(db, key="uploads/mine.jpg", folder="alice/")
    theirs = _record(db, key="uploads/theirs.jpg", folder="bob/")
    assert db.get_upload(theirs.id, "alice/") is None
    assert [r.id for r in db.list_uploads("alice/", 10)] == [mine.id]
    assert db.delete_upload(theirs.id, "alice/") is False
    assert db.get_upload(theirs.id, "bob/") == theirs
    assert db.delete_upload(mine.id, "alice/") is True
    assert db.delete_upload(mine.id, "alice/") is False
    assert db.list_uploads("alice/", 10) == [] and db.list_uploads("", 10) == []


def test_user_folders_compare_exactly(db):
    # MySQL's default collations would call these equal (case, trailing space).
    _record(db, key="uploads/a.jpg", folder="abc/")
    assert db.list_uploads("ABC/", 10) == [] and db.list_uploads("abc/ ", 10) == []


def test_a_deleted_newest_id_is_never_handed_out_again(db):
    first = _record(db, key="uploads/1.jpg")
    assert db.delete_upload(first.id, "u1/")
    assert _record(db, key="uploads/2.jpg").id > first.id


@pytest.mark.parametrize("name, key", [
    ("中文文件名.jpg", "uploads/用户/照片.jpg"),
    ("🎉 party 👨‍👩‍👧.mp4", "uploads/🎉/👨‍👩‍👧.mp4"),
    ("𠮷野家.png", "uploads/𠮷.png"),  # outside the BMP: needs utf8mb4, not MySQL's utf8
])
def test_unicode_names_and_keys_come_back_unchanged(db, name, key):
    record = _record(db, key=key, name=name)
    assert db.get_upload(record.id, "u1/").name == name
    assert db.find_by_key(BUCKET, key).key == key


def test_a_key_of_1023_bytes_is_stored_and_one_byte_more_is_refused(db):
    ascii_key = "uploads/" + "k" * (1023 - len("uploads/"))
    wide_key = "uploads/" + "文" * 338 + "x"  # 8 + 1014 + 1 bytes: multi-byte characters count as bytes
    for key in (ascii_key, wide_key):
        assert len(key.encode("utf-8")) == 1023
        record = _record(db, key=key)
        assert db.find_by_key(BUCKET, key) == record and db.get_upload(record.id, "u1/").key == key
    # Keys that share a long prefix are still different objects.
    assert _record(db, key=ascii_key[:-1] + "j").id != db.find_by_key(BUCKET, ascii_key).id
    with pytest.raises(ValueError):
        _record(db, key=ascii_key + "k")


def test_values_the_columns_cannot_hold_are_refused_before_the_database(db):
    for bad in ({"name": "n" * 256}, {"content_type": "x/" + "y" * 127}, {"folder": "f" * 65}, {"size": -1},
                {"size": True}, {"etag": '""'}, {"key": ""}):
        with pytest.raises(ValueError):
            _record(db, **bad)
    assert db.list_uploads("u1/", 10) == []


def test_times_are_stored_in_utc_and_read_back_aware(backend):
    beijing = timezone(timedelta(hours=8))
    clock = FakeClock(datetime(2026, 12, 1, 18, 0, 0, 987654, tzinfo=beijing))
    database = Database(backend.url, clock)
    try:
        record = _record(database)
        stored = database.get_upload(record.id, "u1/").created_at
        assert stored == datetime(2026, 12, 1, 10, 0, 0, tzinfo=timezone.utc) and stored.utcoffset() == timedelta(0)
        assert record.to_json()["createdAt"] == "2026-12-01T10:00:00Z"
        engine = create_engine(backend.url)
        with engine.connect() as conn:  # the column itself holds the UTC wall time
            raw = conn.execute(text("SELECT created_at FROM uploads")).scalar()
        engine.dispose()
        assert str(raw).startswith("2026-12-01 10:00:00")
    finally:
        database.close()


def test_a_naive_clock_is_refused(backend):
    database = Database(backend.url, lambda: datetime(2026, 12, 1, 10, 0, 0))
    try:
        with pytest.raises(ValueError):
            _record(database)
    finally:
        database.close()


# ---------- multipart ----------

def _multipart(db, upload_id="0004B9894A22E5B1888A1E29F8236E2D", folder="u1/"):
    return db.add_multipart(upload_id, BUCKET, "uploads/big.mp4", folder, "大视频.mp4", 26 * 2**20 + 7, 5 * 2**20, 6, "video/mp4")


def test_an_open_multipart_upload_is_the_owners_only(db):
    opened = _multipart(db)
    assert opened.part_count == 6 and opened.name == "大视频.mp4"
    assert db.get_multipart(opened.upload_id, "u1/") == opened
    assert db.get_multipart(opened.upload_id, "u2/") is None
    assert db.get_multipart("unknown", "u1/") is None
    assert _multipart(db) == opened  # a retried initiate record is the same row
    with pytest.raises(ValueError):
        _multipart(db, folder="u2/")
    assert db.delete_multipart(opened.upload_id) is True and db.delete_multipart(opened.upload_id) is False
    assert db.get_multipart(opened.upload_id, "u1/") is None


def test_finishing_a_multipart_upload_records_it_and_marks_it_completed_in_one_step(db):
    opened = _multipart(db)
    record = db.finish_multipart(opened.upload_id, '"A1B2C3D4E5F60718293A4B5C6D7E8F90-6"')
    assert record.to_json()["name"] == "大视频.mp4" and record.size == opened.size and record.etag.endswith("-6")
    assert record.fresh
    assert db.get_multipart(opened.upload_id, "u1/").state == "completed"
    # Kept so that a retried complete answers the same record; the ETag of a second call changes nothing.
    again = db.finish_multipart(opened.upload_id, "X")
    assert again == record and not again.fresh
    assert db.list_uploads("u1/", 10) == [record]
    assert db.usage("u1/") == Usage(opened.size, 1, 0, 0)
    assert db.delete_multipart(opened.upload_id) is False  # only open uploads are forgotten without a claim


def test_finishing_after_the_callback_recorded_it_is_idempotent(db):
    opened = _multipart(db)
    by_callback = db.record_upload(BUCKET, opened.key, "u1/", opened.name, opened.size, "ABC-6", "video/mp4")
    assert db.finish_multipart(opened.upload_id, '"ABC-6"') == by_callback
    assert db.get_multipart(opened.upload_id, "u1/").state == "completed"


def test_a_conflicting_finish_keeps_the_open_upload(db):
    opened = _multipart(db)
    db.record_upload(BUCKET, opened.key, "u1/", opened.name, opened.size, "OTHER-6", "video/mp4")
    with pytest.raises(UploadConflict):
        db.finish_multipart(opened.upload_id, "ABC-6")
    assert db.get_multipart(opened.upload_id, "u1/") == opened  # rolled back: nothing half-done


# ---------- callback tokens ----------

def test_a_callback_token_is_used_once_even_when_ten_callers_race(db, clock):
    expires = clock() + timedelta(minutes=10)
    results = _race(THREADS, lambda i: db.use_callback_token("token-1", expires))
    assert sorted(results) == [False] * (THREADS - 1) + [True]
    assert db.use_callback_token("token-1", expires) is False
    assert db.use_callback_token("token-2", expires) is True


def test_expired_tokens_are_never_used_and_old_rows_are_purged(backend, db, clock):
    assert db.use_callback_token("past", clock() - timedelta(seconds=1)) is False
    assert db.use_callback_token("old", clock() + timedelta(minutes=5)) is True
    clock.advance(3 * 3600)  # well past expiry and the grace period, and the purge interval
    assert db.use_callback_token("fresh", clock() + timedelta(minutes=5)) is True  # triggers the purge
    engine = create_engine(backend.url)
    with engine.connect() as conn:
        left = sorted(conn.execute(select(callback_tokens_used.c.token_id)).scalars())
    engine.dispose()
    assert left == ["fresh"]


# ---------- tables, restarts, outages ----------

def test_tables_are_created_when_missing_and_rows_survive_a_restart(backend, clock):
    first = Database(backend.url, clock)
    assert first.start() is True
    assert {"uploads", "multipart_uploads", "callback_tokens_used", "schema_version"} <= set(inspect(first.engine).get_table_names())
    assert first.schema_version() == SCHEMA_VERSION
    kept = _record(first)
    with first.engine.begin() as conn:  # a table lost (or added by a newer version) is made again
        conn.execute(text("DROP TABLE multipart_uploads"))
    first.close()

    second = Database(backend.url, clock)
    try:
        assert second.start() is True
        assert second.get_upload(kept.id, "u1/") == kept
        assert _multipart(second).part_count == 6
        assert _count(backend.url, uploads) == 1
    finally:
        second.close()


def test_several_processes_starting_at_once_create_the_tables_once(backend, clock):
    instances = [Database(backend.url, clock) for _ in range(6)]
    try:
        assert _race(len(instances), lambda i: instances[i].start()) == [True] * len(instances)
        _race(len(instances), lambda i: _record(instances[i], key=f"uploads/{i}.jpg"))
        assert _count(backend.url, uploads) == len(instances)
    finally:
        for instance in instances:
            instance.close()


def test_a_table_dropped_while_running_is_made_again(db):
    _record(db)
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE uploads"))
    with pytest.raises(DatabaseUnavailable):
        db.list_uploads("u1/", 10)
    assert db.list_uploads("u1/", 10) == []


def test_a_database_that_is_down_is_a_quick_503_and_comes_back_by_itself(backend, clock):
    running = Database(backend.url, clock)
    kept = _record(running)
    backend.down()
    try:
        later = Database(backend.url, clock)
        started = time.monotonic()
        assert later.start() is False  # start-up goes on without it
        calls = [
            lambda d: d.record_upload(BUCKET, "uploads/x.jpg", "u1/", "x.jpg", 1, ETAG, "image/jpeg"),
            lambda d: d.get_upload(kept.id, "u1/"),
            lambda d: d.find_by_key(BUCKET, kept.key),
            lambda d: d.list_uploads("u1/", 10),
            lambda d: d.delete_upload(kept.id, "u1/"),
            lambda d: d.use_callback_token("t", clock() + timedelta(minutes=1)),
            lambda d: _multipart(d),
            lambda d: d.get_multipart("x", "u1/"),
            lambda d: d.delete_multipart("x"),
            lambda d: d.finish_multipart("x", "E"),
            lambda d: d.schema_version(),
        ]
        # An open SQLite connection keeps its file even when the folder moves: only a server goes away
        # under a running process.
        for database in (running, later) if backend.name == "mariadb" else (later,):
            for call in calls:
                with pytest.raises(DatabaseUnavailable) as caught:
                    call(database)
                assert caught.value.status == 503 and caught.value.headers["Retry-After"] == "5"
            assert database.ping() is False
        assert time.monotonic() - started < 5
    finally:
        backend.up()
    # Back: the same objects work again without a restart, and nothing was half-written.
    try:
        assert running.ping() is True and later.ping() is True
        assert running.get_upload(kept.id, "u1/") == kept
        assert later.list_uploads("u1/", 10) == [kept]
        assert _record(later, key="uploads/after.jpg").id > kept.id
    finally:
        running.close()
        later.close()


def test_an_unreachable_mysql_is_refused_within_the_connect_timeout(clock):
    database = Database(f"mysql+pymysql://root:pw@127.0.0.1:{free_port()}/nothing", clock)
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable) as caught:
        database.list_uploads("u1/", 10)
    assert time.monotonic() - started < 5 and "2003" in caught.value.cause  # can't connect
    assert database.ping() is False


def test_a_server_that_accepts_but_never_answers_is_a_503_after_the_read_timeout(clock, monkeypatch):
    import socket

    import server.db

    monkeypatch.setattr(server.db, "READ_TIMEOUT_SECONDS", 1)
    with socket.socket() as silent:  # the kernel completes the TCP handshake; nobody speaks MySQL
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        database = Database(f"mysql+pymysql://root@127.0.0.1:{silent.getsockname()[1]}/x?ssl_disabled=true", clock)
        outcome = []
        # In a thread: without the timeout this call would wait forever; the test must not.
        caller = threading.Thread(target=lambda: outcome.append(_raised(lambda: database.find_by_key(BUCKET, "k"))), daemon=True)
        started = time.monotonic()
        caller.start()
        caller.join(5)
        assert outcome == [DatabaseUnavailable] and time.monotonic() - started < 3


def test_connections_the_server_dropped_are_replaced_unnoticed(mariadb, clock):
    # What a server's idle wait_timeout, a restart or a failover does to pooled connections.
    import pymysql

    url = mariadb.new_database()
    database = Database(url, clock)
    try:
        kept = _record(database)
        admin = pymysql.connect(host="127.0.0.1", port=mariadb.port, user="root", connect_timeout=3)
        try:
            with admin.cursor() as cursor:
                cursor.execute("SELECT id FROM information_schema.processlist WHERE db = %s", (url.rsplit("/", 1)[1].split("?")[0],))
                ids = [row[0] for row in cursor.fetchall()]
                assert ids  # the pool holds at least one
                for connection_id in ids:
                    cursor.execute(f"KILL {int(connection_id)}")
        finally:
            admin.close()
        assert database.get_upload(kept.id, "u1/") == kept
    finally:
        database.close()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path, clock):
    database = Database(f"sqlite:///{tmp_path}/a/b/uploads.sqlite3", clock)  # folders made as needed
    try:
        with database.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        database.close()


def test_mysql_tables_are_utf8mb4_innodb(mariadb, clock):
    url = mariadb.new_database()
    database = Database(url, clock)
    try:
        database.ensure_tables()
        with database.engine.connect() as conn:
            ddl = conn.exec_driver_sql("SHOW CREATE TABLE uploads").one()[1]
            server_default = conn.exec_driver_sql("SELECT @@character_set_server").scalar()
    finally:
        database.close()
    assert "ENGINE=InnoDB" in ddl and "CHARSET=utf8mb4" in ddl and "utf8mb4_bin" in ddl
    assert server_default != "utf8mb4"  # the schema, not the server's default, chose it


# ---------- the app ----------

def _app_with_probe(config):
    app = create_app(config)

    def probe():
        return {"files": [r.to_json() for r in app.extensions["db"].list_uploads("", 10)]}

    app.add_url_rule("/probe", view_func=probe)
    return app


def test_the_app_owns_one_database_and_a_down_one_is_a_503_json(local_config, capsys):
    url = f"mysql+pymysql://root:Sup3r-Secret-pw@127.0.0.1:{free_port()}/uploads"
    app = _app_with_probe({**local_config, "DATABASE_URL": url})  # starts although the database is down
    assert isinstance(app.extensions["db"], Database)
    response = app.test_client().get("/probe")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.get_json()["error"]["code"] == "DatabaseUnavailable"
    logging.getLogger("server").warning("if a message ever carried it: %s", "Sup3r-Secret-pw")  # the redacting filter
    logged = capsys.readouterr().err
    assert "数据库暂时连不上" in logged and logged.count("数据库暂时连不上") == 1
    assert "Sup3r-Secret-pw" not in logged and "root:***@127.0.0.1" in logged and "if a message ever carried it: ***" in logged


def test_the_app_creates_its_tables_at_start(local_config, tmp_path):
    url = f"sqlite:///{tmp_path}/records/uploads.sqlite3"
    app = _app_with_probe({**local_config, "DATABASE_URL": url})
    assert Path(tmp_path / "records" / "uploads.sqlite3").exists()
    engine = create_engine(url)
    assert "uploads" in inspect(engine).get_table_names()
    engine.dispose()
    assert app.test_client().get("/probe").get_json() == {"files": []}


def test_a_test_app_without_database_url_never_touches_the_instance_folder(local_config):
    app = _app_with_probe(local_config)
    assert app.test_client().get("/probe").status_code == 200
    assert app.instance_path not in str(app.extensions["db"].url)


def test_database_passwords_are_masked_and_redacted():
    url = "mysql+pymysql://app:p%40ss%2Fw0rd!@rm-x.mysql.rds.aliyuncs.com:3306/uploads"
    assert Database(url).shown_url == "mysql+pymysql://app:***@rm-x.mysql.rds.aliyuncs.com:3306/uploads"
    assert {"p@ss/w0rd!", "p%40ss%2Fw0rd!"} <= set(url_secrets(url))  # as meant and as written
    assert url_secrets("sqlite:////tmp/x.sqlite3") == []
    assert "p%40ss" not in repr(Database(url))
