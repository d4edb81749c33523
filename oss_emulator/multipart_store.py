"""Multipart uploads in progress, on disk under `<storage>/multipart/<uploadId>/`.

  upload.json          the key and what the object gets at Complete (headers, overwrite rule)
  <nnnnn>.json         one part: its blob, size, ETag, time; replacing it publishes a re-upload
  <nnnnn>-<id>.part    the part's bytes, written once
  .<nnnnn>-<id>.tmp    a part still arriving

Nothing here is an object: objects appear only through Storage.commit at Complete. An aborted or
finished upload's folder is renamed away first (so no request can use it any more) and then
removed; a crash leaves at most a folder that start-up sweeps or a later Abort removes.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import BinaryIO, Callable, Dict, List, Optional

from .storage import STALE_TEMP_SECONDS

CHUNK = 1024 * 1024
_UPLOAD_ID = re.compile(r"^[0-9A-F]{32}$")
_GONE_PREFIX = ".gone-"


class UploadNotFound(Exception):
    pass


class PartTooLarge(Exception):
    pass


class DigestMismatch(Exception):
    pass


@dataclass
class Upload:
    upload_id: str
    key: str
    headers: Dict[str, str] = field(default_factory=dict)  # the object's, as given at Initiate
    initiated: float = 0.0
    forbid_overwrite: bool = False


@dataclass
class Part:
    number: int
    blob: str
    size: int
    etag: str  # upper-case MD5 hex, unquoted
    last_modified: float


def _write_json(path: str, record: dict) -> None:
    """Replace `path` with `record`, atomically (a reader sees the old or the new file)."""
    temp = f"{path}.{uuid.uuid4().hex}.tmp"
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(record, handle, ensure_ascii=False)
        os.replace(temp, path)
    except BaseException:
        _unlink(temp)
        raise


def _read_json(path: str) -> Optional[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # damaged: reads as absent, never as a 500


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class Uploads:
    def __init__(self, root: str):
        self.root = root
        os.makedirs(root, exist_ok=True)
        self._locks: Dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def _dir(self, upload_id: str) -> str:
        return os.path.join(self.root, upload_id)

    def lock(self, upload_id: str) -> threading.Lock:
        """Serialises part swaps with Complete and Abort of the same upload (in this process)."""
        with self._locks_lock:
            return self._locks.setdefault(upload_id, threading.Lock())

    def sweep(self) -> None:
        """At start: finish removals a crash interrupted; drop parts that stopped arriving."""
        cutoff = time.time() - STALE_TEMP_SECONDS
        for name in os.listdir(self.root):
            path = os.path.join(self.root, name)
            if name.startswith(_GONE_PREFIX):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.isdir(path):
                for leftover in os.listdir(path):
                    if leftover.endswith(".tmp"):
                        try:
                            if os.stat(os.path.join(path, leftover)).st_mtime < cutoff:
                                os.unlink(os.path.join(path, leftover))
                        except OSError:
                            pass

    def create(self, key: str, headers: Dict[str, str], when: float, forbid_overwrite: bool) -> Upload:
        upload = Upload(uuid.uuid4().hex.upper(), key, dict(headers), when, forbid_overwrite)
        directory = self._dir(upload.upload_id)
        os.makedirs(directory)
        _write_json(os.path.join(directory, "upload.json"), asdict(upload))
        return upload

    def get(self, upload_id: str, key: Optional[str]) -> Upload:
        """The upload `upload_id` of `key` (of any key for None); UploadNotFound for an unknown,
        finished or aborted one."""
        if not _UPLOAD_ID.match(upload_id):
            raise UploadNotFound(upload_id)
        record = _read_json(os.path.join(self._dir(upload_id), "upload.json"))
        try:
            upload = Upload(**record) if record else None
        except TypeError:
            upload = None
        if upload is None or (key is not None and upload.key != key) or upload.upload_id != upload_id:
            raise UploadNotFound(upload_id)
        return upload

    def all(self) -> List[Upload]:
        """Every upload in progress (a finished or aborted one is renamed away first)."""
        found = []
        for name in os.listdir(self.root):
            if _UPLOAD_ID.match(name):
                try:
                    found.append(self.get(name, None))
                except UploadNotFound:
                    continue  # finished meanwhile, or damaged
        return found

    def write_part(self, upload: Upload, number: int, read: Callable[[int], bytes], max_size: int,
                   when: float, expected_md5: Optional[bytes] = None) -> Part:
        """Stream one part to disk and publish it (a part uploaded again replaces the old one).
        UploadNotFound if the upload was aborted or completed meanwhile; PartTooLarge past
        max_size; DigestMismatch (nothing published) when the bytes are not `expected_md5`'s."""
        directory = self._dir(upload.upload_id)
        blob = f"{number:05d}-{uuid.uuid4().hex}"
        temp = os.path.join(directory, f".{blob}.tmp")
        md5 = hashlib.md5()
        size = 0
        try:
            with open(temp, "wb") as handle:
                while True:
                    chunk = read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_size:
                        raise PartTooLarge()
                    md5.update(chunk)
                    handle.write(chunk)
            if expected_md5 is not None and md5.digest() != expected_md5:
                raise DigestMismatch()
            part = Part(number, blob + ".part", size, md5.hexdigest().upper(), when)
            with self.lock(upload.upload_id):
                os.replace(temp, os.path.join(directory, part.blob))
                sidecar = os.path.join(directory, f"{number:05d}.json")
                previous = _read_json(sidecar)
                _write_json(sidecar, asdict(part))
            if previous and previous.get("blob") != part.blob:
                _unlink(os.path.join(directory, previous["blob"]))
            return part
        except FileNotFoundError:
            raise UploadNotFound(upload.upload_id) from None  # its folder was renamed away
        finally:
            _unlink(temp)

    def parts(self, upload: Upload) -> List[Part]:
        """Every published part, by part number."""
        directory = self._dir(upload.upload_id)
        found = []
        try:
            names = sorted(os.listdir(directory))
        except FileNotFoundError:
            raise UploadNotFound(upload.upload_id) from None
        for name in names:
            if len(name) == 10 and name.endswith(".json") and name[:5].isascii() and name[:5].isdigit():
                record = _read_json(os.path.join(directory, name))
                try:
                    found.append(Part(**record))
                except TypeError:
                    continue
        return found

    def open_part(self, upload: Upload, part: Part) -> BinaryIO:
        return open(os.path.join(self._dir(upload.upload_id), part.blob), "rb")

    def remove(self, upload: Upload) -> None:
        """Make the upload unknown at once (rename), then delete its parts."""
        gone = os.path.join(self.root, f"{_GONE_PREFIX}{upload.upload_id}-{uuid.uuid4().hex}")
        try:
            os.rename(self._dir(upload.upload_id), gone)
        except FileNotFoundError:
            raise UploadNotFound(upload.upload_id) from None
        finally:
            with self._locks_lock:
                self._locks.pop(upload.upload_id, None)
        shutil.rmtree(gone, ignore_errors=True)
