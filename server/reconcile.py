"""`python -m server.reconcile` (`make reconcile`; daily under deploy/oss-signer-reconcile.timer):
make the bucket and the database agree, so nothing is stored unseen and nothing is listed that is gone.

In this order:
  (c) multipart uploads: a row whose upload OSS no longer lists is settled (the object HEADed and
      recorded if OSS completed it, else the row forgotten); uploads older than --multipart-days are
      aborted in OSS (whether or not a row knows them) and their rows forgotten;
  (a) objects under OSS_UPLOAD_DIR without a record and older than --grace-seconds get the same
      inspection as a callback (records.py: HEAD, no field outside the signed form) and are recorded
      for the user whose folder is in the key; objects that fail it are deleted;
  (b) records whose object is gone (HEAD says so) are dropped;
  (d) expired callback tokens, expired reservations and long-completed multipart rows are purged.
Only keys laid out as the signer makes them (`<dir>[<user folder>/]YYYY/MM/DD/<name>`) are touched.
Two instances never run it at once (a lease row in the database); --dry-run changes nothing and
prints what it would do. One summary line per category; exit 0 when done, 1 when OSS or the
database failed on the way, 2 for a settings mistake.
"""
from __future__ import annotations

import argparse
import re
import sys
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Callable, List, Optional

from .db import COMPLETED, key_hash
from .errors import ApiError
from .listed_keys import ListedKeys
from .metrics import UPLOADS_RECORDED  # in this process only; --metrics-file carries the run's counts
from .records import ObjectNotFound, ObjectRejected, problems_of
from .upload_rules import content_type_for_key

LEASE = "reconcile"
LEASE_SECONDS = 3600
# A completed multipart row answers a retried complete; a day later nobody retries.
KEEP_COMPLETED_MULTIPART = timedelta(days=1)
# Rows and uploads this young may be in the middle of a start or a completion: left alone.
IN_FLIGHT = timedelta(minutes=5)
_DATE_PATH = r"\d{4}/\d{2}/\d{2}/[^/]+"


class LeaseLost(Exception):
    """Our lease ran out during a long phase and another runner holds it now."""


class Reconciler:
    def __init__(self, app, grace_seconds: int = 3600, multipart_days: int = 7, dry_run: bool = False,
                 out: Callable[[str], None] = print, lister=None):
        self.settings = app.config["SETTINGS"]
        self.db = app.extensions["db"]
        self.bucket = app.extensions["bucket"]
        # Listing needs credentials the signer never holds (listing_client); all else is the app's.
        self.lister = lister or self.bucket
        self.records = app.extensions["records"]
        self.multipart = app.extensions["multipart_uploads"]
        self.quota = app.extensions["quota"]
        self.clock = self.multipart.clock
        self.grace = timedelta(seconds=grace_seconds)
        self.multipart_age = timedelta(days=multipart_days)
        self.dry_run = dry_run
        self.out = out
        self.counts = Counter()
        self.holder = uuid.uuid4().hex
        upload_dir = re.escape(self.settings.upload_dir)
        self._key = re.compile(rf"^{upload_dir}(?:(?P<user>[0-9a-f]{{24}})/)?{_DATE_PATH}$")

    def run(self) -> bool:
        """False when another instance holds the lease (nothing done)."""
        if not self.dry_run and not self.db.acquire_lease(LEASE, self.holder, LEASE_SECONDS):
            return False
        try:
            started = self.clock()
            self.multipart_uploads(started)
            with ListedKeys() as listed:
                self.orphan_objects(started, listed)
                self.missing_objects(started, listed)
            self.purge(started)
        finally:
            if not self.dry_run:
                self.db.release_lease(LEASE, self.holder)
        return True

    def summary(self) -> List[str]:
        c = self.counts
        would = "将" if self.dry_run else ""
        return [
            f"（a）没有记录的对象：{would}补记 {c['recorded']} 个，{would}删除不合规的 {c['rejected']} 个，"
            f"不到宽限时间跳过 {c['young']} 个，不是签名服务生成的 key 跳过 {c['foreign']} 个",
            f"（b）对象已不在的记录：{would}删除 {c['dropped']} 条",
            (f"（c）分片上传：将取消 {c['aborted']} 个，将核对 OSS 已没有的 {c['settled']} 个" if self.dry_run else
             f"（c）分片上传：取消 {c['aborted']} 个，补记已合并的 {c['mp_recorded']} 个，"
             f"忘记 OSS 已没有的 {c['forgotten']} 个，正在处理中跳过 {c['busy']} 个"),
            ("（d）过期数据：只在实际运行时清除" if self.dry_run else
             f"（d）过期数据：清除回调令牌 {c['tokens']} 个，释放过期表单的占用 {c['reservations']} 个，"
             f"补记过期表单带来却没有记录的文件 {c['hold_recorded']} 个，已完成的分片记录 {c['completed_rows']} 条"),
        ]

    # -- (c) ---------------------------------------------------------------------------------
    def multipart_uploads(self, started: datetime) -> None:
        alive = {}
        for page in self.lister.list_multipart_uploads(self.settings.upload_dir):
            for upload in page:
                alive[upload.upload_id] = upload
        old = started - self.multipart_age
        after = ""
        while True:
            rows = self.db.list_multipart(1000, after)
            if not rows:
                break
            after = rows[-1].upload_id
            for row in rows:
                if row.state == COMPLETED or row.created_at > started - IN_FLIGHT:
                    continue
                if row.bucket != self.settings.bucket or not row.key.startswith(self.settings.upload_dir):
                    continue  # another deployment's (or an old upload dir's): this bucket's listing says nothing of it
                in_oss = alive.pop(row.upload_id, None)
                if in_oss is None:
                    self._act(f"核对 OSS 已没有的分片上传（已合并则补记，否则忘记）：{row.key}",
                              lambda row=row: _multipart_count(self.multipart.settle(row)), "settled")
                elif row.created_at < old:
                    self._act(f"取消 {self.multipart_age.days} 天前开始的分片上传：{row.key}",
                              lambda row=row: _multipart_count(self.multipart.expire(row)), "aborted")
        # Uploads no row knows (a start whose row was never written, or forgotten by hand).
        for upload in alive.values():
            if upload.initiated is not None and upload.initiated < old:
                self._act(f"取消没有记录的旧分片上传：{upload.key}",
                          lambda upload=upload: self.bucket.abort_multipart(upload.key, upload.upload_id) and "aborted",
                          "aborted")

    # -- (a) ---------------------------------------------------------------------------------
    def orphan_objects(self, started: datetime, listed: ListedKeys) -> None:
        """Record or delete objects without a record; every key listed goes into `listed` (for (b))."""
        bucket = self.settings.bucket
        for page in self.lister.list_objects(self.settings.upload_dir):
            if not self.dry_run and not self.db.acquire_lease(LEASE, self.holder, LEASE_SECONDS):
                raise LeaseLost()  # another runner took over after our lease ran out: leave it the work
            keys = [o.key for o in page]
            listed.add(bytes.fromhex(key_hash(bucket, key)) for key in keys)
            recorded = self.db.recorded_keys(bucket, keys)
            for listed_object in page:
                if listed_object.key in recorded:
                    continue
                match = self._key.match(listed_object.key)
                if match is None:
                    self.counts["foreign"] += 1
                elif listed_object.last_modified is not None and listed_object.last_modified > started - self.grace:
                    self.counts["young"] += 1
                else:
                    folder = f"{match.group('user')}/" if match.group("user") else ""
                    self._act(f"补记或删除（不合规时）没有记录的对象：{listed_object.key}",
                              lambda key=listed_object.key, folder=folder: self._record(key, folder),
                              lambda key=listed_object.key: self._verdict(key))

    def _verdict(self, key: str) -> Optional[str]:
        """What _record would do, without doing it (--dry-run)."""
        info = self.bucket.head(key)
        if info is None:
            return None
        return "rejected" if problems_of(info, content_type_for_key(key)) else "recorded"

    def _record(self, key: str, folder: str) -> str:
        try:
            record = self.records.record(key, folder)
        except ObjectRejected:
            return "rejected"
        except ObjectNotFound:  # deleted since the listing
            return "none"
        if record.fresh:
            UPLOADS_RECORDED.labels("reconcile").inc()
        return "recorded"

    # -- (b) ---------------------------------------------------------------------------------
    def missing_objects(self, started: datetime, listed: ListedKeys) -> None:
        after = 0
        while True:
            # Only records older than the listing: a newer one's object may have arrived after its page.
            rows = self.db.uploads_after(after, 1000, started - IN_FLIGHT)
            if not rows:
                return
            after = rows[-1].id
            for record in rows:
                if (record.bucket != self.settings.bucket or not record.key.startswith(self.settings.upload_dir)
                        or bytes.fromhex(key_hash(record.bucket, record.key)) in listed):
                    continue
                if self.bucket.head(record.key) is not None:  # listed after all (eventual listing)
                    continue
                self._act(f"删除对象已不在的记录：#{record.id} {record.key}",
                          lambda record=record: self.db.delete_upload(record.id, record.user_folder) and "dropped",
                          "dropped")

    # -- (d) ---------------------------------------------------------------------------------
    def purge(self, started: datetime) -> None:
        if self.dry_run:
            return
        self.counts["tokens"] += self.db.purge_expired_tokens()
        # Holds of forms that expired before the grace: the file they brought is recorded (as in (a)),
        # or, with nothing at the key, the hold ends.
        while True:
            settled = self.quota.settle_holds(started - self.grace, 1000)
            for outcome, count in settled.items():
                self.counts[{"recorded": "hold_recorded", "rejected": "rejected"}.get(outcome, "reservations")] += count
            if sum(settled.values()) < 1000:
                break
        self.counts["completed_rows"] += self.db.purge_completed_multipart(self.clock() - KEEP_COMPLETED_MULTIPART)

    def _act(self, what: str, action: Callable[[], Optional[str]], dry_outcome) -> None:
        """Do `action` and count its outcome; with --dry-run, print `what` and count `dry_outcome`
        (a name, or a read-only function that predicts it) instead."""
        if self.dry_run:
            outcome = dry_outcome() if callable(dry_outcome) else dry_outcome
            if outcome:
                self.out(f"  将{what}")
        else:
            outcome = action()
        if outcome:
            self.counts[outcome] += 1


def _multipart_count(outcome: str) -> str:
    return "mp_recorded" if outcome == "recorded" else outcome


def listing_client(app):
    """A bucket client whose credentials may also list the upload dir (server/credentials/sts.py)."""
    from .credentials import build_cache, build_source
    from .oss_client import BucketClient

    settings, clock = app.config["SETTINGS"], app.extensions["multipart_uploads"].clock
    credentials = build_cache(settings, clock, build_source(settings, clock, listing=True))
    credentials.start()
    return BucketClient(settings, credentials, clock)


def main(argv: Optional[List[str]] = None, out: Callable[[str], None] = print, app=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.reconcile", description="核对 Bucket 与上传记录")
    parser.add_argument("--grace-seconds", type=int, default=3600,
                        help="没有记录的对象至少这么旧才补记（秒，默认 3600：留给回调和确认）")
    parser.add_argument("--multipart-days", type=int, default=7, help="取消多少天前开始的分片上传（默认 7）")
    parser.add_argument("--dry-run", action="store_true", help="只打印将要做什么，不做任何改动")
    parser.add_argument("--recount-usage", action="store_true",
                        help="先丢掉每个用户记下的用量，下次用到时按上传记录重新计算（升级完所有实例后运行一次）")
    parser.add_argument("--metrics-file", help="把这次的结果写成 Prometheus 文本文件（node_exporter 的 textfile 目录下的 *.prom）")
    args = parser.parse_args(argv)
    if args.grace_seconds < 0 or args.multipart_days < 1:
        parser.error("--grace-seconds 不能为负，--multipart-days 至少为 1")
    if app is None:
        from .commands import app_from_environment

        app = app_from_environment(out)
        if app is None:
            return 2
    settings = app.config["SETTINGS"]
    if args.recount_usage and not args.dry_run:
        out(f"用量将按上传记录重新计算（{app.extensions['db'].recount_usage()} 个用户）")
    reconciler = Reconciler(app, args.grace_seconds, args.multipart_days, args.dry_run, out, listing_client(app))
    out(f"对账：Bucket {settings.bucket} 的 {settings.upload_dir} 与数据库"
        f"{'（只看不改）' if args.dry_run else ''}")
    try:
        if not reconciler.run():
            out("另一个实例正在对账，这次跳过")
            return 0
    except ApiError as error:
        for line in reconciler.summary():
            out(line)
        out(f"对账中断：{error.message}（详细原因见上面的日志）；已做的改动有效，下次运行会继续")
        return 1
    except LeaseLost:
        out("租约过期，另一个实例接手了对账，这次到此为止")
        return 0
    for line in reconciler.summary():
        out(line)
    if args.metrics_file and not args.dry_run:
        write_metrics(args.metrics_file, reconciler.counts, reconciler.clock())
    return 0


def write_metrics(path: str, counts: Counter, finished: datetime) -> None:
    """This run's counts for node_exporter's textfile collector (a separate process: the signer's
    /metrics never sees them). Written to a temporary file and renamed, as the collector expects."""
    from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

    registry = CollectorRegistry()
    items = Gauge("oss_signer_reconcile_items", "What the last reconcile run did, by category", ["category"],
                  registry=registry)
    for category in ("recorded", "rejected", "young", "foreign", "dropped", "aborted", "mp_recorded", "forgotten",
                     "busy", "tokens", "reservations", "hold_recorded", "completed_rows"):
        items.labels(category).set(counts[category])
    Gauge("oss_signer_reconcile_last_success_timestamp_seconds", "When reconcile last finished",
          registry=registry).set(finished.timestamp())
    write_to_textfile(path, registry)


if __name__ == "__main__":
    sys.exit(main())
