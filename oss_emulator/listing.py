"""`GET /-/console`: the local counterpart of the OSS console's file list, newest first, a page at a time.

`/` is the bucket (ListObjects), as in OSS. The console answers only unsigned requests, so a signed
request for an object named `-/console` still reaches that object. When the emulator listens beyond
loopback (a phone on the LAN), the page lists every object with working links: it then asks for the
console token printed at start-up (`?token=`).

The bucket is private, so every link and thumbnail is a short-lived presigned URL the emulator
makes for itself with the local long-term key (`link`, given by the app).
"""
from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from typing import Callable, List, Optional, Sequence, Tuple
from urllib.parse import quote

from werkzeug.http import parse_options_header

from .storage import StoredObject

CONSOLE_PATH = "/-/console"
PAGE_SIZE = 100
LINK_SECONDS = 300
# Formats the resize action returns in a form browsers show (TIFF is resized as TIFF).
THUMBNAIL_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp")
THUMBNAIL = "image/resize,m_lfit,w_128,h_128"

# (key, extra query parameters) -> a presigned URL path for GET /<key>
Link = Callable[[str, Sequence[Tuple[str, str]]], str]


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


def _row(obj: StoredObject, link: Link) -> str:
    href = escape(link(obj.key, ()), quote=True)
    when = datetime.fromtimestamp(obj.last_modified, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    content_type = obj.content_type
    thumb = ""
    if content_type in THUMBNAIL_TYPES:
        src = escape(link(obj.key, [("x-oss-process", THUMBNAIL)]), quote=True)
        thumb = f'<img src="{src}" alt="" loading="lazy">'
    return (
        f"<tr><td class=t>{thumb}</td><td><a href=\"{href}\">{escape(obj.key)}</a></td>"
        f"<td>{escape(_original_name(obj))}</td>"
        f"<td class=n>{_size(obj.size)}</td><td>{escape(when)}</td><td>{escape(content_type)}</td></tr>"
    )


def _pager(page: int, total: int, token: Optional[str]) -> str:
    extra = f"&amp;token={quote(token, safe='')}" if token else ""
    links = []
    if page > 1:
        links.append(f'<a href="{CONSOLE_PATH}?page={page - 1}{extra}">上一页</a>')
    if page * PAGE_SIZE < total:
        links.append(f'<a href="{CONSOLE_PATH}?page={page + 1}{extra}" rel="next">下一页</a>')
    return f"<p>{' '.join(links)}</p>" if links else ""


def render(bucket: str, region: str, directory: str, objects: List[StoredObject], total: int, page: int,
           link: Link, token: Optional[str] = None) -> str:
    rows = "\n".join(_row(obj, link) for obj in objects) or (
        '<tr><td colspan=6>还没有文件。用小程序上传一个试试。</td></tr>' if total == 0 else
        '<tr><td colspan=6>这一页没有文件。</td></tr>')
    first = (page - 1) * PAGE_SIZE + 1
    shown = f"第 {first}–{first + len(objects) - 1} 个" if objects else "本页为空"
    pager = _pager(page, total, token)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>本地 OSS：{escape(bucket)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:middle}}
td.n{{text-align:right;white-space:nowrap}} td.t{{width:72px}} img{{max-width:64px;max-height:64px}}
code{{background:#f4f4f4;padding:1px 4px}}
</style></head><body>
<h1>本地 OSS 模拟器</h1>
<p>Bucket <code>{escape(bucket)}</code>，地域 <code>{escape(region)}</code>，文件保存在 <code>{escape(directory)}</code>。
共 {total} 个文件，最新的在最前，每页 {PAGE_SIZE} 个（{shown}）。Bucket 是私有的：
下面的链接是带签名的临时链接，{LINK_SECONDS // 60} 分钟内有效，过期后刷新本页即可。</p>
{pager}
<table><thead><tr><th>预览</th><th>Key</th><th>原文件名</th><th>大小</th><th>上传时间</th><th>类型</th></tr></thead>
<tbody>
{rows}
</tbody></table>
{pager}
</body></html>
"""


def token_refused() -> str:
    return ("<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>需要控制台令牌</title></head>"
            "<body><p>这个模拟器在局域网上监听，文件列表页需要启动时打印的控制台令牌："
            "请打开启动日志中带 <code>?token=</code> 的完整地址。</p></body></html>\n")
