"""Routes of large-file uploads: `/api/multipart...` (the work is in multipart_uploads.py)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

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


@bp.post("/api/multipart/<upload_id>/parts")
def sign_parts(upload_id: str):
    folder = signed_in_folder()
    return no_store(jsonify(_uploads().sign_parts(upload_id, folder, json_object().get("partNumbers"))))


@bp.get("/api/multipart/<upload_id>")
def upload_status(upload_id: str):
    return no_store(jsonify(_uploads().status(upload_id, signed_in_folder())))


@bp.post("/api/multipart/<upload_id>/complete")
def complete_upload(upload_id: str):
    return no_store(jsonify(_uploads().complete(upload_id, signed_in_folder()).to_json()))


@bp.delete("/api/multipart/<upload_id>")
def abort_upload(upload_id: str):
    _uploads().abort(upload_id, signed_in_folder())
    return "", 204
