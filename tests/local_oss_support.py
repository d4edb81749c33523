"""Fixture pieces shared by the emulator tests: a running emulator with a fake clock, and
requests to it signed by the official SDK's V4 signer (the bucket is private)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional
from urllib.parse import unquote, urlsplit

import requests
from alibabacloud_oss_v2.credentials import StaticCredentialsProvider
from alibabacloud_oss_v2.signer import SignerV4
from alibabacloud_oss_v2.types import HttpRequest, SigningContext

from server.config import load_settings
from server.credentials.local import mint
from oss_emulator import create_emulator_app
from oss_emulator.storage import Storage
from tests.net import serve
from tests.ossform import error_code, error_message, multipart, multipart_parts, signed_fields

KEY_ID = "LTAI-test-key"
SECRET = "test-long-term-secret"


class SdkSigned(requests.auth.AuthBase):
    """Signs a request to `/<key>` or `/` (not PostObject's `POST /`) as the SDK would, V4 header
    authentication at the given clock's time. Build query strings percent-encoded (the SDK
    signs the query as it stands in the URL)."""

    def __init__(self, bucket: str, clock, key_id: str = KEY_ID, secret: str = SECRET, token: Optional[str] = None):
        self.bucket, self.clock = bucket, clock
        self.credentials = StaticCredentialsProvider(key_id, secret, token).get_credentials()

    def __call__(self, prepared):
        path = urlsplit(prepared.url).path
        if path in ("", "/") and prepared.method == "POST" and "delete" not in urlsplit(prepared.url).query:
            return prepared  # PostObject: the form carries its own signature
        request = HttpRequest(prepared.method, prepared.url, headers=dict(prepared.headers))
        SignerV4().sign(SigningContext(product="oss", region="cn-hangzhou", bucket=self.bucket,
                                       key=unquote(path[1:]), request=request, credentials=self.credentials,
                                       signing_time=self.clock()))
        prepared.headers.update(request.headers)
        return prepared


@dataclass
class Emu:
    url: str
    directory: str
    clock: object
    settings: object
    http: requests.Session
    app: object = None  # the Emulator itself (tests tune e.g. its callback_timeout)

    def post(self, fields, file_bytes: Optional[bytes] = b"hello", filename="a.bin", **kwargs):
        body, content_type = multipart(fields, file_bytes, filename, **kwargs)
        return self.http.post(self.url + "/", data=body, headers={"Content-Type": content_type}, timeout=10)

    def post_parts(self, parts, boundary="b0undary"):
        body = multipart_parts(parts, boundary)
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return self.http.post(self.url + "/", data=body, headers=headers, timeout=10)

    def sign(self, key="uploads/a.bin", conditions=None, temporary=True, **kwargs):
        now = self.clock()
        if temporary:
            creds = mint(KEY_ID, SECRET, now, 3600)
            return signed_fields(key, creds.access_key_id, creds.access_key_secret, "cn-hangzhou", now,
                                 conditions, token=creds.security_token, **kwargs)
        return signed_fields(key, KEY_ID, SECRET, "cn-hangzhou", now, conditions, **kwargs)

    def files(self):
        """Every file under the storage directory (temporary ones included) but the bucket's creation time."""
        found = []
        for root, _, names in os.walk(self.directory):
            found += [os.path.join(root, n) for n in names]
        return sorted(f for f in found if f != os.path.join(self.directory, Storage.CREATED_FILE))

    def objects(self):
        return sorted(os.listdir(os.path.join(self.directory, "blobs")))


def running_emulator(tmp_path, clock):
    """The body of the `emu` fixture (conftest.py): an emulator on a free port, fake clock."""
    settings = load_settings({
        "CREDENTIALS_TYPE": "local", "OSS_BUCKET": "test-bucket", "OSS_REGION": "cn-hangzhou",
        "LOCAL_OSS_ACCESS_KEY_ID": KEY_ID, "LOCAL_OSS_ACCESS_KEY_SECRET": SECRET,
    })
    directory = str(tmp_path / "oss")
    app = create_emulator_app(settings, clock=clock, storage_dir=directory)
    with serve(app) as url, requests.Session() as http:
        http.auth = SdkSigned(settings.bucket, clock)
        yield Emu(url, directory, clock, settings, http, app)


def assert_refused(emu: Emu, response, status: int, code: str, message: Optional[str] = None) -> None:
    """An OSS XML error with this status and code, and nothing stored or half-written."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/xml")
    assert error_code(response) == code, response.text
    if message is not None:
        assert error_message(response) == message
    assert len(response.headers["x-oss-request-id"]) == 24
    assert emu.files() == [], "a refused upload left files behind"
