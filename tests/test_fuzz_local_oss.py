"""Hypothesis on the emulator's policy judge and form handling, beyond the structural body fuzzing
in test_local_oss_robustness.py: arbitrary policy bytes and JSON documents that pass the signature
check, arbitrary field names and values, arbitrary Content-Type headers. Never a 5xx, never an
exception other than OSS's own refusal, never a file left behind by a refused upload."""
from __future__ import annotations

import base64
import http.client
import json
import os
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from urllib.parse import urlparse

from hypothesis import HealthCheck, given, settings, strategies as st

from oss_emulator.errors import OssError
from oss_emulator.post_policy import decode_policy, judge, judge_size
from tests.local_oss_support import KEY_ID, SECRET
from tests.ossform import error_code, multipart, v4_signature

NOW = datetime(2026, 11, 29, 2, 0, 0, tzinfo=timezone.utc)
FIELD_NAMES = ["key", "bucket", "Content-Type", "x-oss-meta-a", "success_action_status", "$key", ""]

json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.sampled_from(["eq", "starts-with", "in", "not-in", "content-length-range", "$key", "$bucket"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)
documents = st.fixed_dictionaries({}, optional={
    "expiration": st.sampled_from(["2026-11-29T03:00:00.000Z", "2026-13-45T99:00:00Z", "2026-11-29T03:00:00.1234567891Z"])
    | json_value,
    "conditions": st.lists(json_value, max_size=5) | json_value,
})
SOME = settings(max_examples=300, deadline=None)


def _judge_everything(encoded: str) -> None:
    try:
        policy = decode_policy(encoded)
        judge(policy, {"key": "k", "bucket": "b"}.get, NOW)
        judge_size(policy, 5)
    except OssError as error:
        assert 400 <= error.status < 500 and error.code


@SOME
@given(raw=st.binary(max_size=300))
def test_judge_arbitrary_policy_bytes(raw):
    _judge_everything(base64.b64encode(raw).decode())


@SOME
@given(text=st.text(max_size=200))
def test_judge_arbitrary_policy_field_text(text):
    _judge_everything(text)


@SOME
@given(document=documents | json_value)
def test_judge_arbitrary_json_documents(document):
    _judge_everything(base64.b64encode(json.dumps(document).encode()).decode())


def _signed_form(policy_b64: str, now: datetime, extra=()):
    day = now.strftime("%Y%m%d")
    credential = f"{KEY_ID}/{day}/cn-hangzhou/oss/aliyun_v4_request"
    return [
        ("key", "fuzz/object.bin"), ("policy", policy_b64), ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
        ("x-oss-credential", credential), ("x-oss-date", now.strftime("%Y%m%dT%H%M%SZ")),
        ("x-oss-signature", v4_signature(SECRET, day, "cn-hangzhou", policy_b64)), *extra,
    ]


def _assert_clean_refusal_or_whole_object(emu, response, file_bytes: bytes):
    assert response.status_code < 500, response.text
    assert os.listdir(os.path.join(emu.directory, ".tmp")) == []
    if response.status_code >= 400:
        assert response.headers["Content-Type"].startswith("application/xml") and error_code(response)
        assert emu.http.head(emu.url + "/fuzz/object.bin").status_code == 404
    else:
        assert emu.http.get(emu.url + "/fuzz/object.bin").content == file_bytes


HTTP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@HTTP
@given(document=documents)
def test_signed_arbitrary_policies_over_http(emu, document):
    """The signature is right, so every policy reaches the judge; whatever it says, a clean verdict."""
    policy_b64 = base64.b64encode(json.dumps(document).encode()).decode()
    body, content_type = multipart(_signed_form(policy_b64, emu.clock()), b"payload")
    response = emu.http.post(emu.url + "/", data=body, headers={"Content-Type": content_type}, timeout=10)
    _assert_clean_refusal_or_whole_object(emu, response, b"payload")


@HTTP
@given(fields=st.lists(st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=30)), max_size=6))
def test_arbitrary_extra_fields_over_http(emu, fields):
    policy = {"expiration": "2026-11-29T03:00:00.000Z", "conditions": [["content-length-range", 0, 100]]}
    policy_b64 = base64.b64encode(json.dumps(policy).encode()).decode()
    safe = [(name.replace('"', "").replace("\r", "").replace("\n", "") or "x", value) for name, value in fields]
    body, content_type = multipart(_signed_form(policy_b64, emu.clock(), safe), b"payload")
    response = emu.http.post(emu.url + "/", data=body, headers={"Content-Type": content_type}, timeout=10)
    _assert_clean_refusal_or_whole_object(emu, response, b"payload")
    if response.status_code < 300:
        # Accepted is fine too; start the next example from an empty bucket.
        for folder in ("blobs", "meta"):
            for name in os.listdir(os.path.join(emu.directory, folder)):
                os.unlink(os.path.join(emu.directory, folder, name))


@HTTP
@given(content_type=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
       body=st.binary(max_size=200))
def test_arbitrary_content_type_headers(emu, content_type, body):
    address = urlparse(emu.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request("POST", "/", body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        reply = response.read()
    finally:
        connection.close()
    assert 400 <= response.status < 500
    assert ET.fromstring(reply).findtext("Code")
    assert emu.files() == []


def test_error_xml_stays_well_formed_with_control_characters(emu):
    """Found by the fuzzing above: a field name with a control character used to be echoed into the
    error message as is, which no XML parser accepts."""
    policy_b64 = base64.b64encode(b'{"expiration":"2026-11-29T03:00:00.000Z","conditions":[["content-length-range",0,9]]}').decode()
    fields = _signed_form(policy_b64, emu.clock(), [("\x1f", "a"), ("\x1f", "b")])
    body, content_type = multipart(fields, b"payload")
    response = emu.http.post(emu.url + "/", data=body, headers={"Content-Type": content_type}, timeout=10)
    assert response.status_code == 400 and error_code(response) == "InvalidArgument"
    assert "\ufffd" in ET.fromstring(response.content).findtext("Message")
