"""`x-oss-process=image/resize,...`: OSS's resize action on a stored image, with Pillow.

Modelled: the resize action with w, h, l, s (1..16384), m (lfit, mfit, fill, pad, fixed; default
lfit), limit (1: never enlarge, the default; 0: may enlarge) and color (for pad); the result in
the source's format. Anything else (another action, a chain of actions, an unknown parameter)
is refused with 400, even where real OSS would process it. Sources are held to OSS's limits
(20 MB, 30,000 px a side, 250 Mpx; research: oss-facts.md D) before any pixel is decoded, and
one image is processed at a time, so memory stays bounded by those limits.
"""
from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO, Dict, Optional, Tuple

from .errors import OssError
from .numbers import decimal

MAX_SOURCE_BYTES = 20 * 1024 * 1024
MAX_SIDE = 30_000
MAX_PIXELS = 250_000_000
MAX_OUTPUT_SIDE = 16_384
# The emulator's own budget, far below OSS's 250 Mpx: what one request may decode or produce
# (every frame counted), checked from the header before any pixel is decoded. It runs on a
# developer's machine, where a crafted 948 KB PNG of 15800 x 15800 px took 2 GB and 25 s.
# Beyond it the refusal is OSS's ImageTooLarge, where OSS itself would still process the image.
LOCAL_PIXELS = 64_000_000
LOCAL_FRAMES = 500  # frames of an animated image (OSS documents no frame limit)
MODES = ("lfit", "mfit", "fill", "pad", "fixed")
# Pillow's names for the formats OSS reads, and what each is served as.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp",
           "BMP": "image/bmp", "TIFF": "image/tiff"}

_ONE_AT_A_TIME = threading.BoundedSemaphore(1)


@lru_cache(maxsize=None)
def _pillow():
    """Pillow, imported on first use (the emulator starts without it)."""
    from PIL import Image, ImageOps, ImageSequence

    # Pillow's decompression-bomb guard at OSS's limit: a warning above it, an error at twice it.
    # Both are refusals here (the warning is raised as an error while an image is opened).
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    return Image, ImageOps, ImageSequence


@dataclass(frozen=True)
class Resize:
    width: Optional[int] = None
    height: Optional[int] = None
    long_side: Optional[int] = None
    short_side: Optional[int] = None
    mode: str = "lfit"
    limit: bool = True
    color: Tuple[int, int, int] = (255, 255, 255)


def _invalid(message: str, ec: Optional[str] = None) -> OssError:
    return OssError(400, "InvalidArgument", message, ec=ec)


def parse(process: str) -> Resize:
    """The one resize action in `process`; OssError 400 for anything the emulator does not model."""
    category, _, actions = process.partition("/")
    if category != "image":
        raise _invalid(f"The process category {category!r} is not supported by the local emulator.")
    if not actions:
        raise _invalid("The image process has no action.", "0040-00000212")
    action, *rest = actions.split("/")
    name, _, params = action.partition(",")
    if name != "resize" or rest:
        # Strict: only a single resize is modelled (OSS chains actions with "/").
        unknown = name if name != "resize" else rest[0].partition(",")[0]
        raise _invalid(f"The image process action {unknown!r} is not supported.", "0040-00000213")
    values: Dict[str, str] = {}
    for item in params.split(",") if params else []:
        key, sep, value = item.partition("_")
        if not sep or key in values:
            raise _invalid(f"The resize parameter {item!r} is invalid.")
        values[key] = value
    spec = {}
    for key, field in (("w", "width"), ("h", "height"), ("l", "long_side"), ("s", "short_side")):
        if key in values:
            side = decimal(values.pop(key), 5)
            if side is None or not 1 <= side <= MAX_OUTPUT_SIDE:
                raise _invalid(f"The resize parameter {key} must be an integer in [1, {MAX_OUTPUT_SIDE}].")
            spec[field] = side
    mode = values.pop("m", "lfit")
    if mode not in MODES:
        raise _invalid("The resize mode m is invalid.", "0040-00000311")
    limit = values.pop("limit", "1")
    if limit not in ("0", "1"):
        raise _invalid("The resize parameter limit must be 0 or 1.", "0040-00000319")
    color = values.pop("color", "FFFFFF")
    if len(color) != 6 or any(c not in "0123456789abcdefABCDEF" for c in color):
        raise _invalid("The resize parameter color must be six hex digits.")
    if values:
        raise _invalid(f"The resize parameter {sorted(values)[0]!r} is not supported.")
    if not spec:
        raise OssError(400, "MissingArgument", "The resize action needs w, h, l or s.")
    return Resize(mode=mode, limit=limit == "1", color=tuple(int(color[i:i + 2], 16) for i in (0, 2, 4)), **spec)


def _too_large(message: str, ec: Optional[str] = None) -> OssError:
    return OssError(400, "ImageTooLarge", message, ec=ec)


def _box(spec: Resize, width: int, height: int) -> Tuple[Optional[int], Optional[int]]:
    """The target box in source orientation; w/h win over l/s (OSS's precedence)."""
    if spec.width or spec.height:
        return spec.width, spec.height
    landscape = width >= height
    long_side, short_side = spec.long_side, spec.short_side
    return (long_side, short_side) if landscape else (short_side, long_side)


def target_size(spec: Resize, width: int, height: int) -> Tuple[int, int, Tuple[int, int]]:
    """(scaled width, scaled height, final canvas) for a source of width x height."""
    box_w, box_h = _box(spec, width, height)
    if box_w and box_h and spec.mode == "fixed":
        return box_w, box_h, (box_w, box_h)
    ratios = [r for r in (box_w and box_w / width, box_h and box_h / height) if r]
    scale = max(ratios) if spec.mode in ("mfit", "fill") else min(ratios)
    scaled = (max(1, round(width * scale)), max(1, round(height * scale)))
    if box_w and box_h and spec.mode in ("fill", "pad"):
        return scaled[0], scaled[1], (box_w, box_h)
    return scaled[0], scaled[1], scaled


def _open(handle: BinaryIO):
    Image = _pillow()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(handle)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_large("The image has more than 250 million pixels.", "0040-00000012") from None
        except (OSError, ValueError, SyntaxError):  # UnidentifiedImageError is an OSError
            raise OssError(400, "BadRequest", "not supported format.", ec="0040-00000005") from None
    if image.format not in FORMATS:
        raise OssError(400, "BadRequest", "not supported format.", ec="0040-00000005")
    width, height = image.size
    if width > MAX_SIDE or height > MAX_SIDE:
        raise _too_large("Each side of the image must be at most 30000 pixels.")
    return image


def _check_budget(image, canvas: Tuple[int, int]) -> int:
    """How many frames `image` has, once it is known to fit LOCAL_PIXELS and LOCAL_FRAMES for
    decoding (at its current, possibly drafted, size) and for producing `canvas`; ImageTooLarge
    otherwise. Frames are counted by seeking no further than the budget allows."""
    width, height = image.size
    per_frame = max(width * height, canvas[0] * canvas[1])
    allowed = min(LOCAL_FRAMES, LOCAL_PIXELS // per_frame)
    if allowed < 1:
        raise _too_large(f"The local emulator processes images of at most {LOCAL_PIXELS} pixels.")
    frames = 1
    if getattr(image, "is_animated", False):
        try:
            image.seek(allowed)
        except EOFError:
            frames = getattr(image, "n_frames", 1)  # known by now: the seek met the last one
        else:
            raise _too_large(f"The local emulator processes animations of at most {allowed} frames at this size.")
        finally:
            image.seek(0)
    return frames


def _resize_frame(frame, spec: Resize, size: Tuple[int, int, Tuple[int, int]]):
    Image, ImageOps, _ = _pillow()
    scaled_w, scaled_h, canvas = size
    if frame.mode not in ("RGB", "RGBA", "L", "LA", "CMYK", "I", "F"):
        frame = frame.convert("RGBA" if "transparency" in frame.info or frame.mode == "PA" else "RGB")
    out = frame.resize((scaled_w, scaled_h), Image.Resampling.LANCZOS)
    if canvas == (scaled_w, scaled_h):
        return out
    if spec.mode == "fill":  # cover the box, then keep its centre
        return ImageOps.fit(out, canvas, Image.Resampling.LANCZOS)
    fill = spec.color + ((255,) if out.mode in ("RGBA", "LA") else ())
    padded = Image.new(out.mode, canvas, fill if out.mode in ("RGB", "RGBA") else 255)
    padded.paste(out, ((canvas[0] - scaled_w) // 2, (canvas[1] - scaled_h) // 2))
    return padded


def render(handle: BinaryIO, size: int, spec: Resize) -> Tuple[bytes, str]:
    """(image bytes, Content-Type) of the resized object; the source bytes when limit_1 would
    enlarge it. OssError 400 for a source that is not an image OSS reads or is over its limits."""
    if size > MAX_SOURCE_BYTES:
        raise _too_large("The image is larger than 20 MB.")
    ImageSequence = _pillow()[2]
    with _ONE_AT_A_TIME:
        image = _open(handle)
        content_type = FORMATS[image.format]
        width, height = image.size
        scaled_w, scaled_h, canvas = target_size(spec, width, height)
        # GIFs are only ever scaled down (OSS's resize doc).
        limit = spec.limit or image.format == "GIF"
        if limit and (scaled_w > width or scaled_h > height or canvas[0] > width or canvas[1] > height):
            handle.seek(0)
            return handle.read(), content_type
        if max(canvas) > MAX_OUTPUT_SIDE:
            raise _invalid(f"The resized image would be larger than {MAX_OUTPUT_SIDE} pixels on a side.")
        if image.format == "JPEG":
            image.draft("RGB", (scaled_w, scaled_h))  # decode at a fraction of the size where it can
        _check_budget(image, canvas)
        target = (scaled_w, scaled_h, canvas)
        out = io.BytesIO()
        try:
            if image.format == "GIF" and getattr(image, "n_frames", 1) > 1:
                frames = [_resize_frame(f.copy(), spec, target) for f in ImageSequence.Iterator(image)]
                frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], loop=image.info.get("loop", 0),
                               duration=image.info.get("duration", 100))
            else:
                result = _resize_frame(image, spec, target)
                if image.format == "JPEG" and result.mode not in ("RGB", "L", "CMYK"):
                    result = result.convert("RGB")
                result.save(out, image.format, **({"quality": 90} if image.format in ("JPEG", "WEBP") else {}))
        except (OSError, ValueError, SyntaxError, EOFError):  # a truncated or damaged image
            raise OssError(400, "BadRequest", "not supported format.", ec="0040-00000005") from None
        return out.getvalue(), content_type
