"""Keep the rendered screenshots under 150 KB: a file over the limit becomes a palette PNG (256
colours, fewer if it still exceeds it); smaller ones are left as they are, since a palette merges
the near-white greys of the page. Run: .venv/bin/python tools/screenshots/shrink.py docs/images/*.png"""

import sys
from pathlib import Path

from PIL import Image

LIMIT = 150 * 1024


def shrink(path):
    if path.stat().st_size <= LIMIT:
        return path.stat().st_size
    original = Image.open(path).convert("RGB")
    for colours in (256, 128, 64, 32):
        original.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
        if path.stat().st_size <= LIMIT:
            return path.stat().st_size
    raise SystemExit(f"{path}: still {path.stat().st_size} bytes")


def main(paths):
    for name in paths:
        path = Path(name)
        print(f"{path.name}: {shrink(path) // 1024} KB")


if __name__ == "__main__":
    main(sys.argv[1:])
