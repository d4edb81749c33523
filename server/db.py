"""The one module that owns the database: upload records, open multipart uploads, used callback tokens.

`Database(url, clock)` is all the rest of the server sees. It speaks SQLAlchemy Core to SQLite (the
default, a file in the instance folder), MySQL / MariaDB (ApsaraDB RDS MySQL, PolarDB) through
PyMySQL, or PostgreSQL through psycopg 3. Every method either does its whole job in one transaction
or raises `DatabaseUnavailable` (503 with Retry-After), so a database that is down never becomes a
500 or a half-written row, and the next call after it comes back simply works (pre-ping, reconnect).

Tables are created when missing (`ensure_tables`, at start-up and again on first use if the
database was down then). `create_all` only ever adds missing tables: it never alters or drops one,
so existing rows are always kept.

Changing the schema later, without losing data:
  * Additive changes are applied at start-up by `ensure_tables`, on every backend: a new table by
    `create_all`; a new NULL-able column by listing it in `ADDED_COLUMNS` under the new version
    (ALTER TABLE ... ADD COLUMN, skipped when the column is there). Then `schema_version` is raised.
    Version 2 added `user_usage`, `upload_reservations`, `leases`, three columns and an index of
    `multipart_uploads` this way (indexes are listed in `ADDED_INDEXES`); old rows keep working (a NULL state means "open", usage is
    counted from `uploads` when a user's row is missing). Back up before deploying anyway.
  * Anything else (a changed type, a dropped or renamed column, a data move), with Alembic:
      pip install alembic
      alembic init migrations            # env.py: target_metadata = server.db.metadata, the URL from
                                         # DATABASE_URL, and render_as_batch=True (SQLite's ALTER is limited)
      alembic revision -m "baseline"     # empty: the tables as create_all makes them today
      alembic stamp head                 # once on every existing database: "already at the baseline"
      (edit the tables below, bump SCHEMA_VERSION)
      alembic revision --autogenerate -m "what changed"   # read and fix the generated script
      alembic upgrade head               # after a backup: mysqldump, or a copy of the SQLite file
    and in that revision also `UPDATE schema_version SET version = <new>`.
  Add columns as NULL-able (or with a default) so the old code keeps working while instances are
  upgraded one by one.
`SCHEMA_VERSION` is the version this code expects; `Database.schema_version()` reads the one the
database holds (table `schema_version`), and start-up logs a warning when they differ.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Callable, List, Optional, TypeVar

try:
    import fcntl
except ImportError:  # not on Linux or macOS: SQLite's own busy waiting only
    fcntl = None
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Unicode,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.types import VARBINARY, TypeDecorator

from .clock import require_aware, utc_now
from .errors import ApiError
from .sql_prepared import Prepared

log = logging.getLogger("server.db")
T = TypeVar("T")

SCHEMA_VERSION = 2
DEFAULT_FILE_NAME = "uploads.sqlite3"
RETRY_AFTER_SECONDS = 5
CONNECT_TIMEOUT_SECONDS = 3
# What "the database is in trouble" looks like; anything else from SQLAlchemy is a bug and stays loud.
DATABASE_TROUBLE = (DBAPIError, DisconnectionError, PoolTimeout, OSError)
# A server that accepted the connection but does not answer the handshake or a statement for this
# long (frozen, overloaded, a lock held elsewhere) counts as down. Every statement here is tiny.
READ_TIMEOUT_SECONDS = 5
SQLITE_BUSY_TIMEOUT_SECONDS = 5
PURGE_EVERY = timedelta(minutes=10)
# Used tokens are kept this long past their expiry, so instances whose clocks differ a little still
# see a replay; the callers' own expiry check keeps anything older out.
TOKEN_KEEP_AFTER_EXPIRY = timedelta(hours=1)
_LOG_OUTAGE_EVERY_SECONDS = 30

# Column limits. OSS object keys are at most 1023 bytes of UTF-8; file names are cut to 255
# characters by upload_rules; user folders are 24 hex characters plus "/" today.
MAX_KEY_BYTES = 1023
MAX_NAME_CHARS = 255
MAX_FOLDER_CHARS = 64
MAX_BUCKET_CHARS = 63
MAX_ETAG_CHARS = 80
MAX_CONTENT_TYPE_CHARS = 128
MAX_UPLOAD_ID_CHARS = 128
MAX_TOKEN_ID_CHARS = 64
MAX_CLAIM_ID_CHARS = 32


class DatabaseUnavailable(ApiError):
    """The database cannot be reached or did not answer: 503; the cause stays in the log."""

    def __init__(self, cause: str):
        super().__init__(
            503, "DatabaseUnavailable", "数据库暂时不可用，请稍后重试", {"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
        self.cause = cause


class UploadConflict(ApiError):
    """(bucket, key) is already recorded with another ETag: the object there is not the one recorded.

    Keys are server-chosen and never reused, so this means the object was overwritten; the caller
    decides (refuse, or delete and record again). `existing` is the record that stays.
    """

    def __init__(self, existing: "UploadRecord"):
        super().__init__(409, "UploadConflict", "这个文件已有一条内容不同的上传记录")
        self.existing = existing


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, stored as naive UTC to the second, the same on every backend
    (MySQL's DATETIME has no zone, and no fractions unless declared with them)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return require_aware(value, "datetime").replace(tzinfo=None, microsecond=0)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


class ExactText(TypeDecorator):
    """ASCII identifiers (hashes, user folders, ids, tokens) compared byte for byte on every backend:
    MySQL's *_bin collations still ignore trailing spaces, so there they are VARBINARY."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(VARBINARY(self.impl.length))
        return dialect.type_descriptor(String(self.impl.length))

    def process_bind_param(self, value, dialect):
        if isinstance(value, str) and dialect.name in ("mysql", "mariadb"):
            return value.encode("utf-8")
        return value

    def process_result_value(self, value, dialect):
        return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else value


# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
RecordId = BigInteger().with_variant(Integer, "sqlite")
# MySQL: 4-byte UTF-8 (emoji in file names and keys), binary collation (keys compare case-sensitively).
_MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

metadata = MetaData()

uploads = Table(
    "uploads",
    metadata,
    Column("id", RecordId, primary_key=True, autoincrement=True),
    Column("bucket", String(MAX_BUCKET_CHARS), nullable=False),
    Column("object_key", Unicode(MAX_KEY_BYTES), nullable=False),
    # sha256 hex of bucket + "/" + key: MySQL cannot put a unique index on 1023 utf8mb4 characters.
    Column("key_hash", ExactText(64), nullable=False, unique=True),
    Column("user_folder", ExactText(MAX_FOLDER_CHARS), nullable=False),
    Column("name", Unicode(MAX_NAME_CHARS), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("etag", ExactText(MAX_ETAG_CHARS), nullable=False),
    Column("content_type", String(MAX_CONTENT_TYPE_CHARS), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Per-user listing, newest first, keyset by id.
    Index("ix_uploads_user_folder_id", "user_folder", "id"),
    # AUTOINCREMENT: SQLite would otherwise hand a deleted newest id to the next row, and a stale
    # client's DELETE /api/files/<id> could then hit another file. InnoDB never reuses ids.
    sqlite_autoincrement=True,
    **_MYSQL,
)

multipart_uploads = Table(
    "multipart_uploads",
    metadata,
    Column("upload_id", ExactText(MAX_UPLOAD_ID_CHARS), primary_key=True),
    Column("bucket", String(MAX_BUCKET_CHARS), nullable=False),
    Column("object_key", Unicode(MAX_KEY_BYTES), nullable=False),
    Column("user_folder", ExactText(MAX_FOLDER_CHARS), nullable=False),
    Column("name", Unicode(MAX_NAME_CHARS), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("part_size", BigInteger, nullable=False),
    Column("part_count", Integer, nullable=False),
    Column("content_type", String(MAX_CONTENT_TYPE_CHARS), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Version 2. NULL or "open"; "completing" / "aborting" while one request holds the upload (claim_id,
    # since claimed_at); "completed" once recorded, kept so a retried complete answers the record.
    Column("state", String(16), nullable=True),
    Column("claim_id", ExactText(MAX_CLAIM_ID_CHARS), nullable=True),
    Column("claimed_at", UtcDateTime, nullable=True),
    # Version 2: the quota sums a user's open uploads (and InnoDB must not scan the table to do it).
    Index("ix_multipart_uploads_user_folder", "user_folder"),
    **_MYSQL,
)

# Version 2: what each user stores (the quota's "used"), kept with every insert and delete of
# `uploads`; a missing row is computed from `uploads` on first use (so databases from version 1, and
# users whose rows an operator dropped with `recount_usage` after editing `uploads`, are counted right). Its row is
# also the per-user lock that makes a quota check and the reservation after it one atomic step.
user_usage = Table(
    "user_usage",
    metadata,
    Column("user_folder", ExactText(MAX_FOLDER_CHARS), primary_key=True),
    Column("used_bytes", BigInteger, nullable=False),
    Column("file_count", BigInteger, nullable=False),
    **_MYSQL,
)

# Version 2: a signed form holds its declared size until it is recorded. Past its expiry the hold still
# counts: the file may have been uploaded and never recorded (no callback, no confirm). It ends only when
# the object is recorded, or when a HEAD shows no object at its key (settle_holds: on a quota refusal,
# and in reconcile), so "upload, never confirm, wait for the form to expire" cannot get past the quota.
upload_reservations = Table(
    "upload_reservations",
    metadata,
    Column("key_hash", ExactText(64), primary_key=True),
    Column("object_key", Unicode(MAX_KEY_BYTES), nullable=False),
    Column("user_folder", ExactText(MAX_FOLDER_CHARS), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_upload_reservations_user_folder_expires_at", "user_folder", "expires_at"),
    **_MYSQL,
)

# Version 2: who runs a periodic job now (reconcile), so two instances never run it at once.
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", ExactText(MAX_CLAIM_ID_CHARS), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    **_MYSQL,
)

callback_tokens_used = Table(
    "callback_tokens_used",
    metadata,
    Column("token_id", ExactText(MAX_TOKEN_ID_CHARS), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
    **_MYSQL,
)

schema_version_table = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    **_MYSQL,
)


# Columns added to existing tables, by the schema version that added them (see the module docstring).
ADDED_COLUMNS = {
    2: [(multipart_uploads, "state"), (multipart_uploads, "claim_id"), (multipart_uploads, "claimed_at")],
}
# Indexes added to existing tables, the same way.
ADDED_INDEXES = {
    2: [(multipart_uploads, "ix_multipart_uploads_user_folder")],
}


def _add_missing_columns(conn: Connection, stored: int) -> None:
    """ALTER TABLE ... ADD COLUMN for every column added after version `stored` and not there yet."""
    from sqlalchemy import inspect

    present = {}
    for version in sorted(v for v in ADDED_COLUMNS if v > stored):
        for table, name in ADDED_COLUMNS[version]:
            if table.name not in present:
                present[table.name] = {c["name"] for c in inspect(conn).get_columns(table.name)}
            if name in present[table.name]:
                continue
            column = table.c[name]
            ddl = column.type.compile(dialect=conn.dialect)
            preparer = conn.dialect.identifier_preparer
            conn.exec_driver_sql(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN "
                                 f"{preparer.format_column(column)} {ddl} NULL")
            present[table.name].add(name)
    for version in sorted(v for v in ADDED_INDEXES if v > stored):
        for table, name in ADDED_INDEXES[version]:
            if name not in {index["name"] for index in inspect(conn).get_indexes(table.name)}:
                next(index for index in table.indexes if index.name == name).create(conn)


def _utc_text(moment: datetime) -> str:
    # %-formatting, not strftime: a page of the file list formats one per item.
    m = moment.astimezone(timezone.utc)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (m.year, m.month, m.day, m.hour, m.minute, m.second)


@dataclass(frozen=True)
class UploadRecord:
    id: int
    bucket: str
    key: str
    user_folder: str
    name: str
    size: int
    etag: str
    content_type: str
    created_at: datetime
    # True only on the call that inserted the row (for the metrics); never part of the answer.
    fresh: bool = field(default=False, compare=False)

    def to_json(self) -> dict:
        """The record as the API answers it (callback, confirm, multipart complete, file list)."""
        return {
            "id": self.id,
            "key": self.key,
            "name": self.name,
            "size": self.size,
            "contentType": self.content_type,
            "createdAt": _utc_text(self.created_at),
        }


@dataclass(frozen=True)
class MultipartRecord:
    upload_id: str
    bucket: str
    key: str
    user_folder: str
    name: str
    size: int
    part_size: int
    part_count: int
    content_type: str
    created_at: datetime
    state: str = "open"  # open | completing | aborting | completed
    claim_id: Optional[str] = None
    claimed_at: Optional[datetime] = None


@dataclass(frozen=True)
class Usage:
    """One user's storage: recorded uploads, plus what signed forms and open multipart uploads hold."""

    used_bytes: int
    file_count: int
    reserved_bytes: int
    reserved_files: int


# multipart_uploads.state values
OPEN, COMPLETING, ABORTING, COMPLETED = "open", "completing", "aborting", "completed"


def key_hash(bucket: str, key: str) -> str:
    return hashlib.sha256(f"{bucket}/{key}".encode("utf-8")).hexdigest()


def normalise_etag(etag: str) -> str:
    """OSS answers `"ABC..."` in headers and ABC... in callback bodies: compare them as the same."""
    return etag.strip().removeprefix("W/").strip('"').upper()


def default_url(instance_path: str) -> str:
    return f"sqlite:///{os.path.join(instance_path, DEFAULT_FILE_NAME)}"


def url_secrets(url: str) -> List[str]:
    """The URL's password as meant and as written (percent-encoded), for the log's redacting filter."""
    try:
        password = make_url(url).password
    except Exception:  # noqa: BLE001
        return []
    if not password:
        return []
    from urllib.parse import quote_plus

    userinfo = url.split("://", 1)[-1].rsplit("@", 1)[0]
    written = userinfo.split(":", 1)[1] if ":" in userinfo else password
    return sorted({password, written, quote_plus(password)})


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise ValueError(what)


_FIELD_LIMITS = {
    "bucket": MAX_BUCKET_CHARS, "user_folder": MAX_FOLDER_CHARS, "name": MAX_NAME_CHARS, "etag": MAX_ETAG_CHARS,
    "content_type": MAX_CONTENT_TYPE_CHARS,
}


def _check_fields(key: str, **fields: str) -> None:
    """Values the columns can hold: SQLite would store anything, MySQL would refuse it."""
    _check(isinstance(key, str) and 0 < len(key.encode("utf-8")) <= MAX_KEY_BYTES, "key must be 1..1023 bytes of UTF-8")
    for what, value in fields.items():
        limit = _FIELD_LIMITS[what]
        _check(isinstance(value, str) and len(value) <= limit, f"{what} must be a string of at most {limit} characters")


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _new_engine(url: URL) -> Engine:
    backend = url.get_backend_name()
    if backend == "sqlite":
        directory = os.path.dirname(os.path.abspath(url.database))
        os.makedirs(directory, exist_ok=True)
        # No pre-ping: a file has no connection to lose, and a ping per checkout doubles a read's cost.
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        _sqlite_transactions(engine)
        return engine
    if backend in ("mysql", "mariadb"):
        if "charset" not in url.query:
            url = url.update_query_dict({"charset": "utf8mb4"})
        timeouts = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, "read_timeout": READ_TIMEOUT_SECONDS,
                    "write_timeout": READ_TIMEOUT_SECONDS}
    else:  # postgresql+psycopg
        timeouts = {"connect_timeout": CONNECT_TIMEOUT_SECONDS,
                    "options": f"-c statement_timeout={READ_TIMEOUT_SECONDS * 1000}"}
    # pool_pre_ping: a connection the server dropped (restart, idle timeout) is replaced, not used;
    # pool_recycle: well under any server's idle wait_timeout; pool_timeout: a busy pool is a quick 503, not a 30 s wait.
    # READ COMMITTED on MySQL (PostgreSQL's default): each statement sees what is committed when it runs.
    # Under InnoDB's REPEATABLE READ a plain read keeps to the snapshot of the transaction's first read,
    # so a quota check that waited for the user's lock would sum stale holds; and locking reads instead
    # take shared next-key locks that make unrelated users' writes wait.
    extra = {"isolation_level": "READ COMMITTED"} if backend in ("mysql", "mariadb") else {}
    return create_engine(
        url, connect_args=timeouts, pool_pre_ping=True, pool_recycle=1800, pool_size=5, max_overflow=10,
        pool_timeout=CONNECT_TIMEOUT_SECONDS, **extra,
    )


def _set_wal(cursor) -> None:
    """Switch the file to WAL. Switching takes an exclusive lock and SQLite may refuse it at once
    ("database is locked", no busy wait) while another process is switching or creating tables:
    try again for up to the busy timeout (the mode is kept in the file, so this happens once)."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_transactions(engine: Engine) -> None:
    """WAL and foreign keys on; transactions begun by us, not by the sqlite3 module, so that they
    cover DDL and savepoints work. Writes begin IMMEDIATE: they queue on the busy timeout instead
    of failing when another writer got in between a read and a write."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _set_wal(cursor)
        # In WAL mode NORMAL never corrupts the database and survives an application crash; only a
        # power cut can lose the last commits. A full fsync per commit would cost every callback
        # milliseconds (SQLite's documentation recommends NORMAL with WAL).
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        options = connection.get_execution_options()
        if options.get("read_only"):
            return  # one SELECT is its own transaction in SQLite: no BEGIN/COMMIT round trips
        statement = "BEGIN IMMEDIATE" if options.get("write", False) else "BEGIN"
        # Straight to sqlite3 (SQLAlchemy's statement machinery costs more than the BEGIN), with its
        # errors (the busy timeout ran out, the file is gone) raised as SQLAlchemy's, like any statement.
        try:
            connection.connection.driver_connection.execute(statement)
        except sqlite3.Error as error:
            raise DBAPIError.instance(statement, (), error, sqlite3.Error, dialect=connection.dialect) from error


def _is_retryable(error: BaseException) -> bool:
    """A deadlock the server broke by rolling us back: run the transaction again."""
    orig = getattr(error, "orig", None)
    code = orig.args[0] if orig is not None and getattr(orig, "args", None) else None
    # 1305: InnoDB rolled back the whole transaction for a deadlock met inside a savepoint, and the
    # savepoint's own rollback then fails; the transaction is run again just the same.
    return code in (1213, 1305) or getattr(orig, "sqlstate", None) in ("40001", "40P01")


def _cause(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    return f"{type(orig).__name__}: {orig}"[:300]


class Database:
    """Upload records and friends in one SQL database. Thread-safe; one instance per app."""

    def __init__(self, url: str, clock: Callable[[], datetime] = utc_now):
        self.url = make_url(url)
        self.shown_url = self.url.render_as_string(hide_password=True)  # the only form that is logged
        self.clock = clock
        self._engine: Optional[Engine] = None
        self._lock = threading.Lock()
        self._tables_ready = False
        self._last_purge: dict = {}  # what -> when this process last purged it (see _purge_now_and_then)
        self._down_since: Optional[float] = None
        self._last_outage_log: Optional[float] = None
        self._sqlite = self.url.get_backend_name() == "sqlite"
        self._write_lock = threading.Lock()  # see _sqlite_writer
        self._lock_handle = None

    def __repr__(self) -> str:
        return f"Database({self.shown_url!r})"

    # ---------- connection, tables, health ----------

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = _new_engine(self.url)
            return self._engine

    def start(self) -> bool:
        """At start-up: create missing tables, or log one line and leave that to the first use."""
        try:
            self.ensure_tables()
            stored = self.schema_version()
        except DatabaseUnavailable as error:
            log.warning(
                "数据库暂时连不上（%s），服务照常启动；上传记录相关接口先返回 503，数据库恢复后自动建表。数据库：%s",
                error.cause, self.shown_url,
            )
            return False
        finally:
            # A pre-forking server must not hand this process's open connections to its workers.
            if self._engine is not None:
                self._engine.dispose()
        log.info("上传记录保存在数据库：%s", self.shown_url)
        if stored != SCHEMA_VERSION:
            log.warning("数据库表结构版本为 %s，而程序需要 %s：请按 server/db.py 开头的说明迁移", stored, SCHEMA_VERSION)
        return True

    def ensure_tables(self) -> None:
        """Create the tables that are missing (never alters or drops one). Safe when several
        processes start at once: whoever loses a CREATE race simply looks again."""
        if self._tables_ready:
            return
        try:
            with self.engine.connect() as conn:  # cannot connect: DatabaseUnavailable at once
                for attempt in range(4):
                    try:
                        with conn.execution_options(write=True).begin():
                            metadata.create_all(conn, checkfirst=True)
                        with conn.execution_options(write=True).begin():
                            stored = conn.execute(select(func.max(schema_version_table.c.version))).scalar()
                            if stored is None:
                                self._insert_ignoring_duplicate(conn, schema_version_table, {"version": SCHEMA_VERSION})
                            elif stored < SCHEMA_VERSION:
                                _add_missing_columns(conn, stored)
                                conn.execute(schema_version_table.update().values(version=SCHEMA_VERSION))
                                log.info("数据库表结构已从版本 %s 升级到 %s（只增加表和列，原有数据不变）", stored, SCHEMA_VERSION)
                        break
                    except DBAPIError:
                        if attempt == 3:
                            raise
                        time.sleep(0.05 * (attempt + 1))  # another process is creating the same tables
        except DATABASE_TROUBLE as error:
            raise self._unavailable(error) from None
        self._tables_ready = True

    def ping(self) -> bool:
        """For /healthz: True when the database answers and the tables are there. Never raises."""
        try:
            self._run(lambda conn: conn.execute(text("SELECT 1")))
            return True
        except DatabaseUnavailable:
            return False

    def schema_version(self) -> Optional[int]:
        return self._run(lambda conn: conn.execute(select(func.max(schema_version_table.c.version))).scalar())

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    # ---------- uploads ----------

    def record_upload(
        self, bucket: str, key: str, user_folder: str, name: str, size: int, etag: str, content_type: str
    ) -> UploadRecord:
        """Record an upload. Idempotent: the same (bucket, key) and ETag returns the record already
        there (same id, no second row, even when callers race). The same (bucket, key) with another
        ETag raises UploadConflict carrying the existing record. ETags compare without quotes/case."""
        values = self._upload_values(bucket, key, user_folder, name, size, etag, content_type)
        return self._run(lambda conn: self._insert_upload(conn, values), write=True)

    def get_upload(self, upload_id: int, user_folder: str) -> Optional[UploadRecord]:
        """The record with this id if it belongs to user_folder; None otherwise (unknown or not theirs)."""
        query = select(uploads).where(uploads.c.id == upload_id, uploads.c.user_folder == user_folder)
        return _upload(self._run(lambda conn: conn.execute(query).first(), single_read=True))

    def find_by_key(self, bucket: str, key: str) -> Optional[UploadRecord]:
        return self._run(lambda conn: self._find_by_key(conn, bucket, key))

    def list_uploads(self, user_folder: str, limit: int, before_id: Optional[int] = None) -> List[UploadRecord]:
        """user_folder's records, newest first (id descending), at most `limit`, only ids below
        before_id when given (keyset: pages stay stable while files are added). Ask for limit + 1 to
        learn whether there is a next page."""
        _check(isinstance(limit, int) and 1 <= limit <= 1000, "limit must be 1..1000")
        query, params = _page(user_folder, limit, before_id)
        return [_upload(row) for row in self._run(lambda conn: query.all(conn, params), single_read=True)]

    def explain_list_uploads(self, user_folder: str, limit: int, before_id: Optional[int] = None) -> List[dict]:
        """The database's plan for that list_uploads page (docs/performance.md shows it)."""
        query, params = _page(user_folder, limit, before_id)
        return self._run(lambda conn: query.explain(conn, params))

    def delete_upload(self, upload_id: int, user_folder: str) -> bool:
        """Remove the record if it is user_folder's; False when there was none to remove."""
        def work(conn):
            self._lock_usage(conn, user_folder)
            mine = (uploads.c.id == upload_id) & (uploads.c.user_folder == user_folder)
            size = conn.execute(select(uploads.c.size).where(mine)).scalar()
            if size is None or conn.execute(delete(uploads).where(mine)).rowcount == 0:
                return False
            self._count(conn, user_folder, -int(size), -1)
            return True

        return self._run(work, write=True)

    # ---------- multipart uploads ----------

    def add_multipart(
        self, upload_id: str, bucket: str, key: str, user_folder: str, name: str, size: int, part_size: int,
        part_count: int, content_type: str,
    ) -> MultipartRecord:
        """Remember an initiated multipart upload. Adding the same upload_id again returns the row
        already there when it is for the same object and user; otherwise ValueError."""
        _check(isinstance(upload_id, str) and 0 < len(upload_id) <= MAX_UPLOAD_ID_CHARS, "upload_id must be 1..128 characters")
        _check(all(_is_count(n) and n > 0 for n in (size, part_size, part_count)), "sizes must be positive ints")
        _check_fields(key, bucket=bucket, user_folder=user_folder, name=name, content_type=content_type)
        values = dict(
            upload_id=upload_id, bucket=bucket, object_key=key, user_folder=user_folder, name=name, size=size,
            part_size=part_size, part_count=part_count, content_type=content_type, created_at=self._now(),
        )

        def work(conn):
            self._lock_usage(conn, user_folder)  # the quota's sums of this user change: see _usage
            if self._insert_ignoring_duplicate(conn, multipart_uploads, values):
                # From here the open upload itself holds the size (see _usage): drop the start's reservation.
                conn.execute(delete(upload_reservations).where(upload_reservations.c.key_hash == key_hash(bucket, key)))
                return _multipart(values)
            return _multipart(conn.execute(select(multipart_uploads).where(multipart_uploads.c.upload_id == upload_id)).first())

        record = self._run(work, write=True)
        if record is None or (record.bucket, record.key, record.user_folder) != (bucket, key, user_folder):
            raise ValueError("upload_id is already recorded for another object")
        return record

    def get_multipart(self, upload_id: str, user_folder: str) -> Optional[MultipartRecord]:
        """The upload (in any state) if it is user_folder's; None for unknown, forgotten or another user's."""
        query = select(multipart_uploads).where(
            multipart_uploads.c.upload_id == upload_id, multipart_uploads.c.user_folder == user_folder
        )
        return _multipart(self._run(lambda conn: conn.execute(query).first(), single_read=True))

    def delete_multipart(self, upload_id: str, claim_id: Optional[str] = None) -> bool:
        """Forget the upload: only while it is open, or while `claim_id` holds it. False when nothing was deleted."""
        where = [multipart_uploads.c.upload_id == upload_id]
        if claim_id is None:
            where.append(_is_open())
        else:
            where.append(multipart_uploads.c.claim_id == claim_id)
        statement = delete(multipart_uploads).where(*where)
        return self._run(lambda conn: conn.execute(statement).rowcount > 0, write=True)

    def claim_multipart(self, upload_id: str, user_folder: str, purpose: str, stale_before: datetime):
        """(claim_id, row): take the upload for one completion or abort. claim_id is None when the
        upload is not open (row says why: None when unknown, or its state), unless the claim holding it
        is older than `stale_before` (its holder died): then it is taken over. The database decides
        between racing callers (one conditional UPDATE), so this holds across instances."""
        _check(purpose in (COMPLETING, ABORTING), "purpose must be completing or aborting")
        stale_before = require_aware(stale_before, "stale_before")
        claim_id = uuid.uuid4().hex

        def work(conn):
            mine = (multipart_uploads.c.upload_id == upload_id) & (multipart_uploads.c.user_folder == user_folder)
            taken = conn.execute(
                multipart_uploads.update()
                .where(mine, _is_open() | (multipart_uploads.c.state.in_([COMPLETING, ABORTING])
                                           & (multipart_uploads.c.claimed_at < stale_before)))
                .values(state=purpose, claim_id=claim_id, claimed_at=self._now())
            ).rowcount
            return taken > 0, _multipart(conn.execute(select(multipart_uploads).where(mine)).first())

        taken, row = self._run(work, write=True)
        return (claim_id if taken else None), row

    def release_multipart(self, upload_id: str, claim_id: str) -> None:
        """Open again what `claim_id` held (its completion or abort failed before changing anything)."""
        statement = (multipart_uploads.update()
                     .where(multipart_uploads.c.upload_id == upload_id, multipart_uploads.c.claim_id == claim_id)
                     .values(state=OPEN, claim_id=None, claimed_at=None))
        self._run(lambda conn: conn.execute(statement), write=True)

    def finish_multipart(self, upload_id: str, etag: str) -> Optional[UploadRecord]:
        """One transaction: record the completed object (as record_upload: idempotent, UploadConflict)
        from what add_multipart remembered, and mark the upload completed (kept, so a retried complete
        finds the record; reconcile purges it later). None when the upload is not known."""

        def work(conn):
            row = conn.execute(select(multipart_uploads).where(multipart_uploads.c.upload_id == upload_id)
                               .with_for_update()).first()
            if row is None:
                return None
            done = _multipart(row)
            if done.state == COMPLETED:
                return self._find_by_key(conn, done.bucket, done.key)
            conn.execute(multipart_uploads.update().where(multipart_uploads.c.upload_id == upload_id)
                         .values(state=COMPLETED, claim_id=None, claimed_at=self._now()))
            values = self._upload_values(done.bucket, done.key, done.user_folder, done.name, done.size, etag, done.content_type)
            return self._insert_upload(conn, values)

        return self._run(work, write=True)

    def list_multipart(self, limit: int = 1000, after: str = "") -> List[MultipartRecord]:
        """Every known upload (any state), by upload id, `limit` at a time after `after` (for reconcile)."""
        query = (select(multipart_uploads).where(multipart_uploads.c.upload_id > after)
                 .order_by(multipart_uploads.c.upload_id).limit(limit))
        return [_multipart(row) for row in self._run(lambda conn: conn.execute(query).all())]

    def purge_completed_multipart(self, before: datetime) -> int:
        """Forget completed uploads finished before `before` (a retried complete is long over by then)."""
        statement = delete(multipart_uploads).where(multipart_uploads.c.state == COMPLETED,
                                                    multipart_uploads.c.claimed_at < require_aware(before, "before"))
        return self._run(lambda conn: conn.execute(statement).rowcount, write=True)

    # ---------- storage quota ----------

    def usage(self, user_folder: str) -> Usage:
        """What user_folder stores and holds now (no lock: for display)."""
        return self._run(lambda conn: self._usage(conn, user_folder))

    def reserve(self, user_folder: str, bucket: str, key: str, size: int, expires_at: datetime,
                check: Callable[[Usage, int], None]) -> Usage:
        """Hold `size` bytes and one file for the upload to `key` until it is recorded, or until after
        `expires_at` a HEAD finds nothing at `key` (drop_hold). `check(usage, size)` runs first, with
        the user's row locked, and may raise (the quota's refusal): concurrent reservations of one user,
        on any instance, run one after another, so together they never pass the quota. Returns the
        usage before this reservation."""
        _check(_is_count(size) and size >= 0, "size must be an int >= 0")
        expires_at = require_aware(expires_at, "expires_at")

        def work(conn):
            # The user's row first: from here on this user's writers queue behind us (no deadlocks).
            row = self._lock_usage(conn, user_folder)
            usage = self._usage(conn, user_folder, locked_row=row)
            check(usage, size)
            hold = {"key_hash": key_hash(bucket, key), "object_key": key, "user_folder": user_folder, "size": size,
                    "expires_at": expires_at}
            _insert(upload_reservations, tuple(hold)).write(conn, hold)
            return usage

        return self._run(work, write=True)

    def expired_holds(self, expired_before: datetime, limit: int, user_folder: Optional[str] = None) -> List[tuple]:
        """(bucket-less key, user folder) of holds whose form expired before `expired_before`, oldest
        first, at most `limit`: the ones a HEAD must settle (settle_holds)."""
        query = select(upload_reservations.c.object_key, upload_reservations.c.user_folder).where(
            upload_reservations.c.expires_at < require_aware(expired_before, "expired_before"))
        if user_folder is not None:
            query = query.where(upload_reservations.c.user_folder == user_folder)
        query = query.order_by(upload_reservations.c.expires_at).limit(limit)
        return [(row.object_key, row.user_folder) for row in self._run(lambda conn: conn.execute(query).all())]

    def drop_hold(self, bucket: str, key: str) -> bool:
        """End the hold of the form for `key` (a HEAD showed no object there)."""
        return self._run(lambda conn: _HOLD_DROP.write(conn, {"hash": key_hash(bucket, key)}) > 0, write=True)

    def recount_usage(self) -> int:
        """Forget every user's counted usage; each is counted again from `uploads` on first use (for
        an operator who changed `uploads` by hand). The number of users forgotten."""
        return self._run(lambda conn: conn.execute(delete(user_usage)).rowcount, write=True)

    # ---------- reconciliation ----------

    def uploads_after(self, after_id: int, limit: int, created_before: datetime) -> List[UploadRecord]:
        """Records of every user by id, `limit` at a time after `after_id`, made before `created_before`."""
        query = (select(uploads).where(uploads.c.id > after_id,
                                       uploads.c.created_at < require_aware(created_before, "created_before"))
                 .order_by(uploads.c.id).limit(limit))
        return [_upload(row) for row in self._run(lambda conn: conn.execute(query).all())]

    def recorded_keys(self, bucket: str, keys: List[str]) -> set:
        """Which of `keys` have a record (one query per call; callers pass a listing page)."""
        hashes = {key_hash(bucket, key): key for key in keys}
        if not hashes:
            return set()
        query = select(uploads.c.key_hash, uploads.c.object_key).where(uploads.c.key_hash.in_(list(hashes)))
        return {row.object_key for row in self._run(lambda conn: conn.execute(query).all())
                if hashes.get(row.key_hash) == row.object_key}

    def acquire_lease(self, name: str, holder: str, seconds: int) -> bool:
        """Hold the lease `name` for `seconds` (or extend it when `holder` holds it already); False while
        another holder's lease is still running."""
        _check(isinstance(holder, str) and 0 < len(holder) <= MAX_CLAIM_ID_CHARS, "holder must be 1..32 characters")

        def work(conn):
            now = self._now()
            until = now + timedelta(seconds=seconds)
            if self._insert_ignoring_duplicate(conn, leases, {"name": name, "holder": holder, "expires_at": until}):
                return True
            return conn.execute(
                leases.update().where(leases.c.name == name, (leases.c.holder == holder) | (leases.c.expires_at <= now))
                .values(holder=holder, expires_at=until)).rowcount > 0

        return self._run(work, write=True)

    def release_lease(self, name: str, holder: str) -> None:
        statement = delete(leases).where(leases.c.name == name, leases.c.holder == holder)
        self._run(lambda conn: conn.execute(statement), write=True)

    # ---------- single-use callback tokens ----------

    def use_callback_token(self, token_id: str, expires_at: datetime) -> bool:
        """True the first time token_id is used, False ever after (atomic: the primary key decides
        between racing callers). An already expired token is never used: False. Rows are purged
        TOKEN_KEEP_AFTER_EXPIRY after their expiry, so callers must check the expiry themselves too."""
        _check(isinstance(token_id, str) and 0 < len(token_id) <= MAX_TOKEN_ID_CHARS, "token_id must be 1..64 characters")
        expires_at = require_aware(expires_at, "expires_at")
        now = self._now()
        if expires_at <= now:
            return False
        row = {"token_id": token_id, "expires_at": expires_at}
        first = self._run(lambda conn: self._insert_ignoring_duplicate(conn, callback_tokens_used, row), write=True)
        if first:
            self._purge_now_and_then("tokens", self.purge_expired_tokens)
        return first

    def purge_expired_tokens(self) -> int:
        """Forget tokens that expired more than TOKEN_KEEP_AFTER_EXPIRY ago; the number removed."""
        statement = delete(callback_tokens_used).where(callback_tokens_used.c.expires_at < self._now() - TOKEN_KEEP_AFTER_EXPIRY)
        return self._run(lambda conn: conn.execute(statement).rowcount, write=True)

    # ---------- internals ----------

    def _purge_now_and_then(self, what: str, purge: Callable[[], int]) -> None:
        """Run `purge` at most once per PURGE_EVERY in this process, after the caller's work committed."""
        now = self._now()
        last = self._last_purge.get(what)
        if last is not None and now - last < PURGE_EVERY:
            return
        self._last_purge[what] = now
        try:
            purge()
        except DatabaseUnavailable:
            pass  # the caller's work is done; purging waits for the next round

    def _now(self) -> datetime:
        return require_aware(self.clock(), "clock()").replace(microsecond=0)

    def _run(self, work: Callable[[Connection], T], write: bool = False, single_read: bool = False) -> T:
        """work(conn) in one transaction: committed when it returns, rolled back when it raises.
        Database trouble of any kind becomes DatabaseUnavailable; a deadlock is run again."""
        try:
            for attempt in range(3):
                try:
                    self.ensure_tables()
                    with self._sqlite_writer(write), self.engine.connect() as conn:
                        conn.execution_options(write=write, read_only=single_read and self._sqlite)
                        with conn.begin():
                            result = work(conn)
                    break
                except DATABASE_TROUBLE as error:
                    if _is_retryable(error) and attempt < 2:
                        continue
                    if _looks_like_missing_table(error):
                        self._tables_ready = False  # dropped under us: made again on the next call
                    raise self._unavailable(error) from None
        except DatabaseUnavailable as error:
            now = time.monotonic()
            if self._last_outage_log is None or now - self._last_outage_log >= _LOG_OUTAGE_EVERY_SECONDS:
                self._last_outage_log = now
                log.warning("数据库不可用，相关接口返回 503：%s", error.cause)
            raise
        if self._down_since is not None:
            log.info("数据库已恢复（中断约 %d 秒）", time.monotonic() - self._down_since)
            self._down_since = None
        return result

    @contextlib.contextmanager
    def _sqlite_writer(self, write: bool):
        """SQLite lets one transaction write at a time, and one that finds the file locked sleeps in
        SQLite's busy handler (1, 2, 5, 10... ms) before it looks again: with gunicorn's threads and
        workers signing at once, most of a signature's time went to those sleeps. Writers of this
        process queue on a lock, writers of other processes on an flock of `<database>.lock`, and each
        starts as soon as the one before commits. SQLite's own locking still decides; this only queues."""
        if not (write and self._sqlite):
            yield
            return
        if not self._write_lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_SECONDS):
            raise OSError("timed out waiting for this process's other SQLite writers")
        try:
            handle = self._lock_file()
            if handle is None:
                yield
                return
            deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise OSError("timed out waiting for another process's SQLite writer") from None
                    time.sleep(0.0002)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            self._write_lock.release()

    def _lock_file(self):
        """The open `<database>.lock` of this process (None without fcntl); called under _write_lock."""
        if fcntl is None:
            return None
        if self._lock_handle is None:
            self._lock_handle = open(os.path.abspath(self.url.database) + ".lock", "a")  # noqa: SIM115 - kept open
        return self._lock_handle

    def _unavailable(self, error: BaseException) -> DatabaseUnavailable:
        if self._down_since is None:
            self._down_since = time.monotonic()
        return DatabaseUnavailable(_cause(error))

    def _upload_values(self, bucket, key, user_folder, name, size, etag, content_type) -> dict:
        _check(_is_count(size) and size >= 0, "size must be an int >= 0")
        _check_fields(key, bucket=bucket, user_folder=user_folder, name=name, etag=etag, content_type=content_type)
        etag = normalise_etag(etag)
        _check(bool(etag), "etag must not be empty")
        return dict(
            bucket=bucket, object_key=key, key_hash=key_hash(bucket, key), user_folder=user_folder, name=name,
            size=size, etag=etag, content_type=content_type, created_at=self._now(),
        )

    def _insert_upload(self, conn: Connection, values: dict) -> UploadRecord:
        self._lock_usage(conn, values["user_folder"])  # before the insert: see _lock_usage
        for _attempt in range(3):
            try:
                with conn.begin_nested():
                    new_id = _insert(uploads, tuple(values)).write(conn, values)
                self._count(conn, values["user_folder"], values["size"], 1)
                _HOLD_DROP.write(conn, {"hash": values["key_hash"]})
                return UploadRecord(id=int(new_id), **_record_fields(values), fresh=True)
            except IntegrityError:
                pass  # already recorded: a replayed callback, or a confirm racing the callback
            # A locking read sees the row the other writer committed; InnoDB's plain reads would keep
            # to this transaction's snapshot (taken at its first read) and miss it.
            existing = self._find_by_key(conn, values["bucket"], values["object_key"], lock=True)
            if existing is not None:
                if existing.etag != values["etag"]:
                    raise UploadConflict(existing)
                return existing
            # Deleted between our insert and our look: insert again.
        raise DatabaseUnavailable("the upload record kept changing under concurrent writes")

    def _lock_usage(self, conn: Connection, user_folder: str):
        """The user's usage row, locked until the transaction ends (MySQL/PostgreSQL: FOR UPDATE;
        SQLite's write transactions are serialised already). A missing row is first counted from
        `uploads`: every writer of `uploads` takes this lock before writing, so the count is exact."""
        params = {"folder": user_folder}
        # A plain read first: a locking read of a missing row takes a gap lock on InnoDB, and two such
        # callers inserting the row would deadlock. Racing inserts of the row just meet on its key.
        row = _USAGE_ROW.first(conn, params)
        if row is None:
            counted = _USAGE_COUNTED.first(conn, params)
            self._insert_ignoring_duplicate(conn, user_usage, {
                "user_folder": user_folder, "used_bytes": int(counted["total"]), "file_count": int(counted["files"])})
        elif self._sqlite:
            return row  # BEGIN IMMEDIATE holds the write lock already: the row cannot change under us
        return _USAGE_ROW_LOCKED.first(conn, params)

    @staticmethod
    def _count(conn: Connection, user_folder: str, size: int, files: int) -> None:
        _USAGE_ADD.write(conn, {"folder": user_folder, "add_bytes": size, "add_files": files})

    def _usage(self, conn: Connection, user_folder: str, locked_row=None) -> Usage:
        """Used and held; `locked_row` is the user's row from _lock_usage when the caller holds the lock."""
        params = {"folder": user_folder}
        row = locked_row if locked_row is not None else _USAGE_ROW.first(conn, params)
        if row is not None:
            used, files = int(row["used_bytes"]), int(row["file_count"])
        else:
            counted = _USAGE_COUNTED.first(conn, params)
            used, files = int(counted["total"]), int(counted["files"])
        # Plain reads: READ COMMITTED on MySQL and PostgreSQL sees holds committed while we waited for the
        # user's lock; SQLite's write transaction is serialised. Every writer of a user's holds or
        # uploads takes that lock first (add_multipart too), so the sums cannot change under the check.
        forms, parts = (statement.first(conn, params) for statement in _HELD)
        return Usage(used, files, int(forms["total"]) + int(parts["total"]), int(forms["files"]) + int(parts["files"]))

    @staticmethod
    def _insert_ignoring_duplicate(conn: Connection, table: Table, values: dict) -> bool:
        """INSERT inside the caller's transaction; False (nothing changed) when the key is taken."""
        try:
            with conn.begin_nested():
                _insert(table, tuple(values)).write(conn, values)
            return True
        except IntegrityError:
            return False

    @staticmethod
    def _find_by_key(conn: Connection, bucket: str, key: str, lock: bool = False) -> Optional[UploadRecord]:
        row = (_BY_HASH_LOCKED if lock else _BY_HASH).first(conn, {"hash": key_hash(bucket, key)})
        # The hash is the index; the columns are the truth.
        if row is not None and (row["bucket"], row["object_key"]) != (bucket, key):
            return None
        return _upload(row)


def _looks_like_missing_table(error: BaseException) -> bool:
    message = str(getattr(error, "orig", error)).lower()
    return "no such table" in message or "doesn't exist" in message or "does not exist" in message


def _record_fields(values: dict) -> dict:
    return dict(
        bucket=values["bucket"], key=values["object_key"], user_folder=values["user_folder"], name=values["name"],
        size=values["size"], etag=values["etag"], content_type=values["content_type"], created_at=values["created_at"],
    )


def _upload(row) -> Optional[UploadRecord]:
    """From a mapping (sql_prepared) or a Row."""
    if row is None:
        return None
    m = row if isinstance(row, dict) else row._mapping
    return UploadRecord(id=int(m["id"]), **_record_fields(m))


def _multipart(row) -> Optional[MultipartRecord]:
    if row is None:
        return None
    m = row if isinstance(row, dict) else row._mapping
    return MultipartRecord(
        upload_id=m["upload_id"], bucket=m["bucket"], key=m["object_key"], user_folder=m["user_folder"], name=m["name"],
        size=int(m["size"]), part_size=int(m["part_size"]), part_count=int(m["part_count"]),
        content_type=m["content_type"], created_at=m["created_at"], state=m.get("state") or OPEN,
        claim_id=m.get("claim_id"), claimed_at=m.get("claimed_at"),
    )


def _is_open():
    return multipart_uploads.c.state.is_(None) | (multipart_uploads.c.state == OPEN)


# The hot statements, built once with bound parameters and run through sql_prepared.Prepared.
# Building a select per call (coercing every operand) cost more than running it.
_MINE = uploads.c.user_folder == bindparam("folder")
# MySQL and MariaDB estimate a deep keyset page (`id < cursor` far down a heavy user's rows) as a
# `ref` on user_folder alone and read every row above the cursor; the hint makes it the two-column
# range it is. Other dialects render no hint (SQLite and PostgreSQL take the range by themselves).
_LIST_HINT = "FORCE INDEX (ix_uploads_user_folder_id)"


def _page_query(*where) -> Prepared:
    query = select(uploads).where(_MINE, *where).order_by(uploads.c.id.desc()).limit(bindparam("limit"))
    return Prepared(query.with_hint(uploads, _LIST_HINT, "mysql").with_hint(uploads, _LIST_HINT, "mariadb"))


def _totals(table: Table, *where) -> select:
    return select(func.coalesce(func.sum(table.c.size), 0).label("total"), func.count().label("files")).where(*where)


_PAGE_FIRST = _page_query()
_PAGE_BEFORE = _page_query(uploads.c.id < bindparam("before"))


def _page(user_folder: str, limit: int, before_id: Optional[int]) -> tuple:
    if before_id is None:
        return _PAGE_FIRST, {"folder": user_folder, "limit": limit}
    return _PAGE_BEFORE, {"folder": user_folder, "limit": limit, "before": before_id}


_USAGE_ROW = select(user_usage).where(user_usage.c.user_folder == bindparam("folder"))
_USAGE_ROW_LOCKED = Prepared(_USAGE_ROW.with_for_update())
_USAGE_ROW = Prepared(_USAGE_ROW)
_USAGE_COUNTED = Prepared(_totals(uploads, _MINE))
_USAGE_ADD = Prepared(user_usage.update().where(user_usage.c.user_folder == bindparam("folder")).values(
    used_bytes=user_usage.c.used_bytes + bindparam("add_bytes"), file_count=user_usage.c.file_count + bindparam("add_files")))
_HOLD_DROP = Prepared(delete(upload_reservations).where(upload_reservations.c.key_hash == bindparam("hash")))
# Every hold counts until it is settled, expired or not (see upload_reservations).
_HELD_BY_FORMS = _totals(upload_reservations, upload_reservations.c.user_folder == bindparam("folder"))
# Open multipart uploads hold their declared size until completed or aborted (by user_folder's index).
_HELD_BY_PARTS = _totals(multipart_uploads, multipart_uploads.c.user_folder == bindparam("folder"),
                         _is_open() | (multipart_uploads.c.state != COMPLETED))
# Forms first, then parts: add_multipart swaps a start's form hold for its row in one transaction, so
# reading in this order can count it twice (a refusal on the safe side), never miss it.
_HELD = (Prepared(_HELD_BY_FORMS), Prepared(_HELD_BY_PARTS))
_BY_HASH = select(uploads).where(uploads.c.key_hash == bindparam("hash"))
_BY_HASH_LOCKED = Prepared(_BY_HASH.with_for_update(read=True))
_BY_HASH = Prepared(_BY_HASH)


@lru_cache(maxsize=64)
def _insert(table: Table, columns: tuple) -> Prepared:
    return Prepared(insert(table), list(columns))
