"""HTTP routes of the signer."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from .auth import current_auth
from .errors import ApiError

bp = Blueprint("api", __name__)


def _signer():
    return current_app.extensions["upload_signer"]


@bp.get("/generate_signature")
def generate_signature():
    if request.method == "HEAD":
        # Flask answers HEAD through GET routes; a HEAD must not spend the user's signing quota.
        raise ApiError(405, "MethodNotAllowed", "该接口不支持这个 HTTP 方法", {"Allow": "GET"})
    auth = current_auth()
    folder = auth.current_folder()
    auth.limit_user(folder)
    body = _signer().sign(request.args.get("filename"), request.args.get("size"), folder)
    response = jsonify(body)
    # A signed form is a bearer capability: never let a proxy or the client cache it.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    signer = _signer()
    status = signer.credentials.status()
    return jsonify(
        {
            "status": "ok" if status["usable"] else "degraded",
            "mode": signer.settings.credentials_type,
            "bucket": signer.settings.bucket,
            "region": signer.settings.region,
            "credentials": status,
            "auth": "required" if signer.settings.auth_required else "off",
        }
    )
