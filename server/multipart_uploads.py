"""Large files: a multipart upload the server opens, presigns part by part, checks and completes.

The phone never holds a credential: the server initiates the upload with its own credentials,
hands out one presigned PUT URL per part, and completes only when the parts OSS lists are exactly
the declared file (every part present, sizes adding up to the declared size), so a client cannot
assemble more, less or something else than what it was allowed to upload.
"""
from __future__ import annotations

import math
import re
import time
from datetime import datetime, timedelta
from typing import Callable, List, Optional

from .db import ABORTING, COMPLETED, COMPLETING
from .errors import ApiError
from .oss_client import NoSuchUpload, ObjectExists, Part
from .records import user_of
from .upload_rules import clean_filename, parse_size, plan_upload

MAX_PARTS = 10_000  # OSS's limit for one upload
MAX_PARTS_PER_REQUEST = 100
MIB = 1024 * 1024
# A completion or an abort holds the upload (a row state in the database, shared by every instance).
# Others wait for it this long (inside the mini-program's 15 s per call), then get 409 and retry; a
# claim this old belongs to a request that died (OSS's calls time out long before) and is taken over.
CLAIM_WAIT_SECONDS = 10
CLAIM_POLL_SECONDS = 0.1
CLAIM_STALE_SECONDS = 60
RETRY_AFTER_SECONDS = 3
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_.=-]{1,128}$")


class UploadNotFound(ApiError):
    def __init__(self, message: str = "没有这个分片上传：它已完成、已取消或已过期，请重新上传"):
        super().__init__(404, "UploadNotFound", message)


def part_size_for(size: int, configured: int) -> int:
    """The configured part size, grown to whole MiB when the file would need more than 10,000 parts."""
    if math.ceil(size / configured) <= MAX_PARTS:
        return configured
    return math.ceil(size / MAX_PARTS / MIB) * MIB


def expected_part_sizes(size: int, part_size: int) -> List[int]:
    count = max(1, math.ceil(size / part_size))
    return [part_size] * (count - 1) + [size - part_size * (count - 1)]


def parse_part_numbers(raw, part_count: int) -> List[int]:
    if (not isinstance(raw, list) or not 1 <= len(raw) <= MAX_PARTS_PER_REQUEST
            or not all(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= part_count for n in raw)
            or len(set(raw)) != len(raw)):
        raise ApiError(400, "InvalidPartNumbers",
                       f"partNumbers 必须是 1 到 {MAX_PARTS_PER_REQUEST} 个不重复的分片号，每个在 1 到 {part_count} 之间")
    return list(raw)


def check_parts(parts: List[Part], size: int, part_size: int) -> None:
    """409 unless OSS holds exactly parts 1..N with exactly the sizes the declared size implies."""
    expected = expected_part_sizes(size, part_size)
    held = {part.number: part for part in parts}
    missing = [n for n in range(1, len(expected) + 1) if n not in held]
    if missing:
        raise ApiError(409, "IncompleteUpload", f"还有 {len(missing)} 个分片没有上传（例如第 {missing[0]} 片）")
    extra = sorted(n for n in held if n > len(expected))
    wrong = [n for n, want in enumerate(expected, 1) if held[n].size != want]
    if extra or wrong:
        first = (extra or wrong)[0]
        raise ApiError(409, "SizeMismatch", f"分片与声明的文件大小不符（第 {first} 片），没有合并任何内容")


class UploadCompleting(ApiError):
    def __init__(self):
        super().__init__(409, "UploadCompleting", "文件已经保存或正在保存，不能再取消",
                         {"Retry-After": str(RETRY_AFTER_SECONDS)})


class CompleteInProgress(ApiError):
    def __init__(self):
        super().__init__(409, "CompleteInProgress", "另一个请求正在完成这次上传，请稍后再试",
                         {"Retry-After": str(RETRY_AFTER_SECONDS)})


class MultipartUploads:
    def __init__(self, settings, db, bucket, records, clock: Callable[[], datetime], new_id, quota=None):
        self.settings = settings
        self.db = db
        self.bucket = bucket
        self.records = records
        self.clock = clock
        self.new_id = new_id
        self.quota = quota
        self.claim_wait_seconds = CLAIM_WAIT_SECONDS

    def _expiry(self) -> datetime:
        return self.bucket.cap_expiry(self.clock() + timedelta(seconds=self.settings.expire_seconds))

    def start(self, filename, size, folder: str) -> dict:
        settings = self.settings
        target = plan_upload(filename, settings.allowed_extensions, settings.upload_dir + folder, self.clock(),
                             self.new_id)
        declared = parse_size(size, settings.max_size)
        part_size = part_size_for(declared, settings.multipart_part_size)
        part_count = len(expected_part_sizes(declared, part_size))
        if self.quota is not None:
            # Refused before anything exists in OSS; the hold passes to the open upload's row below.
            self.quota.reserve(folder, target.key, declared, self._expiry())
        upload_id = self.bucket.initiate_multipart(target.key, target.content_type, target.content_disposition)
        try:
            self.db.add_multipart(upload_id, settings.bucket, target.key, user_of(folder), clean_filename(filename),
                                  declared, part_size, part_count, target.content_type)
        except ApiError:
            # Nobody could ever complete or find it: abort in OSS now rather than leave it to the lifecycle
            # rule; the database's error (503) is the answer either way.
            try:
                self.bucket.abort_multipart(target.key, upload_id)
            except ApiError:
                pass
            raise
        return {
            "uploadId": upload_id,
            "key": target.key,
            "partSize": part_size,
            "partCount": part_count,
            "expire": self._expiry().strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def _open(self, upload_id: str, folder: str):
        upload = self._open_any(upload_id, folder)
        if upload.state == COMPLETED:  # finished: the same answer as unknown or another user's
            raise UploadNotFound()
        return upload

    def sign_parts(self, upload_id: str, folder: str, numbers) -> dict:
        upload = self._open(upload_id, folder)
        numbers = parse_part_numbers(numbers, upload.part_count)
        sizes = expected_part_sizes(upload.size, upload.part_size)
        expires_at = self._expiry()
        signer = self.bucket.url_signer(expires_at)
        parts = []
        for number in numbers:
            # The part's exact size is signed (Content-Length): a body of any other size is refused by OSS.
            url, headers = signer.upload_part(upload.key, upload_id, number, sizes[number - 1])
            parts.append({"partNumber": number, "url": url, "headers": headers, "size": sizes[number - 1]})
        return {"parts": parts, "expire": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def status(self, upload_id: str, folder: str) -> dict:
        upload = self._open(upload_id, folder)
        try:
            held = self.bucket.list_parts(upload.key, upload.upload_id)
        except NoSuchUpload:
            # Completed by a request that could not record it, or aborted by the lifecycle rule.
            if self._settle_vanished(upload) is not None:
                raise UploadNotFound("这个文件已经上传完成，在我的文件里可以找到") from None
            raise UploadNotFound() from None
        return {
            "uploadId": upload_id,
            "key": upload.key,
            "partSize": upload.part_size,
            "partCount": upload.part_count,
            "parts": [{"partNumber": p.number, "size": p.size, "etag": p.etag} for p in held],
        }

    def complete(self, upload_id: str, folder: str):
        """The record of the completed file. Idempotent and exclusive: concurrent or retried calls all
        answer the one record; only the caller holding the claim talks to OSS."""
        upload = self._open_any(upload_id, folder)
        claim_id, upload = self._claim(upload, COMPLETING)
        if claim_id is None:  # completed meanwhile by another request
            return self._record_of(upload)
        try:
            try:
                parts = self.bucket.list_parts(upload.key, upload_id)
                check_parts(parts, upload.size, upload.part_size)
                self.bucket.complete_multipart(upload.key, upload_id, sorted(parts, key=lambda p: p.number))
            except NoSuchUpload:
                # Completed earlier by a caller that died or could not record it, or aborted in OSS.
                record = self._settle_vanished(upload, claim_id)
                if record is None:
                    raise UploadNotFound() from None
                return record
            except ObjectExists:
                raise ApiError(409, "ObjectExists", "这个对象名已被占用") from None
            info = self.records.inspect(upload.key)
            record = self.db.finish_multipart(upload_id, info.etag)
            if record is None:  # finished meanwhile (status settled it), and the file deleted since
                raise UploadNotFound()
            return record
        except BaseException:
            self._release(upload_id, claim_id)
            raise

    def abort(self, upload_id: str, folder: str) -> None:
        """Cancel: wins only against an upload still open (409 UploadCompleting once a completion holds it)."""
        upload = self._open_any(upload_id, folder)
        claim_id, upload = self._claim(upload, ABORTING)
        if claim_id is None or self._abort_claimed(upload, claim_id) == "recorded":
            raise UploadCompleting()

    def expire(self, upload) -> str:
        """For reconcile: abort an old upload whoever owns it, without waiting for a request that holds it.
        What happened: "aborted", "recorded" (OSS had completed it), "forgotten" (OSS had dropped it),
        or "busy" (a request holds it, or it is completed)."""
        claim_id, upload = self.db.claim_multipart(upload.upload_id, upload.user_folder, ABORTING, self._stale_before())
        if claim_id is None:
            return "busy"
        return self._abort_claimed(upload, claim_id)

    def settle(self, upload) -> str:
        """For reconcile: OSS no longer lists this upload. "recorded" or "forgotten", as _settle_vanished;
        "busy" while a request holds it."""
        claim_id, upload = self.db.claim_multipart(upload.upload_id, upload.user_folder, COMPLETING,
                                                   self._stale_before())
        if claim_id is None:
            return "busy"
        try:
            return "recorded" if self._settle_vanished(upload, claim_id) is not None else "forgotten"
        except BaseException:
            self._release(upload.upload_id, claim_id)
            raise

    def _abort_claimed(self, upload, claim_id: str) -> str:
        try:
            if not self.bucket.abort_multipart(upload.key, upload.upload_id):
                # OSS no longer knows it: if the object is there, it was completed; record it, do not hide it.
                return "recorded" if self._settle_vanished(upload, claim_id) is not None else "forgotten"
        except BaseException:
            self._release(upload.upload_id, claim_id)
            raise
        self.db.delete_multipart(upload.upload_id, claim_id)
        return "aborted"

    # -- claims --------------------------------------------------------------------------------
    def _open_any(self, upload_id: str, folder: str):
        """The caller's upload in any state; unknown and another user's are the same 404."""
        if not isinstance(upload_id, str) or not _UPLOAD_ID.match(upload_id):
            raise UploadNotFound()
        upload = self.db.get_multipart(upload_id, user_of(folder))
        if upload is None:
            raise UploadNotFound()
        return upload

    def _stale_before(self) -> datetime:
        """Claims made before this belong to requests that died."""
        return self.clock() - timedelta(seconds=CLAIM_STALE_SECONDS)

    def _claim(self, upload, purpose: str):
        """(claim_id, upload) once this request holds the upload; (None, upload) when it is completed.
        Waits while another request holds it (up to claim_wait_seconds, then 409 CompleteInProgress);
        a claim older than CLAIM_STALE_SECONDS belongs to a request that died and is taken over."""
        deadline = time.monotonic() + self.claim_wait_seconds
        while True:
            if upload.state == COMPLETED:
                return None, upload
            claim_id, upload = self.db.claim_multipart(upload.upload_id, upload.user_folder, purpose,
                                                       self._stale_before())
            if claim_id is not None:
                return claim_id, upload
            if upload is None:  # aborted meanwhile
                raise UploadNotFound()
            if upload.state == COMPLETED:
                return None, upload
            if time.monotonic() >= deadline:
                raise CompleteInProgress() if purpose == COMPLETING else UploadCompleting()
            time.sleep(CLAIM_POLL_SECONDS)

    def _release(self, upload_id: str, claim_id: str) -> None:
        try:
            self.db.release_multipart(upload_id, claim_id)
        except ApiError:
            pass  # the database is down: the claim goes stale and the next caller takes over

    def _record_of(self, upload):
        record = self.db.find_by_key(upload.bucket, upload.key)
        if record is None:  # completed, then the file was deleted from 我的文件
            raise UploadNotFound()
        return record

    def _settle_vanished(self, upload, claim_id: Optional[str] = None):
        """OSS answered NoSuchUpload: the record if the object exists (completed but not yet recorded),
        else forget the upload (aborted, e.g. by the lifecycle rule) and return None."""
        if self.bucket.head(upload.key) is not None:
            info = self.records.inspect(upload.key)
            record = self.db.finish_multipart(upload.upload_id, info.etag)
            if record is None:  # recorded by another request meanwhile, and the file deleted since
                raise UploadNotFound()
            return record
        self.db.delete_multipart(upload.upload_id, claim_id)
        return None
