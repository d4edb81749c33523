"""Objects on disk: an immutable blob per upload plus one metadata file per key.

Layout under the bucket directory:
  .tmp/             uploads in flight (removed on refusal; leftovers of dead writers cleared at start)
  blobs/<id>        object bytes, written once
  meta/<sha256>.json  key -> blob id, size, ETag, headers, time; replacing it publishes a new version
  keys/             the emulator's own callback signing key (callback.py)

Keys never become paths, so `..`, odd characters or a key that is a prefix of another are harmless.
The listing pages through an in-memory index of `meta/` (object_index.py), not the files.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Tuple

from .object_index import ObjectIndex


class ObjectExists(Exception):
    pass


# A temp file untouched this long belongs to no live upload: every write refreshes its time, and a
# signer's policy lives at most an hour (OSS_EXPIRE_SECONDS <= 3600), judged once the body is in.
# Anything younger may be an upload in flight in another emulator sharing the directory.
STALE_TEMP_SECONDS = 3600

# A blob no metadata names is an orphan (a kill between moving it into place and publishing its
# metadata) once it is older than this: far beyond the milliseconds between those two steps.
ORPHAN_BLOB_SECONDS = 600

# Temp files a writer names with its owner tag, `<pid>.<process start time>`: "upload-1234.5678-xyz.part".
_OWNER_TAG = re.compile(r"^[a-z]+-(\d+)\.(\d*)-")

# link() errors that mean "no hard links here" (FAT, exFAT, some network and FUSE mounts).
_NO_HARD_LINKS = {getattr(errno, name) for name in ("EPERM", "EACCES", "EXDEV", "ENOTSUP", "EOPNOTSUPP",
                                                   "ENOSYS", "EMLINK") if hasattr(errno, name)}


@dataclass
class StoredObject:
    key: str
    blob: str
    size: int
    etag: str  # upper-case MD5 hex, unquoted
    last_modified: float  # seconds since the epoch (the emulator's clock)
    headers: Dict[str, str] = field(default_factory=dict)  # Content-Type, Content-Disposition, x-oss-meta-*...
    sequence: int = 0  # tie-breaker for the listing order
    crc64: str = ""  # x-oss-hash-crc64ecma ("" for objects stored before the emulator kept it)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "application/octet-stream")


class Storage:
    CREATED_FILE = "created"  # the bucket's creation time, the one file of the root folder

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.temp_dir = os.path.join(self.root, ".tmp")
        self.blob_dir = os.path.join(self.root, "blobs")
        self.meta_dir = os.path.join(self.root, "meta")
        for path in (self.temp_dir, self.blob_dir, self.meta_dir):
            os.makedirs(path, exist_ok=True)
        self._lock = threading.Lock()
        self._hard_links = True
        self.index = ObjectIndex(self.meta_dir, self._read)
        self.created = self._created()

    def _created(self) -> float:
        """When this bucket's storage was first set up (Unix time): the bucket's CreationDate. Written
        once; a folder's own times change with every entry added to it."""
        path = os.path.join(self.root, self.CREATED_FILE)
        try:
            with open(path, "x", encoding="ascii") as handle:
                now = time.time()
                handle.write(repr(now))
                return now
        except FileExistsError:
            pass
        try:
            with open(path, encoding="ascii") as handle:
                return float(handle.read().strip())
        except (OSError, ValueError):  # unreadable or half-written by a killed process: the file's own time
            return os.stat(path).st_mtime

    def sweep(self, now: Optional[float] = None) -> None:
        """At start: what a dead writer left behind is never an object and never will be."""
        self.clear_temp(now)
        self.sweep_orphan_blobs(now)

    def clear_temp(self, now: Optional[float] = None) -> None:
        """Uploads a previous run left half-written (a crash, a kill) are never objects.

        A temp file tagged with its writer goes as soon as that writer is dead; another emulator
        sharing the directory keeps its uploads in flight. Untagged or not, nothing outlives an hour.
        """
        cutoff = (time.time() if now is None else now) - STALE_TEMP_SECONDS
        for name in os.listdir(self.temp_dir):
            path = os.path.join(self.temp_dir, name)
            owner = _OWNER_TAG.match(name)
            try:
                if (owner and not _writer_alive(int(owner.group(1)), owner.group(2))) or os.stat(path).st_mtime < cutoff:
                    os.unlink(path)
            except OSError:
                pass

    def sweep_orphan_blobs(self, now: Optional[float] = None) -> None:
        """Remove blobs that no metadata file names and that are older than ORPHAN_BLOB_SECONDS.

        Metadata is read before blobs are listed, so a blob published meanwhile is young and kept.
        The age is the later of mtime and ctime: moving a blob into place updates its ctime.
        """
        cutoff = (time.time() if now is None else now) - ORPHAN_BLOB_SECONDS
        referenced = {obj.blob for obj in self.list()}
        for name in os.listdir(self.blob_dir):
            if name in referenced:
                continue
            path = os.path.join(self.blob_dir, name)
            try:
                stat = os.stat(path)
                if max(stat.st_mtime, stat.st_ctime) < cutoff:
                    os.unlink(path)
            except OSError:
                pass

    def new_temp_file(self, prefix: str = "upload-", suffix: str = ".part") -> Tuple[int, str]:
        return new_temp_file(self.temp_dir, prefix, suffix)

    def _meta_path(self, key: str) -> str:
        return os.path.join(self.meta_dir, hashlib.sha256(key.encode("utf-8")).hexdigest() + ".json")

    def blob_path(self, obj: StoredObject) -> str:
        return os.path.join(self.blob_dir, obj.blob)

    def commit(self, temp_path: str, key: str, size: int, etag: str, headers: Dict[str, str],
               when: float, forbid_overwrite: bool, crc64: str = "") -> StoredObject:
        """Publish the uploaded temp file as `key`; ObjectExists when forbidden and taken.

        The temp file is consumed in every case (moved into place or removed).
        """
        obj = StoredObject(key, uuid.uuid4().hex, size, etag, when, dict(headers), time.time_ns(), crc64)
        blob_path = self.blob_path(obj)
        os.replace(temp_path, blob_path)
        meta_tmp = os.path.join(self.temp_dir, obj.blob + ".json")
        record = json.dumps(asdict(obj), ensure_ascii=False).encode("utf-8")
        try:
            with open(meta_tmp, "wb") as handle:
                handle.write(record)
            final = self._meta_path(key)
            with self._lock:
                if forbid_overwrite:
                    self._publish_new(meta_tmp, final, record, key)
                    previous = None
                else:
                    previous = self._read(final)
                    os.replace(meta_tmp, final)
                self._indexed(final, obj)
            if previous is not None:
                _unlink(self.blob_path(previous))
            return obj
        except BaseException:
            _unlink(blob_path)
            raise
        finally:
            _unlink(meta_tmp)

    def _indexed(self, final: str, obj: StoredObject) -> None:
        try:
            self.index.added(os.path.basename(final), os.stat(final).st_ino, obj)
        except OSError:  # deleted by another process already: nothing to list
            pass

    def set_headers(self, key: str, changes: Dict[str, str]) -> Optional[StoredObject]:
        """Change some stored headers of `key` (PutObjectACL), keeping its bytes and time; None if
        there is no such object."""
        final = self._meta_path(key)
        with self._lock:
            current = self._read(final)
            if current is None:
                return None
            current.headers.update(changes)
            meta_tmp = os.path.join(self.temp_dir, f"{uuid.uuid4().hex}.json")
            try:
                with open(meta_tmp, "wb") as handle:
                    handle.write(json.dumps(asdict(current), ensure_ascii=False).encode("utf-8"))
                os.replace(meta_tmp, final)
            finally:
                _unlink(meta_tmp)
            self._indexed(final, current)
        return current

    def delete(self, key: str) -> None:
        """Remove `key` if it exists: the metadata first (the object is gone the moment it is),
        then its blob. A reader that already holds the blob open still reads it to the end."""
        final = self._meta_path(key)
        with self._lock:
            previous = self._read(final)
            _unlink(final)
            self.index.removed(os.path.basename(final))
        if previous is not None:
            _unlink(self.blob_path(previous))

    def _publish_new(self, meta_tmp: str, final: str, record: bytes, key: str) -> None:
        """Create `final` only if no such name exists, atomically even against another process
        sharing the directory; ObjectExists otherwise."""
        if self._hard_links:
            try:
                os.link(meta_tmp, final)  # complete the moment it appears
                return
            except FileExistsError:
                raise ObjectExists(key) from None
            except OSError as error:
                if error.errno not in _NO_HARD_LINKS:
                    raise
                self._hard_links = False
        # O_EXCL claims the name as atomically as link(); a reader that catches the file before it is
        # filled in sees no object yet (unreadable metadata reads as absent).
        try:
            fd = os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        except FileExistsError:
            raise ObjectExists(key) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(record)
        except BaseException:
            _unlink(final)
            raise

    def _read(self, path: str) -> Optional[StoredObject]:
        try:
            with open(path, encoding="utf-8") as handle:
                return StoredObject(**json.load(handle))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            return None  # a damaged metadata file reads as absent, never as a 500

    def get(self, key: str) -> Optional[StoredObject]:
        return self._read(self._meta_path(key))

    def open(self, key: str):
        """(object, open binary file) or None; retries once if an overwrite raced the read."""
        for _ in range(2):
            obj = self.get(key)
            if obj is None:
                return None
            try:
                return obj, open(self.blob_path(obj), "rb")
            except FileNotFoundError:
                continue
        return None

    def list(self) -> List[StoredObject]:
        """Every object, newest first (from the index: no metadata file is read)."""
        return self.index.page(0, len(self.index))[0]

    def page(self, offset: int, limit: int) -> Tuple[List[StoredObject], int]:
        """Objects [offset, offset + limit) newest first, and how many there are in all."""
        return self.index.page(offset, limit)


def _start_time(pid: int) -> Optional[str]:
    """The process's start time in clock ticks since boot (Linux /proc), "" where unknown, None if
    there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except FileNotFoundError:
        return None if os.path.isdir("/proc/self") else ""
    except OSError:
        return ""
    # Field 22; the command name (field 2) is in parentheses and may hold spaces or ')'.
    fields = stat[stat.rfind(b")") + 2:].split()
    return fields[19].decode("ascii") if len(fields) > 19 else ""


def new_temp_file(temp_dir: str, prefix: str = "upload-", suffix: str = ".part") -> Tuple[int, str]:
    """(fd, path) of a new temp file named with this process as its writer (see Storage.clear_temp);
    `prefix` is lower-case letters and a dash."""
    return tempfile.mkstemp(dir=temp_dir, prefix=f"{prefix}{owner_tag()}-", suffix=suffix)


def owner_tag() -> str:
    """`<pid>.<start time>`: a pid reused by another process later does not look like the writer."""
    pid = os.getpid()
    return f"{pid}.{_start_time(pid) or ''}"


def _writer_alive(pid: int, started: str) -> bool:
    if pid == os.getpid():
        return owner_tag() == f"{pid}.{started}"  # ours: another emulator in this process writes it
    if os.path.isdir("/proc/self"):
        now_started = _start_time(pid)
        if now_started is None:
            return False
        return not (started and now_started) or now_started == started  # unknown: assume alive
    if os.name == "nt":
        return True  # no cheap, safe check (os.kill would end the process): the hour rule applies
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
