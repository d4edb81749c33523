"""The mini-program's icons are exactly what tools/draw_icons.py draws (reproducible, not hand-edited)."""

import importlib.util
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
IMAGES = REPO / "miniprogram" / "images"


def load_tool():
    spec = importlib.util.spec_from_file_location("draw_icons", REPO / "tools" / "draw_icons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_icons_match_the_drawing_script(tmp_path):
    load_tool().main(tmp_path)
    drawn = sorted(p.name for p in tmp_path.iterdir())
    assert drawn == ["empty-files.png", "tab-files-active.png", "tab-files.png", "tab-upload-active.png", "tab-upload.png"]
    for name in drawn:
        assert (tmp_path / name).read_bytes() == (IMAGES / name).read_bytes(), name


def test_tab_bar_icons_fit_wechat_limits():
    for path in IMAGES.glob("tab-*.png"):
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == (81, 81), path.name
        assert path.stat().st_size <= 40 * 1024, path.name
