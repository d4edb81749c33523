"""GET /metrics: for the operator's Prometheus on this host, or anyone holding METRICS_TOKEN.

Anything else gets the same 404 as an unknown path. A request that came through a proxy (it carries
X-Forwarded-For; nginx on this host adds it) is never taken as local, whatever TRUST_PROXY_HOPS
says: the address werkzeug saw on the socket is what counts, and deploy/nginx.conf refuses
/metrics before it reaches us anyway.
"""
from __future__ import annotations

import hmac
import ipaddress
import time

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import NotFound

from . import metrics

bp = Blueprint("metrics", __name__)


def _socket_address() -> str:
    original = request.environ.get("werkzeug.proxy_fix.orig", {})  # before ProxyFix rewrote it
    return original.get("REMOTE_ADDR") or request.environ.get("REMOTE_ADDR", "")


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def allowed() -> bool:
    token = current_app.config["SETTINGS"].metrics_token
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {token}".encode("utf-8")):
            return True
    return _is_loopback(_socket_address()) and "X-Forwarded-For" not in request.headers \
        and "Forwarded" not in request.headers


@bp.get("/metrics")
def scrape():
    if not allowed():
        raise NotFound()
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})


def timing(app) -> None:
    """Every request's time into oss_signer_request_seconds, by route rule (not by path: ids and keys
    would make a series per file)."""

    @app.before_request
    def _start():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _stop(response):
        started = g.get("metrics_started")
        if started is not None:
            rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
            metrics.observe(rule, started)
        return response
