"""Pure: `x-oss-process=image/<action>/<action>/...` taken apart into the actions the emulator models.

Modelled, in any order and applied left to right as OSS does: resize (w, h, l, s, m, limit, color),
crop (x, y, w, h, g), rotate (0..360, clockwise), quality (q relative, Q absolute), format (jpg, png,
webp, bmp, gif, tiff) and info (alone). Any other action or parameter is refused with 400
InvalidArgument even where real OSS would process it, so a client never gets a silent no-op.
How q_ and Q_ relate to the source's own quality is image_process.py's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple, Union

from .errors import OssError
from .numbers import decimal

MAX_OUTPUT_SIDE = 16_384
MODES = ("lfit", "mfit", "fill", "pad", "fixed")
GRAVITIES = ("nw", "north", "ne", "west", "center", "east", "sw", "south", "se")
# format,<name>: OSS's names and Pillow's (heic and avif are OSS's too, not modelled here).
FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "bmp": "BMP", "gif": "GIF", "tiff": "TIFF"}


@dataclass(frozen=True)
class Resize:
    width: Optional[int] = None
    height: Optional[int] = None
    long_side: Optional[int] = None
    short_side: Optional[int] = None
    mode: str = "lfit"
    limit: bool = True
    color: Tuple[int, int, int] = (255, 255, 255)


@dataclass(frozen=True)
class Crop:
    x: int = 0
    y: int = 0
    width: Optional[int] = None  # to the edge when absent
    height: Optional[int] = None
    gravity: str = "nw"


@dataclass(frozen=True)
class Rotate:
    angle: int


@dataclass(frozen=True)
class Quality:
    value: int
    absolute: bool  # Q_ (absolute) or q_ (relative)


@dataclass(frozen=True)
class Format:
    pillow: str


@dataclass(frozen=True)
class Info:
    pass


Action = Union[Resize, Crop, Rotate, Quality, Format, Info]


def invalid(message: str, ec: Optional[str] = None) -> OssError:
    return OssError(400, "InvalidArgument", message, ec=ec)


def _params(name: str, params: str) -> Dict[str, str]:
    values: Dict[str, str] = {}
    for item in params.split(",") if params else []:
        key, sep, value = item.partition("_")
        if not sep or key in values:
            raise invalid(f"The {name} parameter {item!r} is invalid.")
        values[key] = value
    return values


def _number(values: Dict[str, str], key: str, name: str, low: int, high: int) -> Optional[int]:
    if key not in values:
        return None
    value = decimal(values.pop(key), 5)
    if value is None or not low <= value <= high:
        raise invalid(f"The {name} parameter {key} must be an integer in [{low}, {high}].")
    return value


def _no_more(values: Dict[str, str], name: str) -> None:
    if values:
        raise invalid(f"The {name} parameter {sorted(values)[0]!r} is not supported.")


def _resize(params: str) -> Resize:
    values = _params("resize", params)
    spec = {}
    for key, field in (("w", "width"), ("h", "height"), ("l", "long_side"), ("s", "short_side")):
        side = _number(values, key, "resize", 1, MAX_OUTPUT_SIDE)
        if side is not None:
            spec[field] = side
    mode = values.pop("m", "lfit")
    if mode not in MODES:
        raise invalid("The resize mode m is invalid.", "0040-00000311")
    limit = values.pop("limit", "1")
    if limit not in ("0", "1"):
        raise invalid("The resize parameter limit must be 0 or 1.", "0040-00000319")
    color = values.pop("color", "FFFFFF")
    if len(color) != 6 or any(c not in "0123456789abcdefABCDEF" for c in color):
        raise invalid("The resize parameter color must be six hex digits.")
    _no_more(values, "resize")
    if not spec:
        raise OssError(400, "MissingArgument", "The resize action needs w, h, l or s.")
    return Resize(mode=mode, limit=limit == "1", color=tuple(int(color[i:i + 2], 16) for i in (0, 2, 4)), **spec)


def _crop(params: str) -> Crop:
    values = _params("crop", params)
    x = _number(values, "x", "crop", 0, MAX_OUTPUT_SIDE * 4) or 0
    y = _number(values, "y", "crop", 0, MAX_OUTPUT_SIDE * 4) or 0
    width = _number(values, "w", "crop", 1, MAX_OUTPUT_SIDE * 4)
    height = _number(values, "h", "crop", 1, MAX_OUTPUT_SIDE * 4)
    gravity = values.pop("g", "nw")
    if gravity not in GRAVITIES:
        raise invalid("The crop parameter g is invalid.")
    _no_more(values, "crop")
    return Crop(x, y, width, height, gravity)


def _rotate(params: str) -> Rotate:
    angle = decimal(params, 3)
    if angle is None or angle > 360:
        raise invalid("The rotate value must be an integer in [0, 360].")
    return Rotate(angle)


def _quality(params: str) -> Quality:
    values = _params("quality", params)
    relative = _number(values, "q", "quality", 1, 100)
    absolute = _number(values, "Q", "quality", 1, 100)
    _no_more(values, "quality")
    if relative is None and absolute is None:
        raise OssError(400, "MissingArgument", "The quality action needs q or Q.")
    # With both, OSS applies Q (the absolute quality).
    return Quality(absolute, True) if absolute is not None else Quality(relative, False)


def _format(params: str) -> Format:
    if params not in FORMATS:
        raise invalid(f"The format {params!r} is not supported.")
    return Format(FORMATS[params])


_PARSERS = {"resize": _resize, "crop": _crop, "rotate": _rotate, "quality": _quality, "format": _format}


def parse(process: str) -> Tuple[Action, ...]:
    """The actions of `process`; OssError 400 for anything the emulator does not model."""
    category, _, rest = process.partition("/")
    if category != "image":
        raise invalid(f"The process category {category!r} is not supported by the local emulator.")
    if not rest:
        raise invalid("The image process has no action.", "0040-00000212")
    actions = []
    for step in rest.split("/"):
        name, _, params = step.partition(",")
        if name == "info" and not params:
            actions.append(Info())
            continue
        parser = _PARSERS.get(name)
        if parser is None:
            raise invalid(f"The image process action {name!r} is not supported.", "0040-00000213")
        actions.append(parser(params))
    if any(isinstance(a, Info) for a in actions) and len(actions) > 1:
        # Strict reading: info describes the stored image; OSS documents it as an action of its own.
        raise invalid("The info action cannot be combined with other actions.", "0040-00000213")
    return tuple(actions)
