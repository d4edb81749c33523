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
    from . import api, auth, errors, files_api, logs, metrics_api, multipart_api
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
    database = app.extensions["db"] = Database(database_url, clock)
    new_id = (test_config or {}).get("NEW_ID")
    callbacks = _build_uploads(app, settings, credentials, clock, new_id)
    app.extensions["upload_signer"] = UploadSigner(settings, credentials, clock, new_id, callbacks,
                                                   app.extensions["quota"])

    app.extensions["auth"] = _build_auth(settings, clock)

    from .file_list import FileIdConverter

    app.url_map.converters["file_id"] = FileIdConverter
    errors.register_error_handlers(app)
    for blueprint in (api.bp, auth.bp, files_api.bp, multipart_api.bp, metrics_api.bp):
        app.register_blueprint(blueprint)
    metrics_api.timing(app)

    hint = describe_missing_cloud(settings)
    if hint:
        log.info(hint)
    _announce_auth(settings)
    if test_config is None or settings.database_url:
        database.start()
    credentials.start()
    return app


def _build_uploads(app: Flask, settings, credentials, clock, new_id):
    """The bucket client and what records uploads; returns the callback service (None when off)."""
    from .callback_token import CallbackTokens
    from .clock import new_object_id
    from .file_list import FileList
    from .multipart_uploads import MultipartUploads
    from .oss_callback import OSS_CALLBACK_PUBLIC_KEY, CallbackKeys
    from .oss_client import BucketClient
    from .quota import Quota
    from .records import Records
    from .upload_callback import UploadCallbacks

    db = app.extensions["db"]
    bucket = BucketClient(settings, credentials, clock)
    records = Records(settings, db, bucket)
    quota = Quota(settings, db, records)
    app.extensions.update(
        bucket=bucket,
        records=records,
        quota=quota,
        file_list=FileList(settings, db, bucket, clock),
        multipart_uploads=MultipartUploads(settings, db, bucket, records, clock, new_id or new_object_id, quota),
    )
    callbacks = None
    if settings.callback_enabled:
        keys = CallbackKeys(settings.callback_public_key or OSS_CALLBACK_PUBLIC_KEY, _emulator_key(app, settings))
        callbacks = UploadCallbacks(settings, keys, CallbackTokens(_callback_secret(settings)), db, records, clock)
        log.info("上传回调已开启：OSS 存好文件后调用 %s/api/oss-callback 记录上传", settings.public_base_url)
    elif not settings.is_local:
        log.info("上传回调未开启（没有设置 PUBLIC_BASE_URL）：上传成功后由小程序调用 POST /api/files/confirm 记录，"
                 "这是唯一的记录途径")
    app.extensions["upload_callbacks"] = callbacks
    return callbacks


def _emulator_key(app: Flask, settings):
    """Local mode only: the emulator's callback key, by the exact URL the emulator names it with."""
    if not settings.is_local:
        return None

    def load() -> bytes:
        from oss_emulator import default_storage_dir
        from oss_emulator.callback import callback_public_key_pem

        return callback_public_key_pem(settings.local_oss_dir or default_storage_dir(settings.bucket, app.instance_path))

    return (f"{settings.upload_host}/oss-emulator/callback_pub_key.pem", load)


def _callback_secret(settings) -> str:
    # Local mode may run without SECRET_KEY; its long-term local secret is just as private here.
    return settings.secret_key or "local-callback:" + settings.local_access_key_secret
def _default_database_url(app: Flask, test_config: Optional[Mapping]) -> str:
    from .db import default_url

    if test_config is None:
        # Under systemd (deploy/oss-signer.service: StateDirectory=) the file system is read-only but
        # for the state directory systemd names here; elsewhere, the instance folder.
        return default_url(os.environ.get("STATE_DIRECTORY", "").split(":")[0] or app.instance_path)
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
        log.info("登录校验已开启：只有通过 wx.login 登录的用户才能拿到上传签名")
    elif settings.auth_explicitly_off and not settings.is_local:
        log.warning(
            "！！！AUTH_REQUIRED=false：签名接口对所有人开放，任何人都能往你的 Bucket 上传文件并产生费用。"
            "只应在内网调试时这样做！！！"
        )
    elif settings.auth_explicitly_off:
        log.info("AUTH_REQUIRED=false：签名接口不要求登录")
    else:
        log.info("本地模式未配置 WECHAT_APPID / WECHAT_APP_SECRET：签名接口不要求登录")


__all__ = ["create_app", "ConfigError"]
