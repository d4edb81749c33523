"""Binding the development servers of `python -m server` (the signer, and the emulator in local mode)."""
from __future__ import annotations

import errno
import socket
import sys
from typing import Optional

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server, select_address_family


class PathOnlyLogHandler(WSGIRequestHandler):
    """werkzeug's request handler, but the access log shows the path without the query string:
    queries carry file names, and presigned URLs carry signatures and security tokens."""

    def log_request(self, code="-", size="-") -> None:
        path = self.path.split("?", 1)[0]
        self.log("info", '"%s %s %s" %s %s', self.command, path, self.request_version, code, size)


def listening_server(host: str, port: int, app) -> BaseWSGIServer:
    """A threaded werkzeug server on host:port; OSError if the port cannot be bound.

    werkzeug's own bind prints an English hint and calls sys.exit(1); binding here first lets
    the caller print one clear line and choose the exit status.
    """
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        return make_server(host, port, app, threaded=True, fd=sock.fileno(), request_handler=PathOnlyLogHandler)
    finally:
        sock.close()  # the server holds its own duplicate of the descriptor


def bind_or_explain(host: str, port: int, app, what: str, port_setting: str) -> Optional[BaseWSGIServer]:
    """The bound server, or None after one line on stderr naming the setting to change."""
    try:
        return listening_server(host, port, app)
    except OSError as error:
        if error.errno in (errno.EADDRINUSE, errno.EACCES):
            fix = f"换一个 {port_setting}，或先停止占用端口的进程"
        else:  # an address this machine does not have, or a name that does not resolve
            fix = "检查 HOST：本机开发用 127.0.0.1，局域网访问用 0.0.0.0"
        print(f"无法监听 {host}:{port}（{what}）：{error.strerror or error}。{fix}", file=sys.stderr)
        return None


def serve_until_interrupted(server: BaseWSGIServer) -> int:
    """Serve until Ctrl+C; the exit status of a clean stop."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
