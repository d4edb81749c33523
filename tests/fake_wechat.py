"""A stand-in for api.weixin.qq.com's jscode2session on 127.0.0.1, for end-to-end login tests.

Codes it accepts: any code starting with `code-`; the openid is `openid-<rest of the code>`.
Special codes: `used` -> 40163, `busy` -> -1, `slow` -> answers after 5 s, `garbage` -> non-JSON.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tests.net import running


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.calls.append(query)
        if url.path != "/sns/jscode2session":
            return self._reply(404, "not found")
        code = query.get("js_code", "")
        if query.get("appid") != self.server.appid or query.get("secret") != self.server.secret:
            return self._reply(200, {"errcode": 40013, "errmsg": "invalid appid"})
        if code == "slow":
            time.sleep(5)
            return self._reply(200, {"errcode": -1, "errmsg": "too late"})
        if code == "garbage":
            return self._reply(200, "<html>oops</html>")
        if code == "busy":
            return self._reply(200, {"errcode": -1, "errmsg": "system error"})
        if code == "used":
            return self._reply(200, {"errcode": 40163, "errmsg": "code been used"})
        if not code.startswith("code-"):
            return self._reply(200, {"errcode": 40029, "errmsg": "invalid code"})
        return self._reply(200, {"openid": "openid-" + code[5:], "session_key": "fake-session-key-secret"})

    def _reply(self, status, body):
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")  # as WeChat does
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


class FakeWeChat:
    def __init__(self, appid="wx-fake-appid", secret="wx-fake-app-secret"):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.calls = []
        self.server.appid = appid
        self.server.secret = secret
        self.appid, self.secret = appid, secret
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._running = running(self.server)

    @property
    def calls(self):
        return self.server.calls

    def __enter__(self):
        self._running.__enter__()
        return self

    def __exit__(self, *exc):
        self._running.__exit__(*exc)


if __name__ == "__main__":  # `python -m tests.fake_wechat` prints its base URL, for manual runs
    with FakeWeChat() as fake:
        print(fake.base, flush=True)
        threading.Event().wait()
