"""Logging: one line per event through the app's handler; the SDKs' own handlers removed."""
from __future__ import annotations

import logging
import sys

# The Alibaba Cloud SDKs attach their own stream handlers (so each line prints three times) and
# some force DEBUG; route them through ours at WARNING.
# urllib3 (under requests, under the OSS SDK) logs request paths with their query strings at DEBUG,
# which for a presigned URL would be its signature and security token: WARNING and up only.
SDK_LOGGERS = ("credentials", "darabonba", "alibabacloud_credentials", "alibabacloud_tea", "Tea", "apscheduler",
               "urllib3")


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at emit time, not the stream seen at start-up (test
    runners and process managers swap it; a handler holding the old one writes to a closed file)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


class RedactFilter(logging.Filter):
    """Last line of defence: mask known secret values if any message ever carries one."""

    def __init__(self, secrets):
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            masked = message
            for secret in self._secrets:
                masked = masked.replace(secret, "***")
            if masked != message:
                record.msg, record.args = masked, None
        return True


# The signer's loggers and the local emulator's: both print through one handler at INFO.
APP_LOGGERS = ("server", "oss_emulator")


def configure_logging(secrets=()) -> None:
    root = logging.getLogger("server")
    handler = next((h for h in root.handlers if getattr(h, "_oss_kit", False)), None)
    if handler is None:
        handler = StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._oss_kit = True
        for name in APP_LOGGERS:
            logging.getLogger(name).addHandler(handler)
            logging.getLogger(name).setLevel(logging.INFO)
    handler.filters = [f for f in handler.filters if not isinstance(f, RedactFilter)]
    handler.addFilter(RedactFilter(secrets))
    for name in SDK_LOGGERS:
        sdk = logging.getLogger(name)
        for old in list(sdk.handlers):
            sdk.removeHandler(old)
        # Through our handler (formatted, redacted), not up to the root logger's bare stderr.
        sdk.addHandler(handler)
        sdk.setLevel(logging.WARNING)
        sdk.propagate = False
