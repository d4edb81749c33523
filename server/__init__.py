"""Signing server for WeChat mini-program uploads straight to Alibaba Cloud OSS."""
from __future__ import annotations

import logging
import os
from typing import Mapping, Optional

from flask import Flask

from .clock import utc_now
from .config import ConfigError, Settings, describe_missing_cloud, load_settings

log = logging.getLogger("server")


def create_app(test_config: Optional[Mapping] = None) -> Flask:
    """App factory. Without test_config, settings come from the environment and `.env`.

    test_config holds settings by their environment names plus optional objects for tests:
    CLOCK (callable returning an aware datetime), CREDENTIAL_SOURCE, NEW_ID. A test app without
    DATABASE_URL gets a private SQLite file in a temporary folder (tables made on first use), never
    the developer's instance/uploads.sqlite3.
    """
    from . import api, auth, errors, logs
    from .credentials import build_cache
    from .db import Database, url_secrets
    from .upload_forms import UploadSigner

    app = Flask(__name__, instance_relative_config=True)
    if test_config is None:
        from dotenv import load_dotenv

        load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)
        source = os.environ
    else:
        source = test_config
    settings: Settings = load_settings(source)
    clock = (test_config.get("CLOCK") or utc_now) if test_config is not None else utc_now

    app.config.from_mapping(
        SETTINGS=settings,
        TESTING=bool(test_config and test_config.get("TESTING")),
        # The signer never receives file bytes; a login body is a few dozen bytes.
        MAX_CONTENT_LENGTH=16 * 1024,
    )
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    database_url = settings.database_url or _default_database_url(app, test_config)
    logs.configure_logging(
        secrets=[settings.access_key_secret, settings.local_access_key_secret, settings.wechat_app_secret, settings.secret_key,
                 *url_secrets(database_url)]
    )
    if settings.trust_proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trust_proxy_hops, x_proto=settings.trust_proxy_hops)

    credentials = build_cache(settings, clock, (test_config or {}).get("CREDENTIAL_SOURCE"))
    app.extensions["upload_signer"] = UploadSigner(settings, credentials, clock, (test_config or {}).get("NEW_ID"))

    app.extensions["auth"] = _build_auth(settings, clock)
    database = app.extensions["db"] = Database(database_url, clock)

    errors.register_error_handlers(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)

    hint = describe_missing_cloud(settings)
    if hint:
        log.info(hint)
    _announce_auth(settings)
    if test_config is None or settings.database_url:
        database.start()
    credentials.start()
    return app


def _default_database_url(app: Flask, test_config: Optional[Mapping]) -> str:
    from .db import default_url

    if test_config is None:
        return default_url(app.instance_path)
    import shutil
    import tempfile
    import weakref

    folder = tempfile.mkdtemp(prefix="oss-kit-test-db-")
    weakref.finalize(app, shutil.rmtree, folder, True)
    return default_url(folder)


def _build_auth(settings, clock):
    from .auth import Auth
    from .ratelimit import RateLimits

    tokens = wechat = None
    if settings.auth_required:
        from .sessions import SessionTokens
        from .wechat import WeChatClient

        tokens = SessionTokens(settings.secret_key, settings.session_ttl_seconds, clock)
        wechat = WeChatClient(settings.wechat_appid, settings.wechat_app_secret, settings.wechat_api_base)
    return Auth(settings, tokens, wechat, RateLimits(settings.ratelimit_storage_uri))


def _announce_auth(settings) -> None:
    if settings.auth_required:
        log.info("登录校验已开启: 只有通过 wx.login 登录的用户才能拿到上传签名")
    elif settings.auth_explicitly_off and not settings.is_local:
        log.warning(
            "!!! AUTH_REQUIRED=false: 签名接口对所有人开放, 任何人都能往你的 Bucket 上传文件并产生费用。"
            "只应在内网调试时这样做 !!!"
        )
    elif settings.auth_explicitly_off:
        log.info("AUTH_REQUIRED=false: 签名接口不要求登录")
    else:
        log.info("本地模式未配置 WECHAT_APPID / WECHAT_APP_SECRET: 签名接口不要求登录")


__all__ = ["create_app", "ConfigError"]
