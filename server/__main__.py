"""`python -m server`: the signer on HOST:PORT (and, in local mode, the OSS emulator beside it)."""
from __future__ import annotations

import logging
import sys

from . import create_app
from .config import ConfigError
from .local_oss.serve import listening_server

log = logging.getLogger("server")


def main() -> int:
    try:
        app = create_app()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    settings = app.config["SETTINGS"]
    try:
        server = listening_server(settings.host, settings.port, app)
    except OSError as error:
        print(f"无法监听 {settings.host}:{settings.port}: {error.strerror}。换一个 PORT, 或先停止占用端口的进程", file=sys.stderr)
        return 2
    if settings.is_local:
        from .local_oss.serve import start_emulator

        if start_emulator(settings, app.instance_path) is None:
            server.server_close()
            return 2
    log.info("签名服务已启动: http://%s:%s (模式 %s)", settings.host, settings.port, settings.credentials_type)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
