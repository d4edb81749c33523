"""Draw the mini-program's tab bar icons and the empty-state picture into miniprogram/images/.

Run: .venv/bin/python tools/draw_icons.py [folder] (Pillow is in the test extras; the folder defaults
to miniprogram/images). The output is deterministic: tests/test_icons.py draws them again and
compares them with the committed PNGs. Tab bar icons are 81x81 PNG, each
under WeChat's 40 KB limit; grey for the tab bar's `color`, green for its `selectedColor`.
"""

import sys
from pathlib import Path

from PIL import Image, ImageDraw

IMAGES = Path(__file__).resolve().parent.parent / "miniprogram" / "images"
GREY = (100, 106, 115, 255)  # #646a73, the tab bar's text colour
GREEN = (7, 193, 96, 255)  # #07c160, the accent colour
PALE = (220, 224, 229, 255)
SIZE = 81
SCALE = 8  # drawn large, then scaled down: smooth edges


def canvas(size):
    return Image.new("RGBA", (size * SCALE, size * SCALE), (0, 0, 0, 0))


def finish(image, size, path):
    image.resize((size, size), Image.LANCZOS).save(path, optimize=True)


def upload_icon(colour):
    """An arrow rising out of a tray."""
    image = canvas(SIZE)
    draw = ImageDraw.Draw(image)
    s = SCALE
    width = 6 * s
    # the tray: open at the top
    draw.line([(14 * s, 46 * s), (14 * s, 64 * s), (67 * s, 64 * s), (67 * s, 46 * s)], fill=colour, width=width, joint="curve")
    # the arrow
    draw.line([(40.5 * s, 50 * s), (40.5 * s, 16 * s)], fill=colour, width=width)
    draw.line([(26 * s, 30 * s), (40.5 * s, 15 * s), (55 * s, 30 * s)], fill=colour, width=width, joint="curve")
    return image


def files_icon(colour):
    """A folder with a tab."""
    image = canvas(SIZE)
    draw = ImageDraw.Draw(image)
    s = SCALE
    width = 6 * s
    draw.line(
        [(12 * s, 64 * s), (12 * s, 18 * s), (33 * s, 18 * s), (39 * s, 26 * s), (69 * s, 26 * s), (69 * s, 64 * s), (12 * s, 64 * s)],
        fill=colour,
        width=width,
        joint="curve",
    )
    draw.line([(12 * s, 36 * s), (69 * s, 36 * s)], fill=colour, width=width)
    return image


def empty_picture():
    """我的文件's empty state: a pale folder with a green plus."""
    size = 160
    image = canvas(size)
    draw = ImageDraw.Draw(image)
    s = SCALE
    draw.rounded_rectangle([(20 * s, 40 * s), (140 * s, 130 * s)], radius=12 * s, fill=PALE)
    draw.rounded_rectangle([(20 * s, 28 * s), (70 * s, 52 * s)], radius=10 * s, fill=PALE)
    draw.ellipse([(98 * s, 92 * s), (146 * s, 140 * s)], fill=GREEN)
    draw.line([(122 * s, 104 * s), (122 * s, 128 * s)], fill=(255, 255, 255, 255), width=6 * s)
    draw.line([(110 * s, 116 * s), (134 * s, 116 * s)], fill=(255, 255, 255, 255), width=6 * s)
    return image, size


def main(folder=IMAGES):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, draw in (("tab-upload", upload_icon), ("tab-files", files_icon)):
        finish(draw(GREY), SIZE, folder / f"{name}.png")
        finish(draw(GREEN), SIZE, folder / f"{name}-active.png")
    picture, size = empty_picture()
    finish(picture, size, folder / "empty-files.png")


if __name__ == "__main__":
    main(*sys.argv[1:2])
