"""What an operator watches, as Prometheus metrics: counters the routes bump, one latency histogram.

Under gunicorn with several workers every worker counts for itself; prometheus_client's
multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by deploy/gunicorn.conf.py) adds them up when
/metrics is read. Labels are a closed set (route rules, reasons, dependencies): never a user, a
key or anything a client chooses, so the number of series stays bounded.
"""
from __future__ import annotations

import os
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import REGISTRY

SIGNATURES = Counter("oss_signer_signatures", "Upload forms signed (GET /generate_signature answered 200)")
UPLOADS_RECORDED = Counter("oss_signer_uploads_recorded", "Upload records created, by the path that created them",
                           ["path"])
CALLBACK_REJECTED = Counter("oss_signer_callback_rejected", "Upload callbacks refused, by reason", ["reason"])
QUOTA_REFUSALS = Counter("oss_signer_quota_refusals", "Signs or multipart starts refused by the per-user quota")
DEPENDENCY_ERRORS = Counter("oss_signer_dependency_errors", "Requests answered 503 because a dependency failed",
                            ["dependency"])
REQUEST_SECONDS = Histogram("oss_signer_request_seconds", "Time to answer a request, by route", ["route"],
                            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

RECORD_PATHS = ("callback", "confirm", "multipart", "reconcile")
CALLBACK_REASONS = ("key_url", "signature", "token", "mismatch", "replay", "body", "object")
# The error codes that mean "a system we depend on failed", and which one.
DEPENDENCY_OF_ERROR = {
    "DatabaseUnavailable": "database",
    "RateLimitUnavailable": "redis",
    "CredentialsUnavailable": "sts",
    "StorageUnavailable": "oss",
}

# Every labelled series exists from the start at 0, so rate() and alerts work before the first event.
for _path in RECORD_PATHS:
    UPLOADS_RECORDED.labels(_path)
for _reason in CALLBACK_REASONS:
    CALLBACK_REJECTED.labels(_reason)
for _dependency in DEPENDENCY_OF_ERROR.values():
    DEPENDENCY_ERRORS.labels(_dependency)


def recorded(record, path: str):
    """Count the record if this call created it (a replay or a retry answers the same record again)."""
    if getattr(record, "fresh", False):
        UPLOADS_RECORDED.labels(path).inc()
    return record


def dependency_failed(error_code: str) -> None:
    dependency = DEPENDENCY_OF_ERROR.get(error_code)
    if dependency is not None:
        DEPENDENCY_ERRORS.labels(dependency).inc()


def observe(route: str, started: float) -> None:
    REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)


def exposition() -> tuple:
    """(body, content type) of the current values, summed over gunicorn's workers when there are several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
