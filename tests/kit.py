"""The signer and the local OSS emulator over real HTTP on 127.0.0.1, sharing one fake clock.

`Kit` drives them the way the mini-program and OSS do: log in (through the WeChat stand-in), sign,
upload the form, confirm, list, delete. Used by the records, files and multipart tests.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Optional

import requests

from oss_emulator import create_emulator_app
from server import create_app
from tests.fake_wechat import FakeWeChat
from tests.net import free_port, reserve_port, serve
from tests.ossform import multipart


@dataclass
class Kit:
    app: object
    signer_url: str
    oss_url: str
    clock: object
    config: dict
    emulator: object
    http: requests.Session = field(default_factory=requests.Session)
    tokens: dict = field(default_factory=dict)

    @property
    def db(self):
        return self.app.extensions["db"]

    def headers(self, user: Optional[str]) -> dict:
        if user is None:
            return {}
        if user not in self.tokens:
            response = self.http.post(self.signer_url + "/api/login", json={"code": f"code-{user}"}, timeout=10)
            assert response.status_code == 200, response.text
            self.tokens[user] = response.json()["token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def call(self, method: str, path: str, user: Optional[str] = None, **kwargs):
        return self.http.request(method, self.signer_url + path, headers=self.headers(user), timeout=10, **kwargs)

    def sign(self, filename: str = "照片.jpg", size: int = 5, user: Optional[str] = None) -> dict:
        response = self.call("GET", "/generate_signature", user, params={"filename": filename, "size": size})
        assert response.status_code == 200, response.text
        return response.json()

    def post_form(self, signed: dict, data: bytes, extra=(), drop=(), filename: str = "blob"):
        fields = [(name, value) for name, value in signed["formData"].items() if name not in drop]
        body, content_type = multipart(fields + list(extra), data, filename)
        return self.http.post(signed["host"], data=body, headers={"Content-Type": content_type}, timeout=30)

    def upload(self, filename: str = "照片.jpg", data: bytes = b"hello", user: Optional[str] = None, **kwargs):
        """Sign and post; (signed form, OSS's response)."""
        signed = self.sign(filename, len(data), user)
        return signed, self.post_form(signed, data, **kwargs)

    def confirm(self, key: str, user: Optional[str] = None):
        return self.call("POST", "/api/files/confirm", user, json={"key": key})


def database_on(request, backend: str) -> dict:
    """The kit's settings for one backend: SQLite (the kit's default file) or a fresh database on the
    session's throwaway MariaDB (skipped where there is none)."""
    if backend == "mariadb":
        return {"DATABASE_URL": request.getfixturevalue("mariadb").new_database()}
    return {}


@contextlib.contextmanager
def running_kit(tmp_path, clock, login: bool = False, emulator_calls_back: bool = True, **settings):
    """Both servers on free ports; the signer's PUBLIC_BASE_URL is its real address, so the
    emulator's upload callbacks reach it. With emulator_calls_back=False the forms name a dead
    callback host instead (uploads answer 203), for tests that play OSS's callback themselves."""
    signer_sock, oss_sock = reserve_port(), reserve_port()
    signer_port, oss_port = signer_sock.getsockname()[1], oss_sock.getsockname()[1]
    callback_port = signer_port if emulator_calls_back else free_port()
    with contextlib.ExitStack() as stack:
        config = {
            "TESTING": True, "CREDENTIALS_TYPE": "local", "CLOCK": clock,
            "LOCAL_OSS_DIR": str(tmp_path / "oss"), "LOCAL_OSS_PORT": str(oss_port),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{callback_port}",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'records.sqlite3'}",
            "SIGN_RATE_LIMIT": "1000000/second", "LOGIN_RATE_LIMIT": "1000000/second",
        }
        if login:
            wechat = stack.enter_context(FakeWeChat())
            config.update(WECHAT_APPID=wechat.appid, WECHAT_APP_SECRET=wechat.secret, WECHAT_API_BASE=wechat.base,
                          SECRET_KEY="kit-secret-key-0123456789abcdef")
        config.update(settings)
        app = create_app(config)
        emulator = create_emulator_app(app.config["SETTINGS"], clock=clock)
        oss_url = stack.enter_context(serve(emulator, sock=oss_sock))
        signer_url = stack.enter_context(serve(app, sock=signer_sock))
        kit = Kit(app, signer_url, oss_url, clock, config, emulator)
        stack.callback(kit.http.close)
        yield kit
