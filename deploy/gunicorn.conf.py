"""gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py` (see docs/deploy-ecs.md).

nginx terminates TLS on 443 and proxies to 127.0.0.1:5000; this process is never exposed directly.
Command-line options (`-b`, `-w`, ...) override what is set here.
"""
import os
import sys

wsgi_app = "server:create_app()"

# Loopback only: the security group opens 443 (nginx), never 5000.
bind = ["127.0.0.1:5000"]

# Signing is a few HMACs; requests mostly wait on WeChat or STS, so threads serve them well.
# One worker keeps the in-memory rate limits exact: with more workers (or several machines), set
# RATELIMIT_STORAGE_URI=redis://... so every process counts against the same limits.
workers = 1
worker_class = "gthread"
threads = 8
timeout = 30
graceful_timeout = 20
keepalive = 5
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


def on_starting(arbiter):
    """Check the settings once in the master, so a mistake is one clear line and exit status 2,
    not a traceback from every worker that fails to boot."""
    from dotenv import load_dotenv

    # The same `.env` the app reads: the working directory (WorkingDirectory= in the unit, or --chdir).
    load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)
    from server.config import ConfigError, load_settings

    try:
        settings = load_settings(os.environ)
    except ConfigError as error:
        print(error, file=sys.stderr, flush=True)
        sys.exit(2)
    else:
        if settings.is_local:
            # gunicorn serves the signer only; local mode's emulator runs under `make run`.
            print("警告: 未配置云端凭证, gunicorn 以本地模式运行, 但不会启动本地 OSS 模拟器。生产部署请按 "
                  "docs/deploy-ecs.md 配置 .env; 本地开发请用 make run", file=sys.stderr, flush=True)
    finally:
        # Workers are forked from this process: they must import the app themselves, not inherit
        # the modules this check loaded (a stale copy after an upgrade).
        for name in [m for m in sys.modules if m == "server" or m.startswith("server.")]:
            del sys.modules[name]
