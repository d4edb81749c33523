"""Routes of large-file uploads: `/api/multipart...` (the work is in multipart_uploads.py)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from . import metrics
from .auth import signed_in_folder
from .http_json import json_object, no_store

bp = Blueprint("multipart", __name__)


def _uploads():
    return current_app.extensions["multipart_uploads"]


@bp.post("/api/multipart")
def start_upload():
    folder = signed_in_folder()
    body = json_object()
    return no_store(jsonify(_uploads().start(body.get("filename"), body.get("size"), folder)))


@bp.post("/api/multipart/<uploadId>/parts")
def sign_parts(uploadId: str):
    folder = signed_in_folder()
    return no_store(jsonify(_uploads().sign_parts(uploadId, folder, json_object().get("partNumbers"))))


@bp.get("/api/multipart/<uploadId>")
def upload_status(uploadId: str):
    return no_store(jsonify(_uploads().status(uploadId, signed_in_folder())))


@bp.post("/api/multipart/<uploadId>/complete")
def complete_upload(uploadId: str):
    record = _uploads().complete(uploadId, signed_in_folder())
    return no_store(jsonify(metrics.recorded(record, "multipart").to_json()))


@bp.delete("/api/multipart/<uploadId>")
def abort_upload(uploadId: str):
    _uploads().abort(uploadId, signed_in_folder())
    return "", 204
