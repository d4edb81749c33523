"""WeChat's code2session: turn a wx.login code into the user's openid.

The session_key WeChat returns alongside is dropped on the spot: we never return, log or store it.
"""
from __future__ import annotations

import json
import logging

import requests

from .errors import ApiError

log = logging.getLogger("server.wechat")

# connect + read stay under 3 s so a dead WeChat becomes a quick 503.
TIMEOUT = (1.0, 1.8)


class LoginFailed(ApiError):
    def __init__(self, status: int, code: str, message: str, retry_after: int = None):
        super().__init__(status, code, message, {"Retry-After": str(retry_after)} if retry_after else None)


# errcode -> (HTTP status, our code, Chinese message)
ERRCODES = {
    40029: (401, "InvalidCode", "登录凭证 code 无效，请重新登录"),
    40163: (401, "InvalidCode", "登录凭证 code 已被使用，请重新登录"),
    45011: (429, "TooManyRequests", "登录太频繁，请稍后再试"),
    40226: (403, "UserBlocked", "该用户被微信判定为高风险，已拒绝登录"),
    -1: (503, "WeChatUnavailable", "微信服务繁忙，请稍后再试"),
}


def _errcode(raw):
    """errcode as an int (0 when absent); None when it is not a number at all."""
    if raw is None:
        return 0
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw.strip())
    return None


class WeChatClient:
    def __init__(self, appid: str, app_secret: str, api_base: str, session: requests.Session = None):
        self._appid = appid
        self._app_secret = app_secret
        self._url = f"{api_base}/sns/jscode2session"
        self._http = session or requests.Session()

    def openid_for(self, code: str) -> str:
        params = {"appid": self._appid, "secret": self._app_secret, "js_code": code, "grant_type": "authorization_code"}
        try:
            response = self._http.get(self._url, params=params, timeout=TIMEOUT)
        except requests.RequestException as error:
            log.warning("WeChat code2session unreachable: %s", type(error).__name__)
            raise LoginFailed(503, "WeChatUnavailable", "暂时连不上微信服务器，请稍后再试") from None
        try:
            # WeChat answers JSON labelled text/plain.
            body = json.loads(response.text)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            log.warning("WeChat code2session: HTTP %s, body is not a JSON object", response.status_code)
            raise LoginFailed(502, "WeChatBadResponse", "微信服务器返回了无法识别的内容，请稍后再试") from None
        errcode = _errcode(body.get("errcode"))
        if errcode is None:
            log.warning("WeChat code2session: errcode of an unexpected type")
            raise LoginFailed(502, "WeChatBadResponse", "微信服务器返回了无法识别的内容，请稍后再试")
        if errcode != 0:
            status, code, message = ERRCODES.get(errcode, (502, "WeChatError", "微信登录失败，请稍后再试"))
            log.warning("WeChat code2session errcode %s (%s)", errcode, str(body.get("errmsg", ""))[:100])
            # WeChat's quota is per minute: tell the client when trying again makes sense.
            raise LoginFailed(status, code, message, retry_after=60 if status == 429 else None)
        openid = body.get("openid")
        if not isinstance(openid, str) or not openid:
            log.warning("WeChat code2session: success without openid")
            raise LoginFailed(502, "WeChatBadResponse", "微信服务器返回了无法识别的内容，请稍后再试")
        return openid
