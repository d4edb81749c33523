"""CRC-64/ECMA-182 as OSS computes it (`x-oss-hash-crc64ecma`): reflected, initial value and final
XOR all ones (CRC-64/XZ), sent as an unsigned decimal string. The same crcmod parameters as the
alibabacloud-oss-v2 SDK (`crc.py`), with crcmod's C extension; check value: CRC-64 of
b"123456789" is 11051210869376104954. Computed while a body streams, next to its MD5."""
from __future__ import annotations

import hashlib
from typing import BinaryIO, Callable, Iterable, Tuple

import crcmod
from alibabacloud_oss_v2.crc import mkCombineFun

_POLY = 0x142F0E1EBA9EA3693
_XOR_OUT = 0xFFFFFFFFFFFFFFFF
_crc = crcmod.mkCrcFun(_POLY, initCrc=0, xorOut=_XOR_OUT, rev=True)
_combine = mkCombineFun(_POLY, 0, True, _XOR_OUT)


def crc64(data: bytes, previous: int = 0) -> int:
    return _crc(data, previous)


def combined(parts: Iterable[Tuple[int, int]]) -> int:
    """The CRC of the concatenation of parts given as (crc, size)."""
    total = 0
    for value, size in parts:
        total = _combine(total, value, size)
    return total


class Digests:
    """MD5 (the ETag) and CRC-64 of a body, fed chunk by chunk."""

    def __init__(self):
        self._md5 = hashlib.md5()
        self._crc = 0
        self.size = 0

    def update(self, data: bytes) -> None:
        self._md5.update(data)
        self._crc = _crc(data, self._crc)
        self.size += len(data)

    def md5(self) -> bytes:
        return self._md5.digest()

    @property
    def etag(self) -> str:
        return self._md5.hexdigest().upper()

    @property
    def crc64(self) -> str:
        return str(self._crc)


class TooLarge(Exception):
    pass


def stream_body(read: Callable[[int], bytes], out: BinaryIO, max_size: int, chunk: int = 1024 * 1024) -> Digests:
    """Copy a request body to `out` until it ends, hashing as it goes; TooLarge past max_size
    (nothing more is read)."""
    digests = Digests()
    while True:
        data = read(chunk)
        if not data:
            return digests
        if digests.size + len(data) > max_size:
            raise TooLarge()
        digests.update(data)
        out.write(data)
