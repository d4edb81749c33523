"""gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py` (see docs/deploy-ecs.md).

nginx terminates TLS on 443 and proxies to 127.0.0.1:5000; this process is never exposed directly.
Command-line options (`-b`, `-w`, ...) override what is set here.
"""
import json
import os
import sys

from gunicorn import util

wsgi_app = "server:create_app()"

# Loopback only: the security group opens 443 (nginx), never 5000.
bind = ["127.0.0.1:5000"]


def _settings() -> dict:
    """The environment over the working directory's `.env` (as the app reads them), without changing os.environ."""
    from dotenv import dotenv_values

    return {**dotenv_values(os.path.join(os.getcwd(), ".env")), **os.environ}


def _worker_plan(settings) -> tuple:
    """(workers, why). Python runs one thread at a time per process, so a worker per core is what uses
    the machine; but rate limits kept in memory are counted per process, so only a shared store
    (Redis) lets several workers count against the same limits."""
    storage = (settings.get("RATELIMIT_STORAGE_URI") or "memory://").strip()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if storage.startswith(("redis://", "rediss://", "redis+unix://")):
        return cores, f"{cores} 个 worker（每个 CPU 核一个）：限流计数在 Redis 中，各 worker 共用"
    return 1, (f"只用 1 个 worker（本机有 {cores} 个 CPU 核）：RATELIMIT_STORAGE_URI 是 memory:// ，限流计数在进程内，"
               f"多个 worker 会让实际上限成倍放大；设置 RATELIMIT_STORAGE_URI=redis://... 后自动每核一个 worker")


# Signing is a few HMACs; requests mostly wait on WeChat or STS, so threads serve them well.
workers, _workers_reason = _worker_plan(_settings())
worker_class = "gthread"
threads = 8
timeout = 30
graceful_timeout = 20
# A kept-alive connection that sends nothing gives its thread back after 2 s. A client that sends
# half a request and stalls still holds a thread while it does: nginx in front (deploy/nginx.conf)
# is what absorbs slow clients, reading each request completely before passing it on.
keepalive = 2
max_requests = 0

# Requests to the signer are tiny; refuse oversized request lines and headers early.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# nginx on this host sets X-Forwarded-For / X-Forwarded-Proto; the app trusts them through
# TRUST_PROXY_HOPS=1 (ProxyFix), gunicorn only for the scheme.
forwarded_allow_ips = "127.0.0.1"

# Logs go to stdout/stderr, i.e. the systemd journal. The access log records the path without
# the query string, and never a request header such as Authorization (the login token).
accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%({x-forwarded-for}i)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms "%(a)s"'

# systemd manages the process; no runtime control socket (gunicorn >= 27 creates one otherwise).
control_socket_disable = True

# The errors gunicorn answers itself (request line or headers too large, a malformed request) in
# the API's JSON shape instead of gunicorn's HTML page. Workers are forked after this file is read,
# so they inherit the replacement.
def _json_error(sock, status_int, reason, mesg):
    from server.errors import HTTP_CODES  # imported in the worker, after the app (see on_starting)

    code, message = HTTP_CODES.get(status_int, ("HttpError", f"请求无法处理（HTTP {status_int}）"))
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode("utf-8")
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


util.write_error = _json_error


def _metrics_folder(arbiter):
    """Several workers: each writes its metrics to files in one folder, and /metrics sums them
    (prometheus_client's multiprocess mode). The folder is emptied at start, as that mode requires."""
    if arbiter.num_workers <= 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="oss-signer-metrics-")


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_starting(arbiter):
    """Check the settings once in the master, so a mistake is one clear line and exit status 2,
    not a traceback from every worker that fails to boot."""
    from dotenv import load_dotenv

    # The same `.env` the app reads: the working directory (WorkingDirectory= in the unit, or --chdir).
    load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)
    from server.config import ConfigError, load_settings

    _metrics_folder(arbiter)
    if arbiter.num_workers == workers:
        arbiter.log.info(_workers_reason)
    elif arbiter.num_workers > 1 and workers == 1:  # -w or WEB_CONCURRENCY chose more than memory:// allows
        arbiter.log.warning("%d 个 worker 但 RATELIMIT_STORAGE_URI 是 memory:// ：每个 worker 各自计数，实际限流上限是设置的 "
                            "%d 倍；多 worker 请用 redis://", arbiter.num_workers, arbiter.num_workers)

    try:
        settings = load_settings(os.environ)
    except ConfigError as error:
        print(error, file=sys.stderr, flush=True)
        sys.exit(2)
    else:
        if settings.is_local:
            # gunicorn serves the signer only; local mode's emulator runs under `make run`.
            print("警告：未配置云端凭证，gunicorn 以本地模式运行，但不会启动本地 OSS 模拟器。生产部署请按 "
                  "docs/deploy-ecs.md 配置 .env；本地开发请用 make run", file=sys.stderr, flush=True)
    finally:
        # Workers are forked from this process: they must import the app themselves, not inherit
        # the modules this check loaded (a stale copy after an upgrade).
        for name in [m for m in sys.modules if m == "server" or m.startswith("server.")]:
            del sys.modules[name]
