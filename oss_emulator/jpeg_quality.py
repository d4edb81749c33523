"""The quality a JPEG was saved at, estimated from its luminance quantization table: the IJG quality
(1..100) whose table is nearest, as libjpeg, ImageMagick and Pillow number them. OSS's relative
quality `q_` multiplies this (image_process.py); encoders with their own tables (many cameras) get
the nearest IJG number, an estimate as OSS's own must be."""
from __future__ import annotations

import io
from functools import lru_cache
from typing import Mapping, Optional, Sequence, Tuple


@lru_cache(maxsize=1)
def _reference_tables() -> Tuple[Tuple[int, ...], ...]:
    """The luminance table of quality 1..100, read back from Pillow's own encoder (libjpeg), so the
    order of the 64 values is the one Pillow reports for any file."""
    from PIL import Image

    tables = []
    for quality in range(1, 101):
        out = io.BytesIO()
        Image.new("L", (8, 8)).save(out, "JPEG", quality=quality)
        out.seek(0)
        tables.append(tuple(Image.open(out).quantization[0]))
    return tuple(tables)


def estimate(quantization: Optional[Mapping[int, Sequence[int]]]) -> Optional[int]:
    """The IJG quality nearest to table 0 of `quantization` (Pillow's `image.quantization`); None
    without a usable table."""
    if not quantization or 0 not in quantization or len(quantization[0]) != 64:
        return None
    table = tuple(quantization[0])
    distances = [sum(abs(a - b) for a, b in zip(table, reference)) for reference in _reference_tables()]
    return distances.index(min(distances)) + 1
