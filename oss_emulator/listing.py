"""`GET /`: the local counterpart of the OSS console's file list, newest first."""
from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from typing import List
from urllib.parse import quote

from werkzeug.http import parse_options_header

from .storage import StoredObject

MAX_ROWS = 1000


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def _original_name(obj: StoredObject) -> str:
    """The uploader's file name, from the stored Content-Disposition (filename* wins, as in browsers)."""
    _, options = parse_options_header(obj.headers.get("Content-Disposition", ""))
    return options.get("filename", "")


def _row(obj: StoredObject) -> str:
    href = escape("/" + quote(obj.key, safe="/"), quote=True)
    when = datetime.fromtimestamp(obj.last_modified, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    content_type = obj.content_type
    thumb = ""
    if content_type.startswith("image/") and content_type != "image/svg+xml":
        thumb = f'<img src="{href}" alt="" loading="lazy">'
    return (
        f"<tr><td class=t>{thumb}</td><td><a href=\"{href}\">{escape(obj.key)}</a></td>"
        f"<td>{escape(_original_name(obj))}</td>"
        f"<td class=n>{_size(obj.size)}</td><td>{escape(when)}</td><td>{escape(content_type)}</td></tr>"
    )


def render(bucket: str, region: str, directory: str, objects: List[StoredObject]) -> str:
    shown = objects[:MAX_ROWS]
    more = f"<p>仅显示最新的 {MAX_ROWS} 个, 共 {len(objects)} 个。</p>" if len(objects) > MAX_ROWS else ""
    rows = "\n".join(_row(obj) for obj in shown) or '<tr><td colspan=6>还没有文件。用小程序上传一个试试。</td></tr>'
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>本地 OSS: {escape(bucket)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:middle}}
td.n{{text-align:right;white-space:nowrap}} td.t{{width:72px}} img{{max-width:64px;max-height:64px}}
code{{background:#f4f4f4;padding:1px 4px}}
</style></head><body>
<h1>本地 OSS 模拟器</h1>
<p>Bucket <code>{escape(bucket)}</code>, 地域 <code>{escape(region)}</code>, 文件保存在 <code>{escape(directory)}</code>。
共 {len(objects)} 个文件, 最新的在最前。</p>
{more}
<table><thead><tr><th>预览</th><th>Key</th><th>原文件名</th><th>大小</th><th>上传时间</th><th>类型</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""
