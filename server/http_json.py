"""JSON in and out of the routes: a request body as an object (or a clear 400), no-store answers."""
from __future__ import annotations

import json

from flask import request

from .errors import ApiError


def json_object(code: str = "InvalidRequestBody", message: str = "请求体须为 JSON 对象") -> dict:
    """The request body as a JSON object; ApiError 400 `code` for anything else.

    Parsed from the raw bytes with the standard parser: a 5,000-deep array raises RecursionError
    there, which Flask's get_json() would let through as a 500.
    """
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, code, message)
    return body


def no_store(response):
    """Forms, records and presigned URLs are bearer capabilities: no proxy or client may keep them."""
    response.headers["Cache-Control"] = "no-store"
    return response
