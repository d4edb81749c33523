"""`x-oss-process=image/...`: OSS's image actions on a stored image, with Pillow.

The actions and their parameters are image_actions.py's; here they are applied left to right (a
chain like `resize,w_50/quality,q_80/format,webp`), and the result encoded in the `format` asked
for, else the source's. Sources are held to OSS's limits (20 MB, 30,000 px a side, 250 Mpx; rotate
4,096 px a side) and to the emulator's own pixel and frame budget before any pixel is decoded, and
one image is processed at a time, so memory stays bounded.
"""
from __future__ import annotations

import io
import json
import math
import threading
import warnings
from functools import lru_cache
from typing import BinaryIO, List, Optional, Sequence, Tuple

from . import jpeg_quality
from .errors import OssError
from .image_actions import MAX_OUTPUT_SIDE, Action, Crop, Format, Info, Quality, Resize, Rotate, invalid, parse

__all__ = ["parse", "render", "target_size"]

MAX_SOURCE_BYTES = 20 * 1024 * 1024
MAX_SIDE = 30_000
MAX_PIXELS = 250_000_000
MAX_ROTATE_SIDE = 4096  # OSS: the source of a rotation is at most 4,096 px a side
# The emulator's own budget, far below OSS's 250 Mpx: what one request may decode or produce
# (every frame counted), checked from the header before any pixel is decoded. It runs on a
# developer's machine, where a crafted 948 KB PNG of 15800 x 15800 px took 2 GB and 25 s.
# Beyond it the refusal is OSS's ImageTooLarge, where OSS itself would still process the image.
LOCAL_PIXELS = 64_000_000
LOCAL_FRAMES = 500  # frames of an animated image (OSS documents no frame limit)
# Pillow's names for the formats OSS reads, what each is served as, and OSS's name for it (info).
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp",
           "BMP": "image/bmp", "TIFF": "image/tiff"}
OSS_NAMES = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp", "TIFF": "tiff"}
DEFAULT_QUALITY = 90

_ONE_AT_A_TIME = threading.BoundedSemaphore(1)


@lru_cache(maxsize=None)
def _pillow():
    """Pillow, imported on first use (the emulator starts without it)."""
    from PIL import Image, ImageOps, ImageSequence

    # Pillow's decompression-bomb guard at OSS's limit: a warning above it, an error at twice it.
    # Both are refusals here (the warning is raised as an error while an image is opened).
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    return Image, ImageOps, ImageSequence


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


def _crop_box(crop: Crop, width: int, height: int) -> Tuple[int, int, int, int]:
    """The crop rectangle in a width x height image: x, y from the gravity's corner, clipped to the
    image; an origin outside the image is OSS's BadRequest."""
    crop_w = crop.width or width
    crop_h = crop.height or height
    column = {"nw": 0, "west": 0, "sw": 0, "north": 1, "center": 1, "south": 1}.get(crop.gravity, 2)
    row = {"nw": 0, "north": 0, "ne": 0, "west": 1, "center": 1, "east": 1}.get(crop.gravity, 2)
    left = (crop.x, (width - crop_w) // 2 + crop.x, width - crop_w - crop.x)[column]
    top = (crop.y, (height - crop_h) // 2 + crop.y, height - crop_h - crop.y)[row]
    left, top = max(0, left), max(0, top)
    if left >= width or top >= height:
        raise OssError(400, "BadRequest", "Advance cut's position is out of image.")
    return left, top, min(width, left + crop_w), min(height, top + crop_h)


def _rotated(angle: int, width: int, height: int) -> Tuple[int, int]:
    radians = math.radians(angle % 360)
    cos, sin = abs(math.cos(radians)), abs(math.sin(radians))
    return max(1, round(width * cos + height * sin)), max(1, round(width * sin + height * cos))


def _plan(actions: Sequence[Action], size: Tuple[int, int], is_gif: bool) -> Tuple[List[object], int]:
    """Each action's geometry (None: nothing to do) from the header's size alone, and the largest
    image any step produces, in pixels."""
    width, height = size
    steps: List[object] = []
    largest = 0
    for action in actions:
        step = None
        if isinstance(action, Resize):
            scaled_w, scaled_h, canvas = target_size(action, width, height)
            # GIFs are only ever scaled down (OSS's resize doc); limit_1 never enlarges.
            if (action.limit or is_gif) and (scaled_w > width or scaled_h > height or canvas[0] > width
                                             or canvas[1] > height):
                steps.append(None)
                continue
            if max(canvas) > MAX_OUTPUT_SIDE:
                raise invalid(f"The resized image would be larger than {MAX_OUTPUT_SIDE} pixels on a side.")
            step, (width, height) = (scaled_w, scaled_h, canvas), canvas
        elif isinstance(action, Crop):
            step = _crop_box(action, width, height)
            width, height = step[2] - step[0], step[3] - step[1]
        elif isinstance(action, Rotate):
            if max(width, height) > MAX_ROTATE_SIDE:
                raise _too_large(f"The image to rotate must be at most {MAX_ROTATE_SIDE} pixels on a side.")
            step, (width, height) = action.angle, _rotated(action.angle, width, height)
        steps.append(step)
        largest = max(largest, width * height)
    return steps, largest


def _frame_count(image, per_frame: int) -> int:
    """How many frames `image` has, once it is known to fit LOCAL_PIXELS and LOCAL_FRAMES at
    `per_frame` pixels a frame; ImageTooLarge otherwise. Seeks no further than the budget allows."""
    allowed = min(LOCAL_FRAMES, LOCAL_PIXELS // max(per_frame, 1))
    if allowed < 1:
        raise _too_large(f"The local emulator processes images of at most {LOCAL_PIXELS} pixels.")
    if not getattr(image, "is_animated", False):
        return 1
    try:
        image.seek(allowed)
    except EOFError:
        return getattr(image, "n_frames", 1)  # known by now: the seek met the last one
    else:
        raise _too_large(f"The local emulator processes animations of at most {allowed} frames at this size.")
    finally:
        image.seek(0)


def _apply(frame, actions: Sequence[Action], steps: Sequence[object]):
    for action, step in zip(actions, steps):
        if step is None:
            continue
        if isinstance(action, Resize):
            frame = _resize_frame(frame, action, step)
        elif isinstance(action, Crop):
            frame = frame.crop(step)
        elif isinstance(action, Rotate):
            transparent = frame.mode in ("RGBA", "LA", "PA") or "transparency" in frame.info
            frame = frame.convert("RGBA" if transparent else "RGB")
            fill = (255, 255, 255, 0) if transparent else (255, 255, 255)  # corners: white, or clear
            frame = frame.rotate(-step, expand=True, fillcolor=fill)  # OSS rotates clockwise
    return frame


def _encode(frames, image_format: str, quality: Optional[int], source_info) -> bytes:
    out = io.BytesIO()
    first = frames[0]
    if image_format == "JPEG" and first.mode not in ("RGB", "L", "CMYK"):
        frames = [f.convert("RGB") for f in frames]
    elif image_format in ("BMP", "PNG") and first.mode not in ("1", "L", "P", "RGB", "RGBA", "LA"):
        frames = [f.convert("RGB") for f in frames]
    options = {"quality": quality or DEFAULT_QUALITY} if image_format in ("JPEG", "WEBP") else {}
    if len(frames) > 1:
        frames[0].save(out, image_format, save_all=True, append_images=frames[1:],
                       loop=source_info.get("loop", 0), duration=source_info.get("duration", 100))
    else:
        frames[0].save(out, image_format, **options)
    return out.getvalue()


def _output_quality(action: Optional[Quality], image) -> Optional[int]:
    """OSS's quality rules ("质量变换"): Q_ compresses to Q but never above the source's own quality;
    q_ is that share of a JPEG source's quality (of any other source's, taken as Q_). A JPEG's
    quality is estimated from its tables (jpeg_quality.py); other sources count as 100."""
    if action is None:
        return None
    source = jpeg_quality.estimate(getattr(image, "quantization", None)) if image.format == "JPEG" else None
    if action.absolute or source is None:
        return min(action.value, source or 100)
    return max(1, round(source * action.value / 100))


def _info(image, size: int) -> Tuple[bytes, str]:
    width, height = image.size
    body = {"FileSize": {"value": str(size)}, "Format": {"value": OSS_NAMES[image.format]},
            "ImageHeight": {"value": str(height)}, "ImageWidth": {"value": str(width)}}
    return json.dumps(body).encode("utf-8"), "application/json"


def render(handle: BinaryIO, size: int, actions: Sequence[Action]) -> Tuple[bytes, str]:
    """(body, Content-Type) of the processed object: the source bytes themselves when no step
    changes anything. OssError 400 for a source that is not an image OSS reads or is over a limit."""
    if size > MAX_SOURCE_BYTES:
        raise _too_large("The image is larger than 20 MB.")
    ImageSequence = _pillow()[2]
    with _ONE_AT_A_TIME:
        image = _open(handle)
        if isinstance(actions[0], Info):
            return _info(image, size)
        source_format = image.format
        steps, largest = _plan(actions, image.size, source_format == "GIF")
        out_format = next((a.pillow for a in reversed(actions) if isinstance(a, Format)), source_format)
        quality = _output_quality(next((a for a in reversed(actions) if isinstance(a, Quality)), None), image)
        if all(step is None for step in steps) and out_format == source_format and quality is None:
            handle.seek(0)
            return handle.read(), FORMATS[source_format]
        first = next((i for i, step in enumerate(steps) if step is not None), None)
        if source_format == "JPEG" and first is not None and isinstance(actions[first], Resize):
            image.draft("RGB", steps[first][:2])  # decode at a fraction of the size where it can
        frames = _frame_count(image, max(image.size[0] * image.size[1], largest))
        # An animation stays one through resize and crop into a GIF (OSS: other actions give a still).
        animate = (frames > 1 and out_format == "GIF"
                   and all(isinstance(a, (Resize, Crop)) for a, step in zip(actions, steps) if step is not None))
        try:
            sources = [f.copy() for f in ImageSequence.Iterator(image)] if animate else [image]
            body = _encode([_apply(f, actions, steps) for f in sources], out_format, quality, image.info)
        except (OSError, ValueError, SyntaxError, EOFError):  # a truncated or damaged image
            raise OssError(400, "BadRequest", "not supported format.", ec="0040-00000005") from None
        return body, FORMATS[out_format]
