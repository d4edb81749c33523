"""The server's own requests to its bucket, through Alibaba Cloud's alibabacloud-oss-v2 SDK (the
HEAD before every record through object_head.py instead, presigned like the file list's links).

This is the only module that knows the SDK. It signs with the cached temporary credentials (no
second credential chain, no extra STS call) and with the app's clock, uses short timeouts, and in
local mode talks to the emulator at OSS_UPLOAD_HOST (one bucket, keys at the path root). Presigned
URLs are signed by the pure presign_v4.py (the SDK's presign is too slow for a list of them).
Nothing here logs a URL: presigned URLs are bearer capabilities.

The SDK (and requests under it) is imported when the first request to the bucket is made, not at
start-up: loading it was about a third of the server's start-up time, and signing never needs it.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Dict, Iterator, List, Optional

from .clock import require_aware
from .credentials import CredentialCache
from .errors import ApiError
from .object_head import HeadFailed, ObjectHead
from .presign_v4 import QuerySigner

log = logging.getLogger("server.oss")

CONNECT_TIMEOUT = 2
# OSS waits 5 s for our answer to its callback, which does a HEAD: stay well inside that.
READ_TIMEOUT = 3
# OSS's limit for a presigned URL (x-oss-expires at most 604800 s).
MAX_PRESIGN = timedelta(days=7)
# The server's own HEAD is presigned too (object_head.py), for this long.
HEAD_URL_LIFETIME = timedelta(seconds=60)
PART_CONTENT_TYPE = "application/octet-stream"


class StorageUnavailable(ApiError):
    def __init__(self):
        super().__init__(503, "StorageUnavailable", "暂时无法访问 OSS，请稍后重试", {"Retry-After": "5"})


class NoSuchUpload(Exception):
    """OSS does not know this multipart upload (aborted, completed, or never started)."""


class ObjectExists(Exception):
    """x-oss-forbid-overwrite refused: the key already holds an object."""


@dataclass(frozen=True)
class ObjectInfo:
    """What a HEAD says about a stored object; `headers` has lower-case names."""

    key: str
    size: int
    etag: str  # without quotes
    content_type: str
    headers: Dict[str, str]

    @property
    def storage_class(self) -> str:
        return self.headers.get("x-oss-storage-class", "Standard")


@dataclass(frozen=True)
class ListedObject:
    key: str
    size: int
    last_modified: Optional[datetime]


@dataclass(frozen=True)
class OpenUpload:
    key: str
    upload_id: str
    initiated: Optional[datetime]


@dataclass(frozen=True)
class Part:
    number: int
    size: int
    etag: str  # as OSS lists it, quotes included


class UrlSigner:
    """Presigned URLs with one expiry, as many as a request needs (a page of the file list, a batch
    of parts): the credentials and the signing key are looked up once."""

    def __init__(self, bucket: "BucketClient", signer: QuerySigner):
        self._host = bucket.settings.upload_host
        self._bucket = bucket.bucket
        self._signer = signer

    def get(self, key: str, disposition: Optional[str] = None, process: Optional[str] = None) -> str:
        params = {}
        if disposition:
            params["response-content-disposition"] = disposition
        if process:
            params["x-oss-process"] = process
        return self._signer.url("GET", self._host, self._bucket, key, params)

    def head(self, key: str) -> str:
        return self._signer.url("HEAD", self._host, self._bucket, key)

    def upload_part(self, key: str, upload_id: str, part_number: int, size: int):
        """(url, headers): the client PUTs exactly `size` bytes to `url` sending exactly `headers`."""
        # wx.request always sends a Content-Type, and V4 signs it: sign the one the client will send.
        headers = {"Content-Type": PART_CONTENT_TYPE}
        params = {"partNumber": str(part_number), "uploadId": upload_id}
        # Content-Length is signed as an additional header, so OSS refuses a body of any other size
        # (SignatureDoesNotMatch). It is not in `headers`: the HTTP client sets it from the body it
        # sends, and a copied stale value would cut the part short.
        signed = dict(headers, **{"Content-Length": str(size)})
        return self._signer.url("PUT", self._host, self._bucket, key, params, signed, ("content-length",)), headers


def _sdk():
    """The SDK's package, loaded on first use (see the module docstring)."""
    import alibabacloud_oss_v2

    return alibabacloud_oss_v2


def _sdk_client(settings, credentials: CredentialCache, clock: Callable[[], datetime]):
    """An SDK client that signs with the cached temporary credentials and the app's clock."""
    import requests
    from alibabacloud_oss_v2._client import AddressStyle  # the SDK exposes it only here
    from alibabacloud_oss_v2.signer import SignerV4

    oss = _sdk()

    class CachedCredentials(oss.credentials.CredentialsProvider):
        """The SDK asks before every request; the cache answers without I/O."""

        def get_credentials(self) -> oss.credentials.Credentials:
            creds = credentials.get()
            return oss.credentials.Credentials(creds.access_key_id, creds.access_key_secret, creds.security_token,
                                               creds.expiration)

    class ClockSigner(SignerV4):
        """V4 with the app's clock, so a test's fake clock and the emulator's agree."""

        def sign(self, signing_ctx):
            # Whole seconds, as x-oss-date carries them.
            signing_ctx.signing_time = require_aware(clock(), "clock()").replace(microsecond=0)
            return super().sign(signing_ctx)

    session = requests.Session()
    kwargs = {}
    if settings.upload_host != _standard_host(settings):
        # The emulator, or a custom domain bound to the bucket: requests go to that host with keys at
        # the path root. (The V4 canonical URI still names the bucket, as OSS expects.)
        kwargs["address_style"] = AddressStyle.CName
        endpoint = settings.upload_host
        # Loopback never goes through a proxy from the environment.
        session.trust_env = not settings.is_local
    else:
        endpoint = None
    config = oss.Config(
        region=settings.region,
        endpoint=endpoint,
        credentials_provider=CachedCredentials(),
        http_client=oss.transport.RequestsHttpClient(
            session=session, connect_timeout=CONNECT_TIMEOUT, readwrite_timeout=READ_TIMEOUT),
        retry_max_attempts=2,
    )
    return oss.Client(config, signer=ClockSigner(), **kwargs)


def _standard_host(settings) -> str:
    return f"https://{settings.bucket}.oss-{settings.region}.aliyuncs.com"


class BucketClient:
    def __init__(self, settings, credentials: CredentialCache, clock: Callable[[], datetime]):
        self.settings = settings
        self.bucket = settings.bucket
        self._credentials = credentials
        self._clock = clock
        self._sdk_client = None
        self._sdk_lock = threading.Lock()
        self._head = ObjectHead(settings.upload_host, CONNECT_TIMEOUT, READ_TIMEOUT)

    @property
    def _client(self):
        if self._sdk_client is None:
            with self._sdk_lock:
                if self._sdk_client is None:
                    self._sdk_client = _sdk_client(self.settings, self._credentials, self._clock)
        return self._sdk_client

    # -- objects -----------------------------------------------------------------------------
    def head(self, key: str) -> Optional[ObjectInfo]:
        """The object's size, ETag and headers; None when there is no such object. Not through the SDK:
        every record starts with this HEAD (see object_head.py)."""
        url = self.url_signer(self._clock() + HEAD_URL_LIFETIME).head(key)
        try:
            found = self._head.head(url)
        except HeadFailed:
            raise StorageUnavailable() from None
        if found is None:
            return None
        _, headers = found
        return ObjectInfo(
            key=key,
            size=int(headers.get("content-length") or 0),
            etag=headers.get("etag", "").strip('"'),
            content_type=headers.get("content-type", ""),
            headers=headers,
        )

    def delete(self, key: str) -> None:
        """Delete the object; an object that is already gone is not an error (OSS answers 204)."""
        oss = _sdk()
        try:
            self._client.delete_object(oss.DeleteObjectRequest(bucket=self.bucket, key=key))
        except oss.exceptions.OperationError as error:
            if _status(error) == 404:
                return
            raise self._unavailable("DeleteObject", error) from None

    def url_signer(self, expires_at: datetime) -> UrlSigner:
        """Presigns URLs valid until `expires_at` (capped by the credentials and OSS's 7 days).

        Pure V4 (presign_v4.py), not the SDK's presign: a page of the file list signs dozens."""
        creds = self._credentials.get()
        now = self._clock().replace(microsecond=0)
        seconds = max(1, int((self.cap_expiry(expires_at) - now).total_seconds()))
        return UrlSigner(self, QuerySigner(creds.access_key_id, creds.access_key_secret, creds.security_token,
                                           self.settings.region, now, seconds))

    def presign_get(self, key: str, expires_at: datetime, disposition: Optional[str] = None,
                    process: Optional[str] = None) -> str:
        return self.url_signer(expires_at).get(key, disposition, process)

    def cap_expiry(self, wanted: datetime) -> datetime:
        """A URL never outlives the credentials that sign it, nor OSS's seven days."""
        now = self._clock().replace(microsecond=0)
        return min(wanted.replace(microsecond=0), self._credentials.get().expiration, now + MAX_PRESIGN)

    # -- multipart ---------------------------------------------------------------------------
    def initiate_multipart(self, key: str, content_type: str, content_disposition: str) -> str:
        oss = _sdk()
        request = oss.InitiateMultipartUploadRequest(
            bucket=self.bucket, key=key, content_type=content_type, content_disposition=content_disposition,
            storage_class="Standard", forbid_overwrite=True, disable_auto_detect_mime_type=True)
        try:
            return self._client.initiate_multipart_upload(request).upload_id
        except oss.exceptions.OperationError as error:
            raise self._unavailable("InitiateMultipartUpload", error) from None

    def list_parts(self, key: str, upload_id: str) -> List[Part]:
        oss = _sdk()
        parts: List[Part] = []
        marker = None
        try:
            while True:
                result = self._client.list_parts(oss.ListPartsRequest(
                    bucket=self.bucket, key=key, upload_id=upload_id, max_parts=1000, part_number_marker=marker))
                parts += [Part(int(p.part_number), int(p.size), p.etag) for p in (result.parts or [])]
                if not result.is_truncated:
                    return parts
                marker = result.next_part_number_marker
        except oss.exceptions.OperationError as error:
            self._raise_multipart("ListParts", error)

    def complete_multipart(self, key: str, upload_id: str, parts: List[Part], callback: Optional[str] = None):
        """Assemble exactly `parts`; returns (etag, body) where body is the callback's answer, if any."""
        oss = _sdk()
        request = oss.CompleteMultipartUploadRequest(
            bucket=self.bucket, key=key, upload_id=upload_id, forbid_overwrite=True, callback=callback,
            complete_multipart_upload=oss.CompleteMultipartUpload(
                parts=[oss.UploadPart(part_number=p.number, etag=p.etag) for p in parts]))
        try:
            result = self._client.complete_multipart_upload(request)
        except oss.exceptions.OperationError as error:
            self._raise_multipart("CompleteMultipartUpload", error)
        return (result.etag or "").strip('"'), getattr(result, "callback_result", None)

    def abort_multipart(self, key: str, upload_id: str) -> bool:
        """True when OSS aborted it, False when OSS no longer knows it (aborted or completed before)."""
        oss = _sdk()
        try:
            self._client.abort_multipart_upload(
                oss.AbortMultipartUploadRequest(bucket=self.bucket, key=key, upload_id=upload_id))
        except oss.exceptions.OperationError as error:
            if _code(error) == "NoSuchUpload":
                return False
            raise self._unavailable("AbortMultipartUpload", error) from None
        return True

    # -- listings (reconcile) ----------------------------------------------------------------
    def list_objects(self, prefix: str) -> Iterator[List[ListedObject]]:
        """The objects under `prefix`, a page (up to 1000, in key order) at a time (ListObjectsV2)."""
        oss = _sdk()
        token = None
        while True:
            try:
                result = self._client.list_objects_v2(oss.ListObjectsV2Request(
                    bucket=self.bucket, prefix=prefix, max_keys=1000, continuation_token=token))
            except oss.exceptions.OperationError as error:
                raise self._unavailable("ListObjectsV2", error) from None
            yield [ListedObject(o.key, int(o.size or 0), o.last_modified) for o in (result.contents or [])]
            if not result.is_truncated:
                return
            token = result.next_continuation_token

    def list_multipart_uploads(self, prefix: str) -> Iterator[List[OpenUpload]]:
        """The multipart uploads OSS holds under `prefix`, a page at a time (ListMultipartUploads)."""
        oss = _sdk()
        key_marker = upload_id_marker = None
        while True:
            try:
                result = self._client.list_multipart_uploads(oss.ListMultipartUploadsRequest(
                    bucket=self.bucket, prefix=prefix, max_uploads=1000, key_marker=key_marker,
                    upload_id_marker=upload_id_marker))
            except oss.exceptions.OperationError as error:
                raise self._unavailable("ListMultipartUploads", error) from None
            yield [OpenUpload(u.key, u.upload_id, u.initiated) for u in (result.uploads or [])]
            if not result.is_truncated:
                return
            key_marker, upload_id_marker = result.next_key_marker, result.next_upload_id_marker

    def _raise_multipart(self, operation: str, error):
        code = _code(error)
        if code == "NoSuchUpload":
            raise NoSuchUpload() from None
        if code == "FileAlreadyExists":
            raise ObjectExists() from None
        raise self._unavailable(operation, error) from None

    def _unavailable(self, operation: str, error) -> ApiError:
        oss = _sdk()
        inner = error.unwrap()
        if isinstance(inner, ApiError):  # e.g. CredentialsUnavailable from the cache
            return inner
        if isinstance(inner, oss.exceptions.ServiceError):
            log.warning("OSS %s 失败：HTTP %s %s (RequestId %s)", operation, inner.status_code, inner.code,
                        inner.request_id)
        else:
            # Exception texts can hold the request URL: log the type only.
            log.warning("OSS %s 失败：%s", operation, type(inner).__name__)
        return StorageUnavailable()


def _service_error(error):
    oss = _sdk()
    inner = error.unwrap()
    return inner if isinstance(inner, oss.exceptions.ServiceError) else None


def _status(error) -> Optional[int]:
    inner = _service_error(error)
    return inner.status_code if inner is not None else None


def _code(error) -> Optional[str]:
    inner = _service_error(error)
    return inner.code if inner is not None else None
