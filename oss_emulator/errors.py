"""OSS-style XML errors: what a client of the real service would see, byte for byte where known."""
from __future__ import annotations

import base64
import re
import secrets
from typing import Optional
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response


class OssError(Exception):
    """One refusal: HTTP status, OSS error code, OSS message and, where documented, the EC."""

    def __init__(self, status: int, code: str, message: str, ec: Optional[str] = None, extra: Optional[dict] = None):
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.ec = ec
        self.extra = extra or {}


REQUEST_ID = "oss_emulator.request_id"  # the WSGI environ key app.py puts the request id under


def new_request_id() -> str:
    # OSS request ids are 24 upper-case hex characters.
    return secrets.token_hex(12).upper()


# Characters XML 1.0 cannot carry even escaped; a client's field name may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value) -> str:
    """`value` as XML character data: escaped, and what XML cannot carry replaced by U+FFFD."""
    return escape(_NOT_XML.sub("\ufffd", str(value)))


def error_body(error: OssError, request_id: str, host_id: str) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n',
        f"  <Code>{xml_text(error.code)}</Code>\n",
        f"  <Message>{xml_text(error.message)}</Message>\n",
        f"  <RequestId>{request_id}</RequestId>\n",
        f"  <HostId>{xml_text(host_id)}</HostId>\n",
    ]
    for name, value in error.extra.items():
        parts.append(f"  <{name}>{xml_text(value)}</{name}>\n")
    if error.ec:
        parts.append(f"  <EC>{error.ec}</EC>\n")
        parts.append(f"  <RecommendDoc>https://api.aliyun.com/troubleshoot?q={error.ec}</RecommendDoc>\n")
    parts.append("</Error>\n")
    return "".join(parts).encode("utf-8")


def error_response(error: OssError, request_id: str, host_id: str, head: bool = False) -> Response:
    """The XML error; for HEAD no body, the XML base64-encoded in `x-oss-err` instead (as OSS
    does, and where the SDK looks for it)."""
    body = error_body(error, request_id, host_id)
    response = Response(b"" if head else body, status=error.status, content_type="application/xml")
    if head:
        response.headers["x-oss-err"] = base64.b64encode(body).decode("ascii")
    response.headers["x-oss-request-id"] = request_id
    if error.ec:
        response.headers["x-oss-ec"] = error.ec
    return response


# Messages below are OSS's own where the notes or OSS's documentation quote them; the rest follow
# OSS's wording style and are marked (unverified) where they are defined.

def malformed_post() -> OssError:
    return OssError(400, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")


def key_order() -> OssError:
    return OssError(
        400,
        "InvalidArgument",
        "The bucket POST must contain the specified 'key'. If it is specified, please check the order of the fields",
    )


def file_not_last() -> OssError:
    # EC from OSS's troubleshooting page for "the file field is not the last field"; message unverified.
    return OssError(400, "InvalidArgument", "The file field must be the last field in the form.", ec="0006-00000103")


def file_missing() -> OssError:
    # Unverified wording, modelled on the 'key' message.
    return OssError(
        400,
        "InvalidArgument",
        "The bucket POST must contain the specified 'file'. If it is specified, please check the order of the fields",
    )


def field_too_long() -> OssError:
    return OssError(400, "FieldItemTooLong", "Your form field items are too long.")


def entity_too_large() -> OssError:
    return OssError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")


def entity_too_small() -> OssError:
    return OssError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.")


def invalid_policy(detail: str) -> OssError:
    return OssError(400, "InvalidPolicyDocument", f"Invalid Policy: {detail}")


def policy_expired() -> OssError:
    return OssError(403, "AccessDenied", "Invalid according to Policy: Policy expired.")


def condition_failed(described: str) -> OssError:
    return OssError(403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {described}")


def signature_mismatch() -> OssError:
    return OssError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    )


def unknown_access_key() -> OssError:
    return OssError(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.")


def file_exists() -> OssError:
    return OssError(409, "FileAlreadyExists", "The object you specified already exists and can not be overwritten.")


def no_such_key() -> OssError:
    return OssError(404, "NoSuchKey", "The specified key does not exist.", ec="0026-00000001")


def method_not_allowed() -> OssError:
    return OssError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
