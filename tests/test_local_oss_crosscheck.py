"""The emulator against a second, independent V4 implementation (tests/ossform.py)."""
from __future__ import annotations

import json

import pytest

from server.credentials.local import mint
from tests.local_oss_support import KEY_ID, SECRET
from tests.ossform import VECTOR_POLICY, VECTOR_SIGNATURE, b64_policy, error_code, signed_fields, utc, v4_signature

def test_independent_signer_reproduces_the_published_vector():
    signature = v4_signature("testsecret", "20261129", "cn-hangzhou", b64_policy(VECTOR_POLICY))
    assert signature == VECTOR_SIGNATURE
    spaced = v4_signature("testsecret", "20261129", "cn-hangzhou", b64_policy(json.dumps(json.loads(VECTOR_POLICY))))
    assert spaced.startswith("bb614c9b")


def policy_text(emu, creds, layout):
    now = emu.clock()
    policy = {
        "expiration": "2026-11-29T02:30:00.000Z",
        "conditions": [
            {"bucket": "test-bucket"},
            {"x-oss-signature-version": "OSS4-HMAC-SHA256"},
            {"x-oss-credential": f"{creds.access_key_id}/{now:%Y%m%d}/cn-hangzhou/oss/aliyun_v4_request"},
            {"x-oss-date": now.strftime("%Y%m%dT%H%M%SZ")},
            {"x-oss-security-token": creds.security_token},
            ["content-length-range", 1, 1024],
            ["starts-with", "$key", "uploads/"],
            ["eq", "$success_action_status", "200"],
            ["eq", "$Content-Type", "image/png"],
        ],
    }
    return {"compact": json.dumps(policy, separators=(",", ":")), "default": json.dumps(policy),
            "indented": json.dumps(policy, indent=2)}[layout]


def good_form(emu, layout="compact"):
    creds = mint(KEY_ID, SECRET, emu.clock(), 3600)
    return signed_fields("uploads/pic.png", creds.access_key_id, creds.access_key_secret, "cn-hangzhou", emu.clock(),
                         token=creds.security_token, policy=policy_text(emu, creds, layout),
                         extra=[("success_action_status", "200"), ("Content-Type", "image/png")])


@pytest.mark.parametrize("layout", ["compact", "default", "indented"])
def test_forms_signed_independently_are_accepted(emu, layout):
    response = emu.post(good_form(emu, layout), b"\x89PNG")
    assert response.status_code == 200, response.text
    assert emu.http.get(emu.url + "/uploads/pic.png").headers["Content-Type"] == "image/png"


def flip(value: str, index: int) -> str:
    """The same string with one byte changed, staying in the value's alphabet where possible."""
    char = value[index]
    replacement = {"0": "1", "a": "b", "A": "B", "/": "+", "+": "/", "=": "A"}.get(char)
    if replacement is None:
        replacement = "b" if char != "b" else "c"
    return value[:index] + replacement + value[index + 1:]


@pytest.mark.parametrize("field,index,status,code", [
    ("policy", 10, 403, "SignatureDoesNotMatch"),
    ("policy", -5, 403, "SignatureDoesNotMatch"),
    ("x-oss-signature", 0, 403, "SignatureDoesNotMatch"),
    ("x-oss-signature", -1, 403, "SignatureDoesNotMatch"),
    ("x-oss-credential", 6, 403, "InvalidAccessKeyId"),  # another temporary id: its token no longer matches
    ("x-oss-date", -2, 403, "AccessDenied"),  # still a valid date, but no longer the one the policy pins
    ("x-oss-security-token", 3, 403, "InvalidSecurityToken"),
    ("key", 0, 403, "AccessDenied"),
    ("success_action_status", 2, 403, "AccessDenied"),
    ("Content-Type", 0, 403, "AccessDenied"),
])
def test_one_byte_changed_is_refused(emu, field, index, status, code):
    form = good_form(emu)
    changed = [(name, flip(value, index) if name == field else value) for name, value in form]
    assert changed != form
    response = emu.post(changed, b"\x89PNG")
    assert (response.status_code, error_code(response)) == (status, code), response.text
    assert emu.http.get(emu.url + "/uploads/pic.png").status_code == 404


def test_one_byte_changed_in_the_file_is_stored_as_sent(emu):
    """The signature covers the policy, not the bytes: what arrives is what is stored, ETag and all."""
    assert emu.post(good_form(emu), b"\x89PNG!").status_code == 200
    got = emu.http.get(emu.url + "/uploads/pic.png")
    assert got.content == b"\x89PNG!"


def test_long_term_key_signed_independently(emu):
    fields = signed_fields("uploads/a.bin", KEY_ID, SECRET, "cn-hangzhou", utc(2026, 11, 29, 2, 0, 0),
                           [["starts-with", "$key", "uploads/"]])
    assert emu.post(fields).status_code == 204
