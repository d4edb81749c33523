"""Streaming multipart/form-data for PostObject: fields in memory (bounded), the file on disk.

OSS requires `file` to be the last field, so every other field is known when the file part starts:
`on_file_start` judges them there, before a byte of the file is written, and returns the largest
file it allows; the stream stops as soon as the file grows past it. The file part is written to a
temporary file as it arrives, so memory never grows with its size. On any refusal the temporary
file is removed before the error leaves this module.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

from werkzeug.exceptions import HTTPException
from werkzeug.sansio.multipart import NEED_DATA, Data, Epilogue, Field, File, MultipartDecoder, State

from server.config import OSS_MAX_OBJECT_SIZE
from . import errors
from .crc64 import Digests
from .errors import OssError
from .storage import new_temp_file

CHUNK = 256 * 1024
MAX_FIELD_NAMES = 8 * 1024  # all field names together (OSS limit)
MAX_FIELD_VALUES = 2 * 1024 * 1024  # all field values together (OSS limit)
MAX_PART_HEADER = 16 * 1024  # one part's headers; garbage without a boundary stops here


@dataclass
class UploadedFile:
    path: str
    size: int
    md5_hex: str
    filename: str
    content_type: Optional[str] = None  # the file part's own Content-Type header, if it has one
    crc64: str = ""  # x-oss-hash-crc64ecma


# (fields so far, in order; the file part's filename; its Content-Type header or None) -> the
# largest file size allowed. Raises OssError to refuse the form before the file is read.
FileStartJudge = Callable[[List[Tuple[str, str]], str, Optional[str]], int]


@dataclass
class ParsedForm:
    fields: List[Tuple[str, str]] = field(default_factory=list)  # in order, the file excluded
    file: Optional[UploadedFile] = None


class _Parts:
    """The state of one parse: which part is open, what has been seen, the limits so far."""

    def __init__(self, temp_dir: str, max_file_size: int, on_file_start: Optional[FileStartJudge]):
        self.form = ParsedForm()
        self.temp_dir = temp_dir
        self.max_file_size = max_file_size
        self.on_file_start = on_file_start
        self.names_total = 0
        self.values_total = 0
        self.current = None  # "field" | "file" | None
        self.name = ""
        self.value = bytearray()
        self.file_done = False
        self.handle = None
        self.path = None
        self.size = 0
        self.digests = Digests()
        self.filename = ""
        self.content_type = None

    def start(self, event) -> None:
        if self.file_done:
            raise errors.file_not_last()
        name = event.name
        if not name or sum(len(k) + len(v) for k, v in event.headers.items()) > MAX_PART_HEADER:
            raise errors.malformed_post()
        if name.lower() == "file":
            if not any(n.lower() == "key" for n, _ in self.form.fields):
                raise errors.key_order()
            self.filename = getattr(event, "filename", "") or ""
            self.content_type = event.headers.get("Content-Type")
            if self.on_file_start is not None:
                self.max_file_size = min(self.max_file_size,
                                         self.on_file_start(self.form.fields, self.filename, self.content_type))
            fd, self.path = new_temp_file(self.temp_dir)
            self.handle = os.fdopen(fd, "wb")
            self.current = "file"
            return
        self.names_total += len(name.encode("utf-8"))
        if self.names_total > MAX_FIELD_NAMES:
            raise errors.field_too_long()
        self.current, self.name, self.value = "field", name, bytearray()

    def data(self, event: Data) -> None:
        if self.current == "file":
            self.size += len(event.data)
            if self.size > self.max_file_size:
                raise errors.entity_too_large()
            self.handle.write(event.data)
            self.digests.update(event.data)
        elif self.current == "field":
            self.values_total += len(event.data)
            if self.values_total > MAX_FIELD_VALUES:
                raise errors.field_too_long()
            self.value += event.data
        if not event.more_data:
            self.end()

    def end(self) -> None:
        if self.current == "file":
            self.handle.close()
            self.handle = None
            self.file_done = True
            self.form.file = UploadedFile(self.path, self.size, self.digests.etag, self.filename,
                                          self.content_type, self.digests.crc64)
        elif self.current == "field":
            try:
                value = bytes(self.value).decode("utf-8")
            except UnicodeDecodeError:
                raise errors.malformed_post() from None
            self.form.fields.append((self.name, value))
        self.current = None

    def finish(self) -> ParsedForm:
        if self.form.file is None:
            if not any(n.lower() == "key" for n, _ in self.form.fields):
                raise errors.key_order()
            raise errors.file_missing()
        return self.form

    def discard(self) -> None:
        if self.handle is not None:
            self.handle.close()
        if self.path:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


def drain(stream) -> None:
    """Read and drop what is left of a request body, so the client sees our answer, not a reset."""
    try:
        while stream.read(256 * 1024):
            pass
    except Exception:  # the client is gone; nothing left to read
        pass


def parse_form(read: Callable[[int], bytes], boundary: bytes, temp_dir: str,
               max_file_size: int = OSS_MAX_OBJECT_SIZE, on_file_start: Optional[FileStartJudge] = None) -> ParsedForm:
    """Read the body through `read(n)` until the closing boundary; OssError on any refusal.

    Nothing past a refusal is read: what the client still sends is the HTTP server's to discard.
    """
    decoder = MultipartDecoder(boundary)
    parts = _Parts(temp_dir, max_file_size, on_file_start)
    try:
        while decoder.state != State.EPILOGUE:
            try:
                chunk = read(CHUNK)
            except (HTTPException, OSError, ValueError):
                raise errors.malformed_post() from None  # the client went away mid-body
            decoder.receive_data(chunk or None)
            _drain_events(decoder, parts)
            if not chunk and decoder.state != State.EPILOGUE:
                raise errors.malformed_post()
        return parts.finish()
    except OssError:
        parts.discard()
        raise
    except (ValueError, KeyError, UnicodeError):
        # The decoder's own complaints: missing Content-Disposition, undecodable headers...
        parts.discard()
        raise errors.malformed_post() from None
    except BaseException:
        parts.discard()
        raise


def _drain_events(decoder: MultipartDecoder, parts: _Parts) -> None:
    while True:
        event = decoder.next_event()
        if event is NEED_DATA:
            if decoder.state in (State.PREAMBLE, State.PART) and len(decoder.buffer) > MAX_PART_HEADER:
                raise errors.malformed_post()
            return
        if isinstance(event, (Field, File)):
            parts.start(event)
        elif isinstance(event, Data):
            parts.data(event)
        elif isinstance(event, Epilogue):
            return
        if decoder.state == State.EPILOGUE and parts.current is None:
            return
