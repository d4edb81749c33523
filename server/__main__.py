"""`python -m server`: the signer on HOST:PORT (and, in local mode, the OSS emulator beside it)."""
from __future__ import annotations

import logging
import sys

from . import create_app
from .config import ConfigError
from .serving import bind_or_explain, serve_until_interrupted

log = logging.getLogger("server")


def main() -> int:
    try:
        app = create_app()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    settings = app.config["SETTINGS"]
    server = bind_or_explain(settings.host, settings.port, app, "签名服务", "PORT")
    if server is None:
        return 2
    if settings.is_local:
        from oss_emulator.serve import start_emulator

        if start_emulator(settings, app.instance_path) is None:
            server.server_close()
            return 2
    log.info("签名服务已启动：http://%s:%s （模式 %s）", settings.host, settings.port, settings.credentials_type)
    return serve_until_interrupted(server)


if __name__ == "__main__":
    sys.exit(main())
