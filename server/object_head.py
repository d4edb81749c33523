"""HEAD of an object with a V4-presigned URL over a kept-alive connection per thread.

Every callback, confirm and multipart completion HEADs the object before recording it. Through
the SDK (its request pipeline, then requests and urllib3) a HEAD cost about 1 ms of CPU more than
the request itself; here it is one presigned URL (presign_v4.py, the same signing the file list's
links use) and one http.client request on a connection the thread keeps open. TLS certificates are
verified (ssl.create_default_context); environment proxies are not used (the bucket's endpoint is
reached directly, as from an ECS instance). The URL is a bearer capability: never logged.
"""
from __future__ import annotations

import http.client
import logging
import ssl
import threading
from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit

log = logging.getLogger("server.oss")

# A kept-alive connection the server closed meanwhile fails on first use: one fresh attempt.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, http.client.BadStatusLine)


class HeadFailed(Exception):
    """OSS could not be reached or answered something other than 200 / 404 (details are logged)."""


class ObjectHead:
    def __init__(self, base_url: str, connect_timeout: float, read_timeout: float):
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._connect_timeout, self._read_timeout = connect_timeout, read_timeout
        self._context = ssl.create_default_context() if self._https else None
        self._local = threading.local()

    def head(self, presigned_url: str) -> Optional[Tuple[int, Dict[str, str]]]:
        """(status 200, lower-cased headers), or None for 404; HeadFailed otherwise."""
        parts = urlsplit(presigned_url)
        target = f"{parts.path}?{parts.query}"
        for attempt in range(2):
            connection = self._connection()
            fresh = connection.sock is None
            try:
                if fresh:
                    connection.connect()
                    connection.sock.settimeout(self._read_timeout)
                connection.request("HEAD", target)
                response = connection.getresponse()
                response.read()
                headers = {name.lower(): value for name, value in response.getheaders()}
                if response.will_close:
                    connection.close()
            except _STALE:
                connection.close()
                if fresh or attempt:
                    log.warning("OSS HeadObject 失败：连接被关闭")
                    raise HeadFailed() from None
                continue
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                log.warning("OSS HeadObject 失败：%s", type(error).__name__)  # the text may hold the URL
                raise HeadFailed() from None
            if response.status == 404:
                return None
            if response.status != 200:
                log.warning("OSS HeadObject 失败：HTTP %s %s (RequestId %s)", response.status,
                            headers.get("x-oss-ec", ""), headers.get("x-oss-request-id", ""))
                raise HeadFailed()
            return response.status, headers
        raise HeadFailed()  # pragma: no cover - the loop returns or raises

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self._https:
                connection = http.client.HTTPSConnection(self._host, self._port, timeout=self._connect_timeout,
                                                         context=self._context)
            else:
                connection = http.client.HTTPConnection(self._host, self._port, timeout=self._connect_timeout)
            self._local.connection = connection
        return connection
