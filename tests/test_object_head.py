"""server/object_head.py: the HEAD before every record, outside the SDK (the emulator covers 200 and 404
end to end in test_records.py and others; here what the emulator never does)."""
from __future__ import annotations

import logging
import socketserver

import pytest

from server.object_head import HeadFailed, ObjectHead
from tests.net import free_port, running


class _OneRequestPerConnection(socketserver.StreamRequestHandler):
    """Answers one HEAD as HTTP/1.1 (keep-alive implied), then drops the connection without saying so,
    like a server whose idle keep-alive timeout ran out: the client's next request on it fails."""

    statuses = []

    def handle(self):
        request_line = self.rfile.readline().decode("latin-1")
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        status = self.statuses.pop(0)
        self.server.paths.append(request_line.split(" ")[1])
        self.wfile.write(f"HTTP/1.1 {status} X\r\nContent-Length: 7\r\nETag: \"AB\"\r\n"
                         f"x-oss-request-id: req-{status}\r\n\r\n".encode("ascii"))


def test_answers_none_for_404_retries_a_dropped_connection_and_fails_loudly(caplog):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _OneRequestPerConnection)
    server.paths = []
    _OneRequestPerConnection.statuses[:] = [200, 404, 500]
    head = ObjectHead(f"http://127.0.0.1:{server.server_address[1]}", 1, 1)
    url = f"http://127.0.0.1:{server.server_address[1]}/a/b.jpg?x-oss-signature=secret-bearer-part"
    caplog.set_level(logging.WARNING, "server.oss")
    with running(server):
        status, headers = head.head(url)
        assert status == 200 and headers["content-length"] == "7" and headers["etag"] == '"AB"'
        assert head.head(url) is None  # the kept connection was dropped: one fresh attempt, then 404
        with pytest.raises(HeadFailed):
            head.head(url)
    assert server.paths == ["/a/b.jpg?x-oss-signature=secret-bearer-part"] * 3
    assert "HTTP 500" in caplog.text and "req-500" in caplog.text and "secret-bearer-part" not in caplog.text
    with pytest.raises(HeadFailed):  # nothing listening
        ObjectHead(f"http://127.0.0.1:{free_port()}", 1, 1).head(url)
