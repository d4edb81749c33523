"""PostObject judged like OSS: one test (at least) per rule, each asserting status and Code."""
from __future__ import annotations

import hashlib
import json
import re
import threading
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import quote

import pytest
import requests

from server.credentials.local import mint
from tests.local_oss_support import KEY_ID, SECRET, assert_refused
from tests.ossform import error_code, error_message, signed_fields, v4_signature

KEY_MESSAGE = ("The bucket POST must contain the specified 'key'. If it is specified, "
               "please check the order of the fields")
SIGNATURE_MESSAGE = ("The request signature we calculated does not match the signature you provided. "
                     "Check your key and signing method.")


def failed(condition: str) -> str:
    return "Invalid according to Policy: Policy Condition failed: " + condition


def replace(fields, name, value):
    return [(n, value if n == name else v) for n, v in fields]


def without(fields, name):
    return [(n, v) for n, v in fields if n != name]


# -- success ------------------------------------------------------------------------------

@pytest.mark.parametrize("requested,status", [("200", 200), ("204", 204), (None, 204), ("302", 204), ("abc", 204)])
def test_success_status_empty_body(emu, requested, status):
    extra = [("success_action_status", requested)] if requested else []
    response = emu.post(emu.sign(extra=extra), b"hello")
    assert response.status_code == status
    assert response.content == b""
    assert response.headers["ETag"] == '"%s"' % hashlib.md5(b"hello").hexdigest().upper()
    assert re.fullmatch(r"[0-9A-F]{24}", response.headers["x-oss-request-id"])


def test_success_201_post_response_xml(emu):
    response = emu.post(emu.sign("uploads/x y.png", extra=[("success_action_status", "201")]), b"png")
    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "PostResponse"
    assert root.findtext("Bucket") == "test-bucket"
    assert root.findtext("Key") == "uploads/x y.png"
    assert root.findtext("ETag") == response.headers["ETag"]
    assert root.findtext("Location") == emu.url + "/uploads/x%20y.png"


def test_long_term_key_without_token_is_accepted(emu):
    assert emu.post(emu.sign(temporary=False)).status_code == 204


def test_stored_object_reads_back_with_headers(emu):
    disposition = "attachment; filename=\"a.txt\"; filename*=UTF-8''%E4%B8%AD.txt"
    fields = emu.sign("uploads/a.txt", extra=[("Content-Type", "text/plain; charset=utf-8"),
                                              ("Content-Disposition", disposition), ("x-oss-meta-owner", "me")])
    assert emu.post(fields, b"\x00\x01bytes\xff").status_code == 204
    got = emu.http.get(emu.url + "/uploads/a.txt")
    assert got.status_code == 200 and got.content == b"\x00\x01bytes\xff"
    assert got.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert got.headers["Content-Disposition"] == disposition
    assert got.headers["x-oss-meta-owner"] == "me"
    head = emu.http.head(emu.url + "/uploads/a.txt")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == "8" and head.headers["ETag"] == got.headers["ETag"]
    part = emu.http.get(emu.url + "/uploads/a.txt", headers={"Range": "bytes=2-6"})
    assert part.status_code == 206 and part.content == b"bytes"


def test_filename_variable_in_key_is_expanded_after_the_policy_check(emu):
    fields = emu.sign("uploads/${filename}", [["starts-with", "$key", "uploads/"]])
    assert emu.post(fields, b"x", filename="photo.jpg").status_code == 204
    got = emu.http.get(emu.url + "/uploads/photo.jpg")
    assert got.content == b"x" and got.headers["Content-Type"] == "image/jpeg"


def test_missing_object_is_no_such_key(emu):
    response = emu.http.get(emu.url + "/nope.txt")
    assert response.status_code == 404 and error_code(response) == "NoSuchKey"
    assert response.headers["Content-Type"].startswith("application/xml")


def test_other_methods_are_refused(emu):
    response = emu.http.put(emu.url + "/a.txt", data=b"x")
    assert response.status_code == 405 and error_code(response) == "MethodNotAllowed"


def test_error_xml_shape(emu):
    response = emu.post(replace(emu.sign(), "x-oss-signature", "0" * 64))
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    assert root.findtext("RequestId") == response.headers["x-oss-request-id"]
    assert root.findtext("HostId") == emu.url.split("//")[1]


# -- field order and presence ----------------------------------------------------------------

def test_file_must_be_last(emu):
    fields = emu.sign()
    parts = [(n, v.encode(), None) for n, v in fields] + [("file", b"x", "a.bin"), ("x-oss-meta-late", b"1", None)]
    response = emu.post_parts(parts)
    assert_refused(emu, response, 400, "InvalidArgument")
    assert ET.fromstring(response.content).findtext("EC") == "0006-00000103"


def test_key_must_come_before_file(emu):
    fields = emu.sign()
    parts = [(n, v.encode(), None) for n, v in fields if n != "key"] + [("file", b"x", "a.bin"), ("key", b"k", None)]
    assert_refused(emu, emu.post_parts(parts), 400, "InvalidArgument", KEY_MESSAGE)


def test_key_is_required(emu):
    assert_refused(emu, emu.post(without(emu.sign(), "key")), 400, "InvalidArgument", KEY_MESSAGE)


def test_file_is_required(emu):
    assert_refused(emu, emu.post(emu.sign(), None), 400, "InvalidArgument")


def test_repeated_field_is_refused(emu):
    fields = emu.sign() + [("Key", "uploads/other.bin")]
    assert_refused(emu, emu.post(fields), 400, "InvalidArgument")


# -- policy grammar ------------------------------------------------------------------------

def post_policy(emu, policy, key="uploads/a.bin", secret=SECRET):
    """Sign `policy` (dict or JSON text) with the long-term key, exactly as given."""
    return emu.post(signed_fields(key, KEY_ID, secret, "cn-hangzhou", emu.clock(), policy=policy))


EXPIRES = "2026-11-29T02:10:00.000Z"


@pytest.mark.parametrize("policy", [
    "not json at all",
    '{"expiration": "2026-11-29T02:10:00.000Z", "conditions": [',
    '["expiration", "conditions"]',
    {"conditions": [{"key": "uploads/a.bin"}]},
    {"expiration": EXPIRES},
    {"expiration": EXPIRES, "conditions": []},
    {"expiration": EXPIRES, "conditions": {"key": "x"}},
    {"expiration": "tomorrow", "conditions": [{"key": "uploads/a.bin"}]},
    {"expiration": "2026-13-40T02:10:00.000Z", "conditions": [{"key": "uploads/a.bin"}]},
    {"expiration": EXPIRES, "conditions": [["matches", "$key", "x"]]},
    {"expiration": EXPIRES, "conditions": [["$key", "uploads/a.bin"]]},
    {"expiration": EXPIRES, "conditions": [["eq", "$key"]]},
    {"expiration": EXPIRES, "conditions": [["eq", "$key", "a", "b"]]},
    {"expiration": EXPIRES, "conditions": [["starts-with", "key", "uploads/"]]},
    {"expiration": EXPIRES, "conditions": [["in", "$key", "uploads/a.bin"]]},
    {"expiration": EXPIRES, "conditions": [["not-in", "$key", "uploads/b.bin"]]},
    {"expiration": EXPIRES, "conditions": [["in", "$key", [1, 2]]]},
    {"expiration": EXPIRES, "conditions": [["content-length-range", "1", "10"]]},
    {"expiration": EXPIRES, "conditions": [["content-length-range", 10, 1]]},
    {"expiration": EXPIRES, "conditions": [["content-length-range", 1, 10, 100]]},
    {"expiration": EXPIRES, "conditions": [{"key": "uploads/a.bin", "bucket": "test-bucket"}]},
    {"expiration": EXPIRES, "conditions": [{}]},
    {"expiration": EXPIRES, "conditions": [{"key": 5}]},
    {"expiration": EXPIRES, "conditions": ["key"]},
    {"expiration": EXPIRES, "conditions": [[]]},
], ids=lambda p: (p if isinstance(p, str) else json.dumps(p))[:60])
def test_malformed_policy_is_invalid_policy_document(emu, policy):
    assert_refused(emu, post_policy(emu, policy), 400, "InvalidPolicyDocument")


def test_two_property_object_message(emu):
    response = post_policy(emu, {"expiration": EXPIRES, "conditions": [{"key": "a", "bucket": "b"}]})
    assert error_message(response) == ("Invalid Policy: Invalid Simple-Condition: "
                                       "Simple-Conditions must have exactly one property specified.")


def test_policy_that_is_not_base64(emu):
    fields = emu.sign()
    day = emu.clock().strftime("%Y%m%d")
    fields = replace(fields, "policy", "%%%not-base64%%%")
    fields = replace(fields, "x-oss-signature", v4_signature(SECRET, day, "cn-hangzhou", "%%%not-base64%%%"))
    fields = replace(fields, "x-oss-credential", f"{KEY_ID}/{day}/cn-hangzhou/oss/aliyun_v4_request")
    fields = without(fields, "x-oss-security-token")
    assert_refused(emu, emu.post(fields), 400, "InvalidPolicyDocument")


@pytest.mark.parametrize("condition", [
    {"key": "uploads/a.bin"},
    ["eq", "$key", "uploads/a.bin"],
    ["starts-with", "$key", "uploads/"],
    ["starts-with", "$key", ""],
    ["in", "$key", ["uploads/b.bin", "uploads/a.bin"]],
    ["not-in", "$key", ["uploads/b.bin"]],
    ["content-length-range", 5, 5],
    {"bucket": "test-bucket"},
    ["EQ", "$key", "uploads/a.bin"],
])
def test_every_condition_form_passes_when_it_holds(emu, condition):
    response = post_policy(emu, {"expiration": EXPIRES, "conditions": [condition]})
    assert response.status_code == 204, response.text


def test_dollar_escape_in_policy_values(emu):
    text = '{"expiration":"%s","conditions":[["eq","$x-oss-meta-price","5\\\\$ \\$5"]]}' % EXPIRES
    # In the JSON text `\\$` is an escaped backslash then `$`, and `\$` is OSS's escape for a literal `$`.
    fields = signed_fields("uploads/a.bin", KEY_ID, SECRET, "cn-hangzhou", emu.clock(), policy=text,
                           extra=[("x-oss-meta-price", "5\\$ $5")])
    assert emu.post(fields).status_code == 204
    fields = replace(fields, "x-oss-meta-price", "other")
    response = emu.post(fields)
    assert response.status_code == 403
    assert error_message(response) == failed('["eq", "$x-oss-meta-price", "5\\\\$ $5"]')


# -- conditions ----------------------------------------------------------------------------

def test_expired_policy(emu):
    fields = emu.sign(expires_in=600)
    emu.clock.advance(601)
    assert_refused(emu, emu.post(fields), 403, "AccessDenied", "Invalid according to Policy: Policy expired.")


def test_policy_valid_until_its_expiration(emu):
    fields = emu.sign(expires_in=600)
    emu.clock.advance(600)
    assert emu.post(fields).status_code == 204


@pytest.mark.parametrize("condition,described", [
    (["eq", "$key", "uploads/b.bin"], '["eq", "$key", "uploads/b.bin"]'),
    ({"key": "uploads/b.bin"}, '["eq", "$key", "uploads/b.bin"]'),
    ({"bucket": "other-bucket"}, '["eq", "$bucket", "other-bucket"]'),
    (["starts-with", "$key", "photos/"], '["starts-with", "$key", "photos/"]'),
    (["in", "$key", ["a", "b"]], '["in", "$key", ["a", "b"]]'),
    (["not-in", "$key", ["uploads/a.bin"]], '["not-in", "$key", ["uploads/a.bin"]]'),
    (["eq", "$x-oss-meta-absent", ""], '["eq", "$x-oss-meta-absent", ""]'),
    (["starts-with", "$Cache-Control", ""], '["starts-with", "$Cache-Control", ""]'),
    (["not-in", "$x-oss-meta-absent", ["z"]], '["not-in", "$x-oss-meta-absent", ["z"]]'),
])
def test_failed_condition_is_access_denied_in_eq_form(emu, condition, described):
    response = emu.post(emu.sign("uploads/a.bin", [condition]))
    assert_refused(emu, response, 403, "AccessDenied", failed(described))


def test_first_failing_condition_is_reported(emu):
    conditions = [["starts-with", "$key", "uploads/"], ["eq", "$success_action_status", "200"], {"key": "zzz"}]
    response = emu.post(emu.sign("uploads/a.bin", conditions, extra=[("success_action_status", "201")]))
    assert error_message(response) == failed('["eq", "$success_action_status", "200"]')


def test_field_names_match_case_insensitively(emu):
    fields = emu.sign("uploads/a.png", [["eq", "$content-type", "image/png"], {"X-OSS-META-A": "1"}],
                      extra=[("Content-Type", "image/png"), ("x-oss-meta-a", "1")])
    assert emu.post(fields).status_code == 204


def test_form_fields_outside_the_policy_are_allowed(emu):
    assert emu.post(emu.sign(extra=[("x-oss-meta-extra", "1"), ("Cache-Control", "no-cache")])).status_code == 204


def test_the_bucket_condition_ignores_a_bucket_form_field(emu):
    fields = emu.sign("uploads/a.bin", [{"bucket": "evil"}], extra=[("bucket", "evil")])
    assert_refused(emu, emu.post(fields), 403, "AccessDenied", failed('["eq", "$bucket", "evil"]'))


# -- size ----------------------------------------------------------------------------------

def test_entity_too_large(emu):
    response = emu.post(emu.sign(conditions=[["content-length-range", 1, 4]]), b"12345")
    assert_refused(emu, response, 400, "EntityTooLarge")


def test_entity_too_small(emu):
    response = emu.post(emu.sign(conditions=[["content-length-range", 6, 10]]), b"12345")
    assert_refused(emu, response, 400, "EntityTooSmall")


def test_empty_file_against_a_minimum_of_one(emu):
    assert_refused(emu, emu.post(emu.sign(conditions=[["content-length-range", 1, 10]]), b""), 400, "EntityTooSmall")


def test_field_values_over_two_megabytes(emu):
    fields = emu.sign(extra=[("x-oss-meta-a", "a" * (1024 * 1024)), ("x-oss-meta-b", "b" * (1024 * 1024))])
    assert_refused(emu, emu.post(fields), 400, "FieldItemTooLong")


def test_field_names_over_eight_kilobytes(emu):
    fields = emu.sign(extra=[(f"x-oss-meta-{i:04d}-{'n' * 80}", "1") for i in range(100)])
    assert_refused(emu, emu.post(fields), 400, "FieldItemTooLong")


def test_five_gigabyte_limit_stops_the_stream(tmp_path):
    from oss_emulator.errors import OssError
    from oss_emulator.form_parser import parse_form
    from tests.ossform import multipart

    body, content_type = multipart([("key", "k")], b"x" * 1000)
    chunks = iter([body[i:i + 100] for i in range(0, len(body), 100)] + [b""])
    with pytest.raises(OssError) as raised:
        parse_form(lambda n: next(chunks), content_type.split("=", 1)[1].encode(), str(tmp_path), max_file_size=999)
    assert raised.value.code == "EntityTooLarge" and raised.value.status == 400
    assert list(tmp_path.iterdir()) == []


# -- signature, credential, date, token ------------------------------------------------------

def test_wrong_signature(emu):
    response = emu.post(replace(emu.sign(), "x-oss-signature", "0" * 64))
    assert_refused(emu, response, 403, "SignatureDoesNotMatch", SIGNATURE_MESSAGE)


def test_signature_with_the_wrong_secret(emu):
    fields = signed_fields("uploads/a.bin", KEY_ID, "not-the-secret", "cn-hangzhou", emu.clock(),
                           [{"key": "uploads/a.bin"}])
    assert_refused(emu, emu.post(fields), 403, "SignatureDoesNotMatch", SIGNATURE_MESSAGE)


def test_uppercase_hex_signature_is_not_the_signature(emu):
    fields = emu.sign()
    signature = dict(fields)["x-oss-signature"]
    assert_refused(emu, emu.post(replace(fields, "x-oss-signature", signature.upper())), 403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("version", ["OSS2", "oss4-hmac-sha256", ""])
def test_signature_version_must_be_v4(emu, version):
    assert_refused(emu, emu.post(replace(emu.sign(), "x-oss-signature-version", version)), 400, "InvalidArgument")


def test_unsigned_form_is_access_denied(emu):
    assert_refused(emu, emu.post([("key", "uploads/a.bin")]), 403, "AccessDenied")


def test_policy_is_required(emu):
    assert_refused(emu, emu.post(without(emu.sign(), "policy")), 400, "InvalidArgument")


def _scope(emu, key_id=KEY_ID, day=None, region="cn-hangzhou", service="oss", suffix="aliyun_v4_request"):
    return f"{key_id}/{day or emu.clock().strftime('%Y%m%d')}/{region}/{service}/{suffix}"


@pytest.mark.parametrize("change,ec,message", [
    (dict(region="cn-beijing"), "0002-00000715", "The signing region in credential is invalid."),
    (dict(region="oss-cn-hangzhou"), "0002-00000715", "The signing region in credential is invalid."),
    (dict(service="s3"), "0002-00000710", None),
    (dict(suffix="aws4_request"), "0002-00000710", None),
    (dict(day="2026-11-29"), "0002-00000709", None),
    (dict(day="20261128"), "0002-00000709", None),
    (dict(key_id="LTAI\tx"), "0002-00000708", None),
])
def test_credential_scope(emu, change, ec, message):
    """The scope is checked before the signature, so the form needs no re-signing to be refused."""
    fields = replace(emu.sign(temporary=False), "x-oss-credential", _scope(emu, **change))
    response = emu.post(fields)
    assert_refused(emu, response, 400, "InvalidArgument", message)
    assert ET.fromstring(response.content).findtext("EC") == ec


def test_credential_with_four_parts(emu):
    fields = replace(emu.sign(temporary=False), "x-oss-credential", f"{KEY_ID}/20261129/cn-hangzhou/oss")
    assert_refused(emu, emu.post(fields), 400, "InvalidArgument")


@pytest.mark.parametrize("value", ["20261129T020000", "2026-11-29T02:00:00Z", "20261129T250000Z", ""])
def test_malformed_x_oss_date(emu, value):
    assert_refused(emu, emu.post(replace(emu.sign(), "x-oss-date", value)), 400, "InvalidArgument")


def sign_at(emu, moment, expires_in=600):
    return signed_fields("uploads/a.bin", KEY_ID, SECRET, "cn-hangzhou", moment, [{"key": "uploads/a.bin"}],
                         expires_in=expires_in)


def test_date_fourteen_minutes_ahead_is_accepted(emu):
    assert emu.post(sign_at(emu, emu.clock() + timedelta(minutes=14))).status_code == 204


def test_date_sixteen_minutes_ahead_is_refused(emu):
    # Stays on the same day as the clock (02:16Z), so only the skew rule can refuse it.
    response = emu.post(sign_at(emu, emu.clock() + timedelta(minutes=16)))
    assert_refused(emu, response, 403, "RequestTimeTooSkewed")


def test_date_older_than_seven_days_is_refused(emu):
    fields = sign_at(emu, emu.clock() - timedelta(days=7, seconds=1), expires_in=8 * 86400)
    assert_refused(emu, emu.post(fields), 403, "AccessDenied", "Request has expired.")


def test_date_six_days_old_with_a_live_policy_is_accepted(emu):
    assert emu.post(sign_at(emu, emu.clock() - timedelta(days=6), expires_in=7 * 86400)).status_code == 204


def test_unknown_access_key_id(emu):
    fields = signed_fields("uploads/a.bin", "LTAI-unknown", SECRET, "cn-hangzhou", emu.clock(), [{"key": "uploads/a.bin"}])
    assert_refused(emu, emu.post(fields), 403, "InvalidAccessKeyId",
                   "The OSS Access Key Id you provided does not exist in our records.")


def test_temporary_credentials_need_their_token(emu):
    assert_refused(emu, emu.post(without(emu.sign(), "x-oss-security-token")), 403, "InvalidAccessKeyId")


def test_token_of_other_temporary_credentials(emu):
    other = mint(KEY_ID, SECRET, emu.clock(), 3600)
    fields = replace(emu.sign(), "x-oss-security-token", other.security_token)
    assert_refused(emu, emu.post(fields), 403, "InvalidAccessKeyId")


def test_forged_token(emu):
    fields = emu.sign()
    token = dict(fields)["x-oss-security-token"]
    assert_refused(emu, emu.post(replace(fields, "x-oss-security-token", token[:-2] + "AA")), 403,
                   "InvalidSecurityToken")


def test_token_minted_by_another_long_term_secret(emu):
    creds = mint(KEY_ID, "another-secret", emu.clock(), 3600)
    fields = signed_fields("uploads/a.bin", creds.access_key_id, creds.access_key_secret, "cn-hangzhou", emu.clock(),
                           [{"key": "uploads/a.bin"}], token=creds.security_token)
    assert_refused(emu, emu.post(fields), 403, "InvalidSecurityToken")


def test_expired_token(emu):
    creds = mint(KEY_ID, SECRET, emu.clock() - timedelta(hours=2), 3600)
    fields = signed_fields("uploads/a.bin", creds.access_key_id, creds.access_key_secret, "cn-hangzhou", emu.clock(),
                           [{"key": "uploads/a.bin"}], token=creds.security_token)
    assert_refused(emu, emu.post(fields), 403, "SecurityTokenExpired")


# -- overwrite -----------------------------------------------------------------------------

def test_forbid_overwrite_on_an_existing_key(emu):
    assert emu.post(emu.sign(), b"first").status_code == 204
    blobs = emu.objects()
    response = emu.post(emu.sign(extra=[("x-oss-forbid-overwrite", "true")]), b"second")
    assert response.status_code == 409 and error_code(response) == "FileAlreadyExists"
    assert emu.http.get(emu.url + "/uploads/a.bin").content == b"first"
    assert emu.objects() == blobs and not any("/.tmp/" in f for f in emu.files())


def test_overwrite_without_the_flag_replaces_the_object(emu):
    assert emu.post(emu.sign(), b"first").status_code == 204
    assert emu.post(emu.sign(extra=[("x-oss-forbid-overwrite", "false")]), b"second").status_code == 204
    assert emu.http.get(emu.url + "/uploads/a.bin").content == b"second"
    assert len(emu.objects()) == 1  # the replaced bytes are gone


def test_forbid_overwrite_is_race_free(emu):
    import requests

    fields = emu.sign(extra=[("x-oss-forbid-overwrite", "true")])
    results = []

    def upload(n):
        body_fields = fields
        from tests.ossform import multipart

        body, content_type = multipart(body_fields, f"writer {n}".encode())
        response = requests.post(emu.url + "/", data=body, headers={"Content-Type": content_type}, timeout=10)
        results.append((response.status_code, error_code(response)))

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [(204, None)] + [(409, "FileAlreadyExists")] * 7
    assert len(emu.objects()) == 1
    assert emu.http.get(emu.url + "/uploads/a.bin").content.startswith(b"writer ")


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_stored_pages_cannot_run_script_on_the_emulator_origin(emu, method):
    fields = emu.sign("uploads/page.html", extra=[("Content-Type", "text/html")])
    assert emu.post(fields, b"<script>alert(document.domain)</script>").status_code == 204
    got = emu.http.request(method, emu.url + "/uploads/page.html")
    assert got.status_code == 200 and got.headers["Content-Type"] == "text/html"
    assert got.headers["Content-Security-Policy"] == "sandbox"
    assert got.headers["X-Content-Type-Options"] == "nosniff"


def test_listing_escapes_names_and_keys(emu):
    hostile = "<img src=x onerror=alert(1)>.png"
    disposition = f"attachment; filename*=UTF-8''{quote(hostile, safe='')}"
    fields = emu.sign("uploads/<b>key</b>.png", extra=[("Content-Disposition", disposition)])
    assert emu.post(fields, b"png bytes").status_code == 204
    page = requests.get(emu.url + "/-/console", timeout=5).text
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in page and hostile not in page
    assert "&lt;b&gt;key&lt;/b&gt;" in page and "<b>key</b>" not in page
