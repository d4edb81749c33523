"""Routes of the signer itself: the upload form, what the mini-program needs to know, health."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from . import metrics
from .auth import signed_in_folder
from .http_json import no_store

bp = Blueprint("api", __name__)


def _signer():
    return current_app.extensions["upload_signer"]


@bp.get("/generate_signature")
def generate_signature():
    folder = signed_in_folder()
    signed = _signer().sign(request.args.get("filename"), request.args.get("size"), folder)
    metrics.SIGNATURES.inc()
    return no_store(jsonify(signed))


@bp.get("/api/config")
def client_config():
    """Asked first by the mini-program: whether to wx.login at all, and the limits to check locally."""
    settings = _signer().settings
    return jsonify({
        "loginRequired": settings.auth_required,
        "maxSize": settings.max_size,
        "allowedExtensions": sorted(settings.allowed_extensions),
        "callback": settings.callback_enabled,
        "multipartPartSize": settings.multipart_part_size,
    })


@bp.get("/healthz")
def healthz():
    settings = _signer().settings
    credentials = _signer().credentials.status()
    database = "ok" if current_app.extensions["db"].ping() else "down"
    return jsonify(
        {
            "status": "ok" if credentials["usable"] and database == "ok" else "degraded",
            "mode": settings.credentials_type,
            "bucket": settings.bucket,
            "region": settings.region,
            "credentials": credentials,
            "database": database,
            "auth": "required" if settings.auth_required else "off",
        }
    )
