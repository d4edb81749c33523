"""A `Transfer-Encoding: chunked` body that is not chunked fails at once, not when the client gives up.

werkzeug's development server dechunks the body itself and reads each chunk-size line with
`readline()`: a plain body with that header ("hello", no newline) made it wait for a newline
until the client timed out. Under werkzeug's dechunker this checks each size line byte by byte
(hex digits, optional `;extension`, CRLF): the first byte that cannot belong to one fails the
read, and the handler reading the body answers 400 as OSS does.
"""
from __future__ import annotations

import re

from werkzeug.serving import DechunkedInput

# A prefix of a chunk-size line (`1a;name=value\r\n`) or of the CRLF after a chunk's data.
_LINE_PREFIX = re.compile(rb"^(?:\r\n?|\n|[0-9A-Fa-f]+[ \t]*(?:;[^\r\n]*)?\r?\n?)$")


class _StrictLines:
    def __init__(self, raw):
        self._raw = raw

    def readline(self, limit: int = -1) -> bytes:
        line = b""
        while limit < 0 or len(line) < limit:
            byte = self._raw.read(1)
            if not byte:
                break
            line += byte
            if not _LINE_PREFIX.match(line):
                raise OSError("Invalid chunk header")
            if byte == b"\n":
                break
        return line

    def read(self, size: int = -1) -> bytes:
        return self._raw.read(size)


def guard(environ) -> None:
    """Make a dechunked request body fail fast on a size line that cannot be one."""
    stream = environ.get("wsgi.input")
    # `_rfile` is werkzeug's raw stream under its dechunker (werkzeug.serving.DechunkedInput).
    if isinstance(stream, DechunkedInput) and not isinstance(getattr(stream, "_rfile", None), _StrictLines):
        stream._rfile = _StrictLines(stream._rfile)
