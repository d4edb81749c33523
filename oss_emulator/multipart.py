"""The multipart upload API: Initiate, UploadPart, ListParts, Complete and Abort on `/<key>`.

OSS's XML shapes and error codes (research: oss-facts.md E; notes section 2.1). Parts stream to
disk (multipart_store.py), so memory stays flat for any size; Complete assembles the parts into
a temporary file and publishes it through Storage.commit, like PostObject.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from typing import Callable, List, Mapping, Optional, Tuple
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from . import errors
from . import query_params, write_requests
from .errors import OssError
from .multipart_store import DigestMismatch, Part, PartTooLarge, Upload, UploadNotFound, Uploads
from .numbers import decimal
from .object_keys import check_key
from .crc64 import combined
from .key_walk import AFTER_ALL, walk
from .object_meta import CRC64_HEADER, with_crc64
from .storage import ObjectExists, Storage, StoredObject
from .xml_body import document, elements, group, iso_time, malformed_xml, parse_xml

log = logging.getLogger("oss_emulator")

MAX_PART_NUMBER = 10_000
MAX_PART_SIZE = 5 * 1024 ** 3  # 5 GB
MIN_PART_SIZE = 100 * 1024  # every part but the last (checked at Complete only, as OSS does)
MAX_LIST_PARTS = 1000
MAX_LIST_UPLOADS = 1000  # also the default
MAX_COMPLETE_BODY = 4 * 1024 * 1024  # 10,000 <Part> entries fit in well under 2 MiB

# The upload callback of CompleteMultipartUpload (`x-oss-callback`, `x-oss-callback-var`). Called
# with the request before anything is assembled: it refuses a bad callback parameter (OssError
# 400, as OSS) and returns what runs once the object is stored: stored object -> the response to
# send instead of the XML result (200 with the callback's body, or 203 CallbackFailed). None
# until the callback module is connected; a request asking for a callback is then refused.
CallbackHook = Callable[[Request], Callable[[StoredObject], Response]]


def no_such_upload(ec: Optional[str] = None) -> OssError:
    return OssError(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the "
                    "upload may have been aborted or completed.", ec=ec)


def _xml(root: str, fields: List[Tuple[str, object]]) -> Response:
    return document(root, [elements(fields)])


def _parse_complete(body: bytes) -> List[Tuple[int, str]]:
    """(part number, ETag) pairs of a <CompleteMultipartUpload> body, in the order given."""
    root = parse_xml(body, "CompleteMultipartUpload")
    chosen = []
    for part in root:
        number, etag = decimal((part.findtext("PartNumber") or "").strip(), 5), part.findtext("ETag")
        if part.tag != "Part" or number is None or etag is None:
            raise malformed_xml()
        chosen.append((number, etag.strip().strip('"').upper()))
    if not chosen:
        raise malformed_xml()
    return chosen


def _multipart_etag(parts: List[Part]) -> str:
    """OSS's multipart ETag: MD5 of the parts' binary MD5s, upper hex, then `-<count>`."""
    digest = hashlib.md5(b"".join(bytes.fromhex(p.etag) for p in parts)).hexdigest().upper()
    return f"{digest}-{len(parts)}"


def _append(source, out, size: int) -> None:
    """Copy the `size` bytes of `source` to the end of `out` (an unbuffered file): in the kernel
    where it can, with no user-space buffer, else in 1 MiB chunks."""
    copied = 0
    if hasattr(os, "copy_file_range"):
        try:
            while copied < size:
                done = os.copy_file_range(source.fileno(), out.fileno(), size - copied)
                if done == 0:
                    break
                copied += done
        except OSError:
            pass  # not on this file system: the rest in user space
    if copied < size:
        source.seek(copied)
        out.seek(0, os.SEEK_END)
        shutil.copyfileobj(source, out, 1024 * 1024)


class MultipartApi:
    """The five multipart operations; one per emulator, called per (authenticated) request."""

    def __init__(self, settings, clock, storage: Storage, callback: Optional[CallbackHook] = None):
        self.settings = settings
        self.clock = clock
        self.storage = storage
        self.uploads = Uploads(os.path.join(storage.root, "multipart"))
        self.uploads.sweep()
        self.callback = callback

    def _upload(self, query: Mapping[str, str], key: str, ec: Optional[str] = None) -> Upload:
        try:
            return self.uploads.get(query.get("uploadId", ""), key)
        except UploadNotFound:
            raise no_such_upload(ec) from None

    # -- InitiateMultipartUpload: POST /<key>?uploads ------------------------------------------
    def initiate(self, request: Request, key: str, query: Mapping[str, str]) -> Response:
        check_key(key)
        headers = write_requests.object_headers(request, key)
        forbid = bool(write_requests.forbid_overwrite(request))
        if forbid and self.storage.get(key) is not None:
            raise errors.file_exists()
        upload = self.uploads.create(key, headers, self.clock().timestamp(), forbid)
        encoded = query_params.url_encoded(query)
        return _xml("InitiateMultipartUploadResult", query_params.encoding_field(encoded) + [
            ("Bucket", self.settings.bucket), ("Key", query_params.encoder(encoded)(key)),
            ("UploadId", upload.upload_id)])

    # -- UploadPart: PUT /<key>?partNumber=&uploadId= --------------------------------------------
    def upload_part(self, request: Request, key: str, query: Mapping[str, str]) -> Response:
        raw = query.get("partNumber")
        if raw is None:
            raise write_requests.argument("Unexpected query string parameter", "ResourceType", "partNumber",
                                          "0017-00000219")
        number = decimal(raw, 5)
        if number is None or not 1 <= number <= MAX_PART_NUMBER:
            raise write_requests.argument("Part number must be an integer between 1 and 10000, inclusive.",
                                          "PartNumber", raw, "0017-00000220")
        upload = self._upload(query, key, "0042-00000104")
        expected_md5 = write_requests.content_md5(request)
        write_requests.check_length(request, MAX_PART_SIZE)
        try:
            part = self.uploads.write_part(upload, number, write_requests.read_body(request), MAX_PART_SIZE,
                                           self.clock().timestamp(), expected_md5)
        except UploadNotFound:
            raise no_such_upload("0042-00000104") from None
        except PartTooLarge:
            raise errors.entity_too_large() from None
        except DigestMismatch:
            raise write_requests.digest_mismatch() from None
        response = Response(b"", status=200)
        response.headers.pop("Content-Type", None)
        response.headers["ETag"] = f'"{part.etag}"'
        response.headers[CRC64_HEADER] = part.crc64
        return response

    # -- ListParts: GET /<key>?uploadId= ---------------------------------------------------------
    def list_parts(self, request: Request, key: str, query: Mapping[str, str]) -> Response:
        upload = self._upload(query, key, "0042-00000002")
        encoded = query_params.url_encoded(query)
        limit = query_params.integer(query, "max-parts", MAX_LIST_PARTS, 1, MAX_LIST_PARTS)
        marker = query_params.integer(query, "part-number-marker", 0, 0, MAX_PART_NUMBER)
        try:
            parts = [p for p in self.uploads.parts(upload) if p.number > marker]
        except UploadNotFound:
            raise no_such_upload("0042-00000002") from None
        shown, truncated = parts[:limit], len(parts) > limit
        fields = query_params.encoding_field(encoded) + [
            ("Bucket", self.settings.bucket), ("Key", query_params.encoder(encoded)(key)),
            ("UploadId", upload.upload_id), ("StorageClass", upload.headers.get("x-oss-storage-class", "Standard")),
            ("PartNumberMarker", marker), ("NextPartNumberMarker", shown[-1].number if shown else marker),
            ("MaxParts", limit), ("IsTruncated", "true" if truncated else "false"),
        ]
        return document("ListPartsResult", [elements(fields)] + [
            group("Part", [("PartNumber", part.number), ("LastModified", iso_time(part.last_modified)),
                           ("ETag", f'"{part.etag}"'), ("Size", part.size)]) for part in shown])

    # -- ListMultipartUploads: GET /?uploads ----------------------------------------------------
    def list_uploads(self, request: Request, query: Mapping[str, str]) -> Response:
        encoded = query_params.url_encoded(query)
        encode = query_params.encoder(encoded)
        prefix = query_params.name(query, "prefix")
        delimiter = query_params.delimiter(query)
        limit = query_params.integer(query, "max-uploads", MAX_LIST_UPLOADS, 1, MAX_LIST_UPLOADS)
        key_marker = query_params.name(query, "key-marker")
        # OSS: upload-id-marker counts only with key-marker; then that key's uploads with a greater
        # id follow. Without it, every upload of the key-marker itself is skipped.
        id_marker = query_params.optional(query, "upload-id-marker") if key_marker else None
        uploads = {(u.key, u.upload_id): u for u in self.uploads.all()}
        entries, truncated = walk(sorted(uploads), prefix, (key_marker, id_marker or AFTER_ALL), delimiter, limit)
        last = entries[-1][0] if entries else ("", "")
        fields = query_params.encoding_field(encoded) + [
            ("Bucket", self.settings.bucket), ("KeyMarker", encode(key_marker)), ("UploadIdMarker", id_marker or ""),
            ("NextKeyMarker", encode(last[0])), ("NextUploadIdMarker", last[1]), ("Delimiter", encode(delimiter or "")),
            ("Prefix", encode(prefix)), ("MaxUploads", limit), ("IsTruncated", "true" if truncated else "false"),
        ]
        parts = [elements(fields)]
        for item, common in entries:
            if not common:
                upload = uploads[item]
                parts.append(group("Upload", [("Key", encode(upload.key)), ("UploadId", upload.upload_id),
                                              ("Initiated", iso_time(upload.initiated))]))
        parts += [group("CommonPrefixes", [("Prefix", encode(item[0]))]) for item, common in entries if common]
        return document("ListMultipartUploadsResult", parts)

    # -- AbortMultipartUpload: DELETE /<key>?uploadId= -------------------------------------------
    def abort(self, request: Request, key: str, query: Mapping[str, str]) -> Response:
        upload = self._upload(query, key, "0042-00000002")
        with self.uploads.lock(upload.upload_id):
            try:
                self.uploads.remove(upload)
            except UploadNotFound:
                raise no_such_upload("0042-00000002") from None
        return Response(b"", status=204)

    # -- CompleteMultipartUpload: POST /<key>?uploadId= ------------------------------------------
    def complete(self, request: Request, key: str, query: Mapping[str, str]) -> Response:
        upload = self._upload(query, key)
        complete_all = request.headers.get("x-oss-complete-all")
        if complete_all is not None and complete_all.strip().lower() != "yes":
            raise write_requests.argument("x-oss-complete-all must be yes.", "x-oss-complete-all", complete_all)
        body = write_requests.xml_body(request, MAX_COMPLETE_BODY)
        if complete_all is not None and body:
            raise write_requests.argument("Should not speficy both complete all header and http body.", "x-oss-complete-all",
                            "yes", "0042-00000216")
        forbid = write_requests.forbid_overwrite(request)
        forbid = upload.forbid_overwrite if forbid is None else forbid or upload.forbid_overwrite
        chosen = None if complete_all is not None else _parse_complete(body)
        run_callback = None
        if request.headers.get("x-oss-callback") is not None:
            if self.callback is None:
                # Not connected: refuse before anything is assembled rather than skip the callback.
                raise OssError(501, "NotImplemented", "Upload callbacks on CompleteMultipartUpload are not "
                                                      "available in this emulator build.")
            run_callback = self.callback(request)  # CALLBACK HOOK (1 of 2): check the parameter
        with self.uploads.lock(upload.upload_id):
            try:
                parts = self._chosen_parts(upload, chosen)
                obj = self._assemble(upload, parts, forbid)
                self.uploads.remove(upload)
            except UploadNotFound:
                raise no_such_upload() from None
        log.info("本地 OSS 已合并分片上传 %s（%d 个分片，%d 字节）", key, len(parts), obj.size)
        if run_callback is not None:
            return with_crc64(run_callback(obj), obj)  # CALLBACK HOOK (2 of 2): call back, answer with its result
        encoded = query_params.url_encoded(query)
        response = _xml("CompleteMultipartUploadResult", query_params.encoding_field(encoded) + [
            ("Location", request.host_url.rstrip("/") + "/" + quote(key, safe="/")),
            ("Bucket", self.settings.bucket), ("Key", query_params.encoder(encoded)(key)), ("ETag", f'"{obj.etag}"')])
        response.headers["ETag"] = f'"{obj.etag}"'
        return with_crc64(response, obj)

    def _chosen_parts(self, upload: Upload, chosen: Optional[List[Tuple[int, str]]]) -> List[Part]:
        uploaded = {p.number: p for p in self.uploads.parts(upload)}
        invalid_part = OssError(400, "InvalidPart", "One or more of the specified parts could not be found or the "
                                "specified entity tag might not have matched the part's entity tag.")
        if chosen is None:  # x-oss-complete-all: every uploaded part, by number
            parts = [uploaded[n] for n in sorted(uploaded)]
            if not parts:
                raise invalid_part
        else:
            numbers = [n for n, _ in chosen]
            if any(b <= a for a, b in zip(numbers, numbers[1:])):
                raise OssError(400, "InvalidPartOrder", "The list of parts was not in ascending order.",
                               ec="0042-00000209")
            parts = []
            for number, etag in chosen:
                part = uploaded.get(number)
                if part is None or part.etag != etag:
                    raise invalid_part
                parts.append(part)
        if any(p.size < MIN_PART_SIZE for p in parts[:-1]):
            raise OssError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.",
                           ec="0042-00000213")
        return parts

    def _assemble(self, upload: Upload, parts: List[Part], forbid: bool) -> StoredObject:
        """Stream the parts into one temporary file, then publish it like any upload."""
        fd, temp = tempfile.mkstemp(dir=self.storage.temp_dir, prefix="complete-", suffix=".part")
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                for part in parts:
                    with self.uploads.open_part(upload, part) as source:
                        _append(source, out, part.size)
            size = sum(p.size for p in parts)
            # OSS gives the whole object a CRC only when every part has one.
            crc = str(combined((int(p.crc64), p.size) for p in parts)) if all(p.crc64 for p in parts) else ""
            try:
                return self.storage.commit(temp, upload.key, size, _multipart_etag(parts), upload.headers,
                                           self.clock().timestamp(), forbid, crc)
            except ObjectExists:
                raise errors.file_exists() from None
        except FileNotFoundError:
            raise UploadNotFound(upload.upload_id) from None
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
