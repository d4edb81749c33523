"""Range requests answered like OSS: the default (forgiving) behaviour and `x-oss-range-behavior: standard`."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from oss_emulator import ranges
from oss_emulator.errors import OssError
from tests.ossform import error_code, error_message

DATA = bytes(range(256)) * 4  # 1024 bytes; OSS's examples use a 1000-byte object
SIZE = len(DATA)


@pytest.fixture
def stored(emu):
    fields = emu.sign("uploads/r.bin")
    assert emu.post(fields, DATA).status_code == 204
    return emu.url + "/uploads/r.bin"


@pytest.mark.parametrize("header,first,last", [
    ("bytes=0-9", 0, 9), ("bytes=1000-", 1000, 1023), ("bytes=-24", 1000, 1023), ("bytes=0-5000", 0, 1023),
    ("bytes=5-5", 5, 5), ("bytes = 2-3", 2, 3), ("BYTES=2-3", 2, 3),
])
def test_a_satisfiable_single_range_is_206(emu, stored, header, first, last):
    got = emu.http.get(stored, headers={"Range": header})
    assert got.status_code == 206 and got.content == DATA[first:last + 1]
    assert got.headers["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert got.headers["Content-Length"] == str(last - first + 1)


@pytest.mark.parametrize("header", ["bytes=5-2", "bytes=0-0,2-3", "bytes=1024-", "bytes=99999-", "bytes=1024-2000",
                                    "items=0-1", "byte=0-9", "bytes=-0", "bytes=-5000", "bytes=", "bytes=-",
                                    "bytes=a-b", "bytes=1-2-3", "bytes=" + "9" * 40 + "-", "garbage", ""])
def test_by_default_anything_else_is_the_whole_object(emu, stored, header):
    got = emu.http.get(stored, headers={"Range": header})
    assert got.status_code == 200 and got.content == DATA
    assert "Content-Range" not in got.headers


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=1024-2000", "bytes=5-2", "bytes=0-0,2-3", "bytes=-0"])
def test_standard_behaviour_refuses_unsatisfiable_ranges(emu, stored, header):
    got = emu.http.get(stored, headers={"Range": header, "x-oss-range-behavior": "standard"})
    assert got.status_code == 416 and error_code(got) == "InvalidRange"
    assert error_message(got) == "The requested range cannot be satisfied"


@pytest.mark.parametrize("header,first,last", [("bytes=500-2000", 500, 1023), ("bytes=-2000", 0, 1023)])
def test_standard_behaviour_serves_what_it_can(emu, stored, header, first, last):
    got = emu.http.get(stored, headers={"Range": header, "x-oss-range-behavior": "standard"})
    assert got.status_code == 206 and got.content == DATA[first:last + 1]


@pytest.mark.parametrize("header", ["items=0-1", "nonsense"])
def test_standard_behaviour_still_ignores_what_is_not_a_byte_range(emu, stored, header):
    got = emu.http.get(stored, headers={"Range": header, "x-oss-range-behavior": "standard"})
    assert got.status_code == 200 and got.content == DATA


def test_no_range_of_an_empty_object_is_satisfiable():
    assert ranges.select("bytes=0-0", 0, False) is None and ranges.select("bytes=-1", 0, False) is None
    with pytest.raises(OssError):
        ranges.select("bytes=0-0", 0, True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=st.text(max_size=40), size=st.integers(0, 5000), standard=st.booleans())
def test_select_never_fails_other_than_invalid_range(header, size, standard):
    try:
        chosen = ranges.select(header, size, standard)
    except OssError as error:
        assert standard and error.status == 416 and error.code == "InvalidRange"
        return
    if chosen is not None:
        first, last = chosen
        assert 0 <= first <= last < size
