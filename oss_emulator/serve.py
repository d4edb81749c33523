"""Run the emulator beside the signer in `python -m server` (local mode), or alone (`python -m
oss_emulator`); the console's address, with a console token when it listens beyond loopback."""
from __future__ import annotations

import ipaddress
import logging
import secrets
import sys
import threading
from typing import Optional

from werkzeug.serving import BaseWSGIServer

from server.config import display_host
from server.serving import bind_or_explain
from .app import create_emulator_app, default_storage_dir
from .listing import CONSOLE_PATH

log = logging.getLogger("oss_emulator")


def start_emulator(settings, instance_path: str) -> Optional[BaseWSGIServer]:
    """Bind LOCAL_OSS_PORT and serve in a daemon thread; None (after one line on stderr) if the port is taken."""
    directory = settings.local_oss_dir or default_storage_dir(settings.bucket, instance_path)
    try:
        app = create_emulator_app(settings, storage_dir=directory)
    except OSError as error:
        print(f"本地 OSS 模拟器无法使用目录 {directory}：{error.strerror or error}。检查 LOCAL_OSS_DIR", file=sys.stderr)
        return None
    server = bind_or_explain(settings.host, settings.local_oss_port, app, "本地 OSS 模拟器", "LOCAL_OSS_PORT")
    if server is None:
        return None
    threading.Thread(target=server.serve_forever, name="local-oss", daemon=True).start()
    base = f"http://{display_host(settings.host)}:{settings.local_oss_port}"
    log.info("本地 OSS 模拟器已启动：监听 %s:%s（Bucket %s，地域 %s）", settings.host, settings.local_oss_port,
             settings.bucket, settings.region)
    log.info("模拟器的数据（内部格式：blobs/ 存内容，meta/ 存元数据；看文件请打开下面的列表页）保存在：%s", app.directory)
    show_console(app, settings.host, base)
    log.info("微信开发者工具：详情 → 本地设置 → 勾选「不校验合法域名、web-view（业务域名）、TLS 版本以及 HTTPS 证书」，"
             "否则上传到 %s 会被拦截", settings.upload_host)
    return server


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def show_console(app, host: str, base: str) -> None:
    """Print where the console is. Beyond loopback anyone on the network could open it, so it then
    needs a fresh token, printed here once (on the terminal, not through the log)."""
    if is_loopback(host):
        log.info("查看已上传的文件：%s%s", base, CONSOLE_PATH)
        return
    app.console_token = secrets.token_urlsafe(16)
    print(f"查看已上传的文件（模拟器在局域网上监听，列表页需要这个令牌）：{base}{CONSOLE_PATH}?token={app.console_token}",
          file=sys.stderr, flush=True)
