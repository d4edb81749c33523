"""Per-user storage quota: what one user may store (bytes and files), checked before anything is signed.

Recorded uploads count, and so do holds: a signed form holds its declared size until it is recorded,
or until a HEAD after its policy expired finds nothing at its key (settle_holds); an open multipart
upload holds its size until it is completed or aborted. The database keeps
the counts and the holds (server/db.py), so every instance sees the same ones, and the check and the
hold are one transaction with the user's row locked: concurrent signs cannot overshoot.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Optional

from .db import Usage
from .errors import ApiError
from .metrics import QUOTA_REFUSALS, recorded
from .records import ObjectNotFound, ObjectRejected, user_of
from .upload_callback import TOKEN_MARGIN


def human_size(size: int) -> str:
    """1536 -> "1.5 KB", 1073741824 -> "1 GB" (binary units, as file managers on phones show them)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            text = f"{value:.1f}".rstrip("0").rstrip(".") if unit != "B" else str(int(value))
            return f"{text} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


class QuotaExceeded(ApiError):
    def __init__(self, message: str):
        super().__init__(403, "QuotaExceeded", message)


# Holds of expired forms settled (one HEAD each) before a refusal stands: enough for a user's recent
# forms, few enough for one request.
SETTLE_ON_REFUSAL = 20


class Quota:
    def __init__(self, settings, db, records=None):
        self.settings = settings
        self.db = db
        self.records = records  # records.Records: settles holds of expired forms (None: never settled here)
        self.bytes = settings.user_quota_bytes
        self.files = settings.user_quota_files

    @property
    def enabled(self) -> bool:
        return bool(self.bytes or self.files)

    def check(self, usage: Usage, size: int) -> None:
        """QuotaExceeded unless one more file of `size` bytes fits (0 in a setting means no limit)."""
        used = usage.used_bytes + usage.reserved_bytes
        if self.bytes and used + size > self.bytes:
            raise QuotaExceeded(f"存储空间已满：已用 {human_size(used)} / {human_size(self.bytes)}，"
                                f"这个文件 {human_size(size)}，删除一些文件后再传")
        if self.files and usage.file_count + usage.reserved_files + 1 > self.files:
            raise QuotaExceeded(f"文件数已达上限：已有 {usage.file_count + usage.reserved_files} / {self.files} 个，"
                                f"删除一些文件后再传")

    def reserve(self, folder: str, key: str, size: int, policy_expires_at: datetime) -> None:
        """Hold `size` bytes for the upload to `key`, or QuotaExceeded. Nothing is written when off."""
        if not self.enabled:
            return
        user = user_of(folder)
        # Held a little past the policy: an upload that started just before expiry still arrives.
        hold = (user, self.settings.bucket, key, size, policy_expires_at + TOKEN_MARGIN, self.check)
        for first_try in (True, False):
            try:
                self.db.reserve(*hold)
                return
            except QuotaExceeded:
                # Expired forms still hold their size (db.upload_reservations says why): settle them and
                # look once more. Files they brought are recorded and count; forms never used stop counting.
                if first_try and self._settled_some(user):
                    continue
                QUOTA_REFUSALS.inc()
                raise

    def _settled_some(self, user: str) -> bool:
        try:
            return bool(self.settle_holds(self.db.clock(), SETTLE_ON_REFUSAL, user))
        except ApiError:  # OSS or the database failed on the way: the refusal stands, not a 503
            return False

    def settle_holds(self, expired_before: datetime, limit: int, user: Optional[str] = None) -> Counter:
        """For holds of forms that expired before `expired_before` (one user's, or everyone's): HEAD the
        key; record the object there (as a confirm would: inspected first, for the user in the key's
        folder), or end the hold when there is none. What happened, counted."""
        outcomes = Counter()
        if self.records is None:
            return outcomes
        for key, owner in self.db.expired_holds(expired_before, limit, user):
            try:
                record = self.records.record(key, f"{owner}/" if owner else "")
            except (ObjectNotFound, ObjectRejected) as error:  # nothing there, or deleted by the inspection
                self.db.drop_hold(self.settings.bucket, key)
                outcomes["rejected" if isinstance(error, ObjectRejected) else "released"] += 1
                continue
            recorded(record, "reconcile")
            outcomes["recorded"] += 1
        return outcomes

    def usage_json(self, folder: str) -> dict:
        usage = self.db.usage(user_of(folder))
        return {
            "usedBytes": usage.used_bytes,
            "fileCount": usage.file_count,
            "reservedBytes": usage.reserved_bytes,
            "quotaBytes": self.bytes,
            "quotaFiles": self.files,
        }
