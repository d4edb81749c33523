"""Every error the signer returns is JSON {"error": {"code", "message"}}: never HTML, never a traceback."""
from __future__ import annotations

import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("server")

# HTTP errors without a code of their own (werkzeug's, and gunicorn's: deploy/gunicorn.conf.py).
HTTP_CODES = {
    400: ("BadRequest", "请求格式不正确"),
    401: ("Unauthorized", "请先登录"),
    403: ("Forbidden", "请求被拒绝"),
    404: ("NotFound", "没有这个接口"),
    405: ("MethodNotAllowed", "该接口不支持这个 HTTP 方法"),
    413: ("RequestTooLarge", "请求太大"),
    414: ("RequestLineTooLong", "请求行太长"),
    417: ("ExpectationFailed", "不支持的 Expect 头"),
    429: ("TooManyRequests", "请求太频繁，请稍后再试"),
    431: ("RequestHeadersTooLarge", "请求头太大或太多"),
    500: ("InternalError", "服务器内部错误"),
    501: ("NotImplemented", "不支持的请求"),
}


class ApiError(Exception):
    """An error the API answers as JSON with its own status and code; domain errors subclass it."""

    def __init__(self, status: int, code: str, message: str, headers: dict = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers: dict = None):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app) -> None:
    from .metrics import dependency_failed

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        dependency_failed(error.code)
        return error_response(error.status, error.code, error.message, error.headers)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        code, message = HTTP_CODES.get(error.code, ("HttpError", f"请求无法处理（HTTP {error.code}）"))
        headers = {}
        if error.code == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return error_response(error.code or 500, code, message, headers)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unexpected error")
        return error_response(500, "InternalError", "服务器内部错误")
