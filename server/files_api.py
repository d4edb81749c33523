"""Routes of 我的文件 and of recording uploads: the list, usage, delete, confirm, and OSS's callback."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from . import metrics
from .auth import signed_in_folder
from .errors import ApiError
from .file_list import parse_cursor, parse_id, parse_limit
from .http_json import json_object, no_store
from .records import ObjectNotFound
from .upload_callback import CALLBACK_PATH

bp = Blueprint("files", __name__)


@bp.get("/api/files")
def list_files():
    folder = signed_in_folder()
    page = current_app.extensions["file_list"].page(
        folder, parse_limit(request.args.get("limit")), parse_cursor(request.args.get("cursor")))
    return no_store(jsonify(page))


@bp.get("/api/usage")
def usage():
    """What the signed-in user stores, holds and may store (quota 0: no limit)."""
    folder = signed_in_folder()
    return no_store(jsonify(current_app.extensions["quota"].usage_json(folder)))


@bp.delete("/api/files/<file_id:id>")
def delete_file(id: str):  # noqa: A002 - the path parameter's public name
    folder = signed_in_folder()
    current_app.extensions["file_list"].delete(folder, parse_id(id))
    return "", 204


@bp.post("/api/files/confirm")
def confirm_upload():
    """After an upload whose callback failed (203) or was off: record it from what the bucket holds."""
    folder = signed_in_folder()
    key = json_object().get("key")
    records = current_app.extensions["records"]
    if not isinstance(key, str) or not key:
        raise ApiError(400, "InvalidKey", "请求体须为 JSON {\"key\": \"上传时签名返回的 key\"}")
    if not records.owns(key, folder):
        raise ObjectNotFound()  # someone else's key, or no key of ours at all: as if missing
    return no_store(jsonify(metrics.recorded(records.record(key, folder), "confirm").to_json()))


@bp.post(CALLBACK_PATH)
def oss_callback():
    callbacks = current_app.extensions.get("upload_callbacks")
    if callbacks is None:
        raise ApiError(404, "CallbackDisabled", "服务端未开启上传回调")
    # The raw bytes, before anything parses the body: the signature is over exactly these.
    body = request.get_data(cache=True)
    headers = {name.lower(): value for name, value in request.headers.items()}
    record = callbacks.receive(headers, request.script_root + request.path, request.query_string, body)
    return jsonify(metrics.recorded(record, "callback").to_json())
