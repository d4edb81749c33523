"""Login (wx.login code -> bearer token) and the per-request user check."""
from __future__ import annotations

import re
from typing import Optional

from flask import Blueprint, current_app, jsonify, request

from .errors import ApiError
from .http_json import json_object

_CODE = re.compile(r"[\x21-\x7e]{1,256}")

bp = Blueprint("auth", __name__)


class Auth:
    """What login needs at request time; `tokens` and `wechat` are None while login is off."""

    def __init__(self, settings, tokens, wechat, limits):
        self.settings = settings
        self.tokens = tokens
        self.wechat = wechat
        self.limits = limits

    @property
    def required(self) -> bool:
        return self.settings.auth_required

    def current_folder(self) -> str:
        """The caller's upload sub-folder, e.g. 'a1b2.../' ('' while login is off); ApiError 401
        without a valid token."""
        if not self.required:
            return ""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        openid: Optional[str] = self.tokens.verify(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if openid is None:
            message = "请先登录" if not header else "登录已失效，请重新登录"
            raise ApiError(401, "Unauthorized", message, {"WWW-Authenticate": 'Bearer realm="oss-upload"'})
        return self.tokens.folder_for(openid) + "/"

    def limit_user(self, folder: str) -> None:
        """Count one signing-class request against the user's quota (only with login on: without
        login there is no user to count)."""
        if folder:
            self.limits.hit(self.settings.sign_rate_limit, "sign-user", folder.rstrip("/"))


def current_auth() -> Auth:
    return current_app.extensions["auth"]


def signed_in_folder() -> str:
    """For routes that act for a user: the login check, then one request on the user's quota."""
    if request.method == "HEAD":
        # Flask answers HEAD through GET routes; a HEAD must not spend the user's quota.
        raise ApiError(405, "MethodNotAllowed", "该接口不支持这个 HTTP 方法", {"Allow": "GET"})
    auth = current_auth()
    folder = auth.current_folder()
    auth.limit_user(folder)
    return folder


@bp.post("/api/login")
def login():
    auth = current_auth()
    auth.limits.hit(auth.settings.login_rate_limit, "login-ip", request.remote_addr or "-")
    if not auth.required:
        raise ApiError(404, "LoginDisabled", "服务端未开启登录，无需登录即可上传")
    missing = "请求体须为 JSON {\"code\": \"wx.login 返回的 code\"}"
    code = json_object("MissingCode", missing).get("code")
    if not isinstance(code, str) or not code.strip():
        raise ApiError(400, "MissingCode", missing)
    # wx.login codes are short printable ASCII; anything else (a lone surrogate, say) cannot even be
    # put in the URL to WeChat.
    if not _CODE.fullmatch(code.strip()):
        raise ApiError(400, "InvalidCode", "code 格式不对")
    openid = auth.wechat.openid_for(code.strip())
    token, expires_in = auth.tokens.issue(openid)
    response = jsonify({"token": token, "expiresIn": expires_in})
    response.headers["Cache-Control"] = "no-store"
    return response
