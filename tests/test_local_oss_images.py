"""`x-oss-process=image/resize,...` on stored images: the result, its format, and OSS's refusals."""
from __future__ import annotations

import io
import struct
import zlib
from urllib.parse import quote

import pytest
import requests
from PIL import Image

from oss_emulator import image_process
from tests.ossform import error_code

FORMATS = {"png": ("PNG", "image/png"), "jpg": ("JPEG", "image/jpeg"), "gif": ("GIF", "image/gif"),
           "webp": ("WEBP", "image/webp"), "bmp": ("BMP", "image/bmp")}


def picture(width=400, height=200, fmt="PNG", mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (200, 40, 40) if mode == "RGB" else 128).save(out, fmt)
    return out.getvalue()


def store(emu, key, data):
    assert emu.post(emu.sign(key), data, filename=key.rsplit("/", 1)[-1]).status_code == 204


def process(emu, key, spec):
    return emu.http.get(f"{emu.url}/{key}?x-oss-process={quote(spec, safe='')}", timeout=10)


def size_of(response):
    return Image.open(io.BytesIO(response.content)).size


@pytest.mark.parametrize("ext", list(FORMATS))
def test_resize_keeps_the_source_format(emu, ext):
    fmt, content_type = FORMATS[ext]
    store(emu, f"uploads/a.{ext}", picture(fmt=fmt))
    got = process(emu, f"uploads/a.{ext}", "image/resize,w_100")
    assert got.status_code == 200 and got.headers["Content-Type"] == content_type
    image = Image.open(io.BytesIO(got.content))
    assert image.format == fmt and image.size == (100, 50)
    assert got.headers["Content-Length"] == str(len(got.content))
    assert got.headers["Content-Security-Policy"] == "sandbox"


@pytest.mark.parametrize("spec,size", [
    ("image/resize,h_50", (100, 50)),
    ("image/resize,w_100,h_100", (100, 50)),  # lfit: inside the box
    ("image/resize,m_lfit,w_100,h_100", (100, 50)),
    ("image/resize,m_mfit,w_100,h_100", (200, 100)),  # covers the box
    ("image/resize,m_fill,w_100,h_100", (100, 100)),
    ("image/resize,m_pad,w_100,h_100", (100, 100)),
    ("image/resize,m_fixed,w_100,h_100", (100, 100)),
    ("image/resize,l_100", (100, 50)),
    ("image/resize,s_100", (200, 100)),
    ("image/resize,w_800", (400, 200)),  # limit_1 (default): never enlarged
    ("image/resize,w_800,limit_1", (400, 200)),
    ("image/resize,w_800,limit_0", (800, 400)),
])
def test_resize_modes(emu, spec, size):
    store(emu, "uploads/a.png", picture())
    got = process(emu, "uploads/a.png", spec)
    assert got.status_code == 200, got.text
    assert size_of(got) == size


def test_pad_fills_with_the_colour(emu):
    store(emu, "uploads/a.png", picture())
    got = process(emu, "uploads/a.png", "image/resize,m_pad,w_100,h_100,color_00FF00")
    image = Image.open(io.BytesIO(got.content)).convert("RGB")
    assert image.getpixel((50, 2)) == (0, 255, 0) and image.getpixel((50, 50)) == (200, 40, 40)


def test_an_animated_gif_keeps_its_frames(emu):
    frames = [Image.new("RGB", (120, 60), (i * 80, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    store(emu, "uploads/anim.gif", out.getvalue())
    got = process(emu, "uploads/anim.gif", "image/resize,w_60")
    image = Image.open(io.BytesIO(got.content))
    assert image.size == (60, 30) and image.n_frames == 3


def test_gifs_are_only_scaled_down(emu):
    store(emu, "uploads/a.gif", picture(fmt="GIF"))
    assert size_of(process(emu, "uploads/a.gif", "image/resize,w_800,limit_0")) == (400, 200)


@pytest.mark.parametrize("spec,code,ec", [
    ("image/", "InvalidArgument", "0040-00000212"),
    ("image", "InvalidArgument", "0040-00000212"),
    ("image/slim,1", "InvalidArgument", "0040-00000213"),
    ("image/resize,w_10/blur,r_3,s_2", "InvalidArgument", "0040-00000213"),
    ("image/info/resize,w_10", "InvalidArgument", "0040-00000213"),
    ("image/rotate,361", "InvalidArgument", None),
    ("image/format,heic", "InvalidArgument", None),
    ("image/quality,q_0", "InvalidArgument", None),
    ("image/crop,g_middle", "InvalidArgument", None),
    ("image/resize,m_bogus,w_10", "InvalidArgument", "0040-00000311"),
    ("image/resize,w_10,limit_2", "InvalidArgument", "0040-00000319"),
    ("image/resize,w_0", "InvalidArgument", None),
    ("image/resize,w_16385", "InvalidArgument", None),
    ("image/resize,w_abc", "InvalidArgument", None),
    ("image/resize,w_10,w_20", "InvalidArgument", None),
    ("image/resize,p_50", "InvalidArgument", None),
    ("image/resize,color_GGGGGG,w_1", "InvalidArgument", None),
    ("image/resize", "MissingArgument", None),
    ("image/resize,m_lfit", "MissingArgument", None),
    ("video/snapshot,t_1000", "InvalidArgument", None),
])
def test_what_is_not_modelled_or_not_valid_is_400(emu, spec, code, ec):
    store(emu, "uploads/a.png", picture())
    got = process(emu, "uploads/a.png", spec)
    assert got.status_code == 400 and error_code(got) == code, got.text
    assert got.headers.get("x-oss-ec") == ec


def test_a_non_image_is_bad_request(emu):
    store(emu, "uploads/a.txt", b"just text")
    got = process(emu, "uploads/a.txt", "image/resize,w_10")
    assert got.status_code == 400 and error_code(got) == "BadRequest" and got.headers["x-oss-ec"] == "0040-00000005"


def test_a_missing_source_is_no_such_file(emu):
    got = process(emu, "uploads/none.png", "image/resize,w_10")
    assert got.status_code == 404 and error_code(got) == "NoSuchFile"


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height but holds almost no pixel data (what a bomb looks like)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + \
        chunk(b"IEND", b"")


@pytest.mark.parametrize("width,height,ec", [(30_001, 10, None), (20_000, 13_000, "0040-00000012"),
                                             (30_000, 30_000, "0040-00000012")])
def test_sources_over_oss_limits_are_refused_before_decoding(emu, width, height, ec):
    store(emu, "uploads/bomb.png", _png_header_only(width, height))
    got = process(emu, "uploads/bomb.png", "image/resize,w_10")
    assert got.status_code == 400 and error_code(got) == "ImageTooLarge"
    assert got.headers.get("x-oss-ec") == ec


def test_sources_over_20_mb_are_refused(emu, monkeypatch):
    monkeypatch.setattr(image_process, "MAX_SOURCE_BYTES", 100)  # the rule, without writing 20 MB
    store(emu, "uploads/a.png", picture())
    got = process(emu, "uploads/a.png", "image/resize,w_10")
    assert got.status_code == 400 and error_code(got) == "ImageTooLarge"


def test_a_truncated_image_is_bad_request_not_500(emu):
    store(emu, "uploads/cut.jpg", picture(fmt="JPEG")[:300])
    got = process(emu, "uploads/cut.jpg", "image/resize,w_10")
    assert got.status_code == 400 and error_code(got) == "BadRequest"


def test_processing_needs_the_same_rights_as_reading(emu):
    store(emu, "uploads/a.png", picture())
    anonymous = requests.get(f"{emu.url}/uploads/a.png?x-oss-process=image%2Fresize%2Cw_10", timeout=5)
    assert anonymous.status_code == 403 and error_code(anonymous) == "AccessDenied"


@pytest.mark.parametrize("width", ["%C2%B2", "%D9%A3", "9" * 5000])
def test_sizes_that_are_not_ascii_digits_are_invalid_not_500(emu, width):
    store(emu, "uploads/a.png", picture())
    got = emu.http.get(f"{emu.url}/uploads/a.png?x-oss-process=image%2Fresize%2Cw_{width}", timeout=10)
    assert got.status_code == 400 and error_code(got) == "InvalidArgument"


def test_a_crafted_large_png_is_refused_from_its_header_within_oss_limits(emu):
    """15800 x 15800 px is under OSS's 250 Mpx but over the emulator's own decoding budget."""
    store(emu, "uploads/wide.png", _png_header_only(15_800, 15_800))
    got = process(emu, "uploads/wide.png", "image/resize,w_10")
    assert got.status_code == 400 and error_code(got) == "ImageTooLarge"
    assert got.elapsed.total_seconds() < 2


def test_animations_are_capped_in_frames_and_outputs_in_pixels(emu):
    frames = [Image.new("L", (4, 4), n % 256) for n in range(image_process.LOCAL_FRAMES + 1)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=10)
    store(emu, "uploads/long.gif", out.getvalue())
    got = process(emu, "uploads/long.gif", "image/resize,w_2")
    assert got.status_code == 400 and error_code(got) == "ImageTooLarge"
    store(emu, "uploads/small.png", picture(40, 20))
    huge = process(emu, "uploads/small.png", "image/resize,m_fixed,w_16384,h_16384,limit_0")
    assert huge.status_code == 400 and error_code(huge) == "ImageTooLarge"
    fine = process(emu, "uploads/small.png", "image/resize,m_fixed,w_400,h_400,limit_0")
    assert fine.status_code == 200 and size_of(fine) == (400, 400)


@pytest.mark.parametrize("spec,content_type,size", [
    ("image/resize,w_100/quality,q_80/format,webp", "image/webp", (100, 50)),
    ("image/crop,x_10,y_10,w_50,h_40", "image/png", (50, 40)),
    ("image/crop,w_100,h_100,g_se", "image/png", (100, 100)),
    ("image/crop,x_350,w_100", "image/png", (50, 200)),  # clipped at the edge
    ("image/rotate,90", "image/png", (200, 400)),
    ("image/rotate,90/resize,w_50/format,jpg", "image/jpeg", (50, 100)),
    ("image/format,bmp", "image/bmp", (400, 200)),
    ("image/quality,Q_30/format,jpg", "image/jpeg", (400, 200)),
])
def test_chains_of_actions_apply_left_to_right(emu, spec, content_type, size):
    store(emu, "uploads/chain.png", picture())
    got = process(emu, "uploads/chain.png", spec)
    assert got.status_code == 200 and got.headers["Content-Type"] == content_type, got.text
    assert size_of(got) == size and "ETag" not in got.headers and "x-oss-hash-crc64ecma" not in got.headers


def test_quality_changes_the_encoding_and_crop_keeps_the_right_corner(emu):
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    image.paste((255, 0, 0), (30, 10, 40, 20))  # the south-east corner is red
    out = io.BytesIO()
    image.save(out, "PNG")
    store(emu, "uploads/corner.png", out.getvalue())
    corner = Image.open(io.BytesIO(process(emu, "uploads/corner.png", "image/crop,w_10,h_10,g_se").content))
    assert corner.convert("RGB").getpixel((5, 5)) == (255, 0, 0)
    store(emu, "uploads/photo.jpg", picture(800, 600, fmt="JPEG"))
    low = process(emu, "uploads/photo.jpg", "image/quality,Q_10").content
    high = process(emu, "uploads/photo.jpg", "image/quality,Q_95").content
    assert len(low) < len(high)


def saved_quality(response) -> int:
    from oss_emulator.jpeg_quality import estimate

    return estimate(Image.open(io.BytesIO(response.content)).quantization)


@pytest.mark.parametrize("source,spec,expected", [
    # OSS's examples: a source at 80 with q_90 gives 72; Q_90 on a source at 95 gives 90, at 80 stays 80.
    (80, "image/quality,q_90", 72),
    (95, "image/quality,Q_90", 90),
    (80, "image/quality,Q_90", 80),
    (100, "image/quality,q_90", 90),
    (60, "image/resize,w_100/quality,q_50", 30),
    (80, "image/quality,q_50,Q_70", 70),  # both: Q
    (None, "image/quality,q_40/format,jpg", 40),  # a PNG source counts as 100
])
def test_quality_is_relative_to_the_jpeg_sources_own(emu, source, spec, expected):
    if source is None:
        store(emu, "uploads/q.png", picture(fmt="PNG"))
        got = process(emu, "uploads/q.png", spec)
    else:
        out = io.BytesIO()
        Image.new("RGB", (400, 200), (200, 40, 40)).save(out, "JPEG", quality=source)
        store(emu, "uploads/q.jpg", out.getvalue())
        got = process(emu, "uploads/q.jpg", spec)
    assert got.status_code == 200 and got.headers["Content-Type"] == "image/jpeg"
    assert saved_quality(got) == expected


def test_info_describes_the_stored_image(emu):
    data = picture(fmt="JPEG")
    store(emu, "uploads/info.jpg", data)
    got = process(emu, "uploads/info.jpg", "image/info")
    assert got.status_code == 200 and got.headers["Content-Type"] == "application/json"
    assert got.json() == {"FileSize": {"value": str(len(data))}, "Format": {"value": "jpg"},
                          "ImageHeight": {"value": "200"}, "ImageWidth": {"value": "400"}}


def test_chain_refusals(emu):
    store(emu, "uploads/chain.png", picture())
    outside = process(emu, "uploads/chain.png", "image/crop,x_500,y_0")
    assert outside.status_code == 400 and error_code(outside) == "BadRequest"
    store(emu, "uploads/tall.png", _png_header_only(10, 5000))
    rotate = process(emu, "uploads/tall.png", "image/rotate,90")
    assert rotate.status_code == 400 and error_code(rotate) == "ImageTooLarge"


def test_an_animation_stays_one_through_resize_and_crop_only(emu):
    frames = [Image.new("RGB", (120, 60), (i * 80, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    store(emu, "uploads/anim.gif", out.getvalue())
    moving = Image.open(io.BytesIO(process(emu, "uploads/anim.gif", "image/resize,w_60/crop,w_30,h_30").content))
    assert moving.size == (30, 30) and moving.n_frames == 3
    still = Image.open(io.BytesIO(process(emu, "uploads/anim.gif", "image/resize,w_60/format,png").content))
    assert still.format == "PNG" and getattr(still, "n_frames", 1) == 1
