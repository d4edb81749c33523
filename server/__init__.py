"""Signing server for WeChat mini-program uploads straight to Alibaba Cloud OSS."""
from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from typing import Mapping, Optional

from flask import Flask

from .config import ConfigError, Settings, describe_missing_cloud, load_settings

log = logging.getLogger("server")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def create_app(test_config: Optional[Mapping] = None) -> Flask:
    """App factory. Without test_config, settings come from the environment and `.env`.

    test_config holds settings by their environment names plus optional objects for tests:
    CLOCK (callable returning an aware datetime), CREDENTIAL_SOURCE, NEW_ID.
    """
    from . import api, errors, logs
    from .credentials import build_cache
    from .signer import UploadSigner

    app = Flask(__name__, instance_relative_config=True)
    if test_config is None:
        from dotenv import load_dotenv

        load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)
        source = os.environ
    else:
        source = test_config
    settings: Settings = load_settings(source)
    clock = (test_config.get("CLOCK") or utc_now) if test_config is not None else utc_now

    app.config.from_mapping(SETTINGS=settings, TESTING=bool(test_config and test_config.get("TESTING")))
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    logs.configure_logging(secrets=[settings.access_key_secret, settings.local_access_key_secret])

    credentials = build_cache(settings, clock, (test_config or {}).get("CREDENTIAL_SOURCE"))
    app.extensions["upload_signer"] = UploadSigner(settings, credentials, clock, (test_config or {}).get("NEW_ID"))

    errors.register_error_handlers(app)
    app.register_blueprint(api.bp)

    hint = describe_missing_cloud(settings)
    if hint:
        log.info(hint)
    credentials.start()
    return app


__all__ = ["create_app", "ConfigError"]
