"""Issue one upload form: plan the object, take cached credentials, sign, shape the answer."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Optional

from .clock import new_object_id
from .credentials import CredentialCache
from .post_form import UploadSpec, iso8601_ms, policy_expiry, sign_upload
from .upload_rules import parse_size, plan_upload


class UploadSigner:
    def __init__(self, settings, credentials: CredentialCache, clock: Callable[[], datetime], new_id=None,
                 callbacks=None, quota=None):
        self.settings = settings
        self.credentials = credentials
        self.clock = clock
        self.new_id = new_id or new_object_id
        self.callbacks = callbacks  # upload_callback.UploadCallbacks, or None with callbacks off
        self.quota = quota  # quota.Quota, or None (tests of the form alone)

    def sign(self, filename: Optional[str], size: Optional[str], folder: str = "") -> dict:
        """The JSON for GET /generate_signature. `folder` is a per-user sub-directory."""
        settings = self.settings
        now = self.clock()
        nameless = settings.allow_nameless_uploads
        target = plan_upload(filename, settings.allowed_extensions, settings.upload_dir + folder, now, self.new_id,
                             allow_nameless=nameless)
        declared = parse_size(size, settings.max_size, required=not nameless)
        creds = self.credentials.get()
        expires_at = policy_expiry(now, settings.expire_seconds, creds.expiration)
        if self.quota is not None:
            # A form without a declared size may carry up to the maximum: hold that much.
            self.quota.reserve(folder, target.key, declared or settings.max_size, expires_at)
        callback = self.callbacks.form_field(target.key, folder, expires_at) if self.callbacks else None
        spec = UploadSpec(
            bucket=settings.bucket,
            key=target.key,
            # Exactly the declared size: a form declared for 1 byte cannot carry 50 MiB.
            min_size=declared or 1,
            max_size=declared or settings.max_size,
            content_type=target.content_type,
            content_disposition=target.content_disposition,
            callback=callback,
        )
        form = sign_upload(spec, creds, settings.region, now, expires_at)
        return {
            # The original tutorial's six fields, under its names.
            "policy": form.policy,
            "x_oss_signature_version": form.fields["x-oss-signature-version"],
            "x_oss_credential": form.credential,
            "x_oss_date": form.date,
            "signature": form.signature,
            "security_token": creds.security_token,
            "host": settings.upload_host,
            "key": target.key,
            "expire": iso8601_ms(form.expires_at),
            "maxSize": settings.max_size,
            "formData": form.fields,
        }
