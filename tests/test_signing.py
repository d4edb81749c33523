"""The pure signing core: what the policy pins, how the form is shaped, and aware datetimes only."""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

import pytest

from server.post_form import (
    Credentials,
    UploadSpec,
    build_policy,
    credential_scope,
    iso8601_ms,
    policy_expiry,
    sign_policy,
    sign_upload,
    x_oss_date,
)
from server.upload_rules import content_disposition, plan_upload

NOW = datetime(2026, 11, 29, 2, 0, 0, tzinfo=timezone.utc)
CREDS = Credentials("STS.testid", "testsecret", "test-token", NOW + timedelta(hours=1))
# Fields whose value cannot be a policy condition (the policy itself and its signature), and the one
# the design deliberately leaves out of the policy.
NOT_CONDITIONS = {"policy", "x-oss-signature"}


def spec(**overrides) -> UploadSpec:
    values = dict(
        bucket="test-bucket",
        key="uploads/2026/11/29/0123456789abcdef0123456789abcdef.jpg",
        min_size=123456,
        max_size=123456,
        content_type="image/jpeg",
        content_disposition=content_disposition("照片 1.jpg"),
    )
    values.update(overrides)
    return UploadSpec(**values)


def decode(policy_b64: str) -> dict:
    return json.loads(base64.b64decode(policy_b64))


def pinned_values(policy: dict) -> dict:
    """field name (lower case) -> exact value the policy requires."""
    pinned = {}
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            ((name, value),) = condition.items()
            pinned[name.lower()] = value
        elif condition[0] == "eq":
            pinned[condition[1].lstrip("$").lower()] = condition[2]
    return pinned


def test_every_form_field_is_pinned_by_the_policy():
    form = sign_upload(spec(), CREDS, "cn-hangzhou", NOW, NOW + timedelta(minutes=10))
    pinned = pinned_values(decode(form.policy))
    for name, value in form.fields.items():
        if name in NOT_CONDITIONS:
            continue
        assert pinned.get(name.lower()) == value, name
    # What a client must never choose, pinned to safe values.
    assert pinned["x-oss-forbid-overwrite"] == "true"
    assert pinned["x-oss-storage-class"] == "Standard"
    assert pinned["x-oss-object-acl"] == "private"
    assert pinned["x-oss-content-type"] == pinned["content-type"] == "image/jpeg"


def test_a_callback_is_sent_and_pinned():
    form = sign_upload(spec(callback="eyJjYWxsYmFja1VybCI6Imh0dHBzOi8vYSJ9"), CREDS, "cn-hangzhou", NOW,
                       NOW + timedelta(minutes=10))
    assert form.fields["callback"] == "eyJjYWxsYmFja1VybCI6Imh0dHBzOi8vYSJ9"
    assert pinned_values(decode(form.policy))["callback"] == form.fields["callback"]
    assert "callback" not in sign_upload(spec(), CREDS, "cn-hangzhou", NOW, NOW + timedelta(minutes=10)).fields


def test_policy_contents():
    s = spec()
    form = sign_upload(s, CREDS, "cn-hangzhou", NOW, NOW + timedelta(minutes=10))
    policy = decode(form.policy)
    assert policy["expiration"] == "2026-11-29T02:10:00.000Z"
    conditions = policy["conditions"]
    assert {"bucket": "test-bucket"} in conditions
    assert {"x-oss-signature-version": "OSS4-HMAC-SHA256"} in conditions
    assert {"x-oss-credential": "STS.testid/20261129/cn-hangzhou/oss/aliyun_v4_request"} in conditions
    assert {"x-oss-date": "20261129T020000Z"} in conditions
    assert {"x-oss-security-token": "test-token"} in conditions
    assert ["eq", "$key", s.key] in conditions
    assert ["content-length-range", 123456, 123456] in conditions  # exactly the declared size
    assert ["eq", "$success_action_status", "200"] in conditions
    assert ["eq", "$Content-Type", "image/jpeg"] in conditions
    assert ["eq", "$Content-Disposition", s.content_disposition] in conditions
    # No prefix rule anywhere: the key is exact.
    assert not any(isinstance(c, list) and c[0] == "starts-with" for c in conditions)


def test_form_fields_and_order():
    form = sign_upload(spec(), CREDS, "cn-hangzhou", NOW, NOW + timedelta(minutes=10))
    names = list(form.fields)
    assert names[0] == "key"  # OSS wants the key before the file; keep it first
    assert set(names) == {
        "key", "policy", "x-oss-signature-version", "x-oss-credential", "x-oss-date", "x-oss-signature",
        "x-oss-security-token", "success_action_status", "Content-Type", "x-oss-content-type", "Content-Disposition",
        "x-oss-forbid-overwrite", "x-oss-storage-class", "x-oss-object-acl",
    }
    assert "file" not in form.fields
    assert re.fullmatch(r"[0-9a-f]{64}", form.signature)
    assert form.fields["x-oss-signature"] == form.signature
    assert form.signature == sign_policy(form.policy, "testsecret", "20261129", "cn-hangzhou")
    assert all(isinstance(v, str) for v in form.fields.values())


def test_without_security_token_no_token_field_or_condition():
    creds = Credentials("LTAIlongterm", "secret", None, NOW + timedelta(hours=1))
    form = sign_upload(spec(), creds, "cn-hangzhou", NOW, NOW + timedelta(minutes=10))
    assert "x-oss-security-token" not in form.fields
    assert "x-oss-security-token" not in pinned_values(decode(form.policy))


def test_signature_depends_on_every_input():
    base = sign_upload(spec(), CREDS, "cn-hangzhou", NOW, NOW + timedelta(minutes=10)).signature
    variants = [
        sign_upload(spec(key="uploads/other.jpg"), CREDS, "cn-hangzhou", NOW, NOW + timedelta(minutes=10)),
        sign_upload(spec(min_size=1, max_size=1), CREDS, "cn-hangzhou", NOW, NOW + timedelta(minutes=10)),
        sign_upload(spec(), Credentials("STS.testid", "other", "test-token", CREDS.expiration), "cn-hangzhou", NOW, NOW + timedelta(minutes=10)),
        sign_upload(spec(), CREDS, "cn-shanghai", NOW, NOW + timedelta(minutes=10)),
        sign_upload(spec(), CREDS, "cn-hangzhou", NOW + timedelta(seconds=1), NOW + timedelta(minutes=10)),
        sign_upload(spec(), CREDS, "cn-hangzhou", NOW, NOW + timedelta(minutes=11)),
    ]
    assert len({base} | {v.signature for v in variants}) == 1 + len(variants)


def test_chinese_name_survives_in_content_disposition():
    value = content_disposition("年度 报告(终稿).pdf")
    assert value.startswith("attachment; ")
    star = re.search(r"filename\*=UTF-8''(\S+)$", value).group(1)
    assert unquote(star, encoding="utf-8") == "年度 报告(终稿).pdf"
    assert value.isascii()
    fallback = re.search(r'filename="([^"]*)"', value).group(1)
    assert re.fullmatch(r"[A-Za-z0-9._-]+", fallback)
    # The policy is ASCII JSON with no `$` to escape.
    policy = build_policy(spec(content_disposition=value), "c", "d", None, NOW)
    assert "$" not in value and ["eq", "$Content-Disposition", value] in policy["conditions"]


@pytest.mark.parametrize("name", ['a"b.jpg', "a;b.jpg", "a$b.jpg", "a\\b.jpg", "a%20b.jpg"])
def test_content_disposition_quotes_nothing_dangerous(name):
    value = content_disposition(name)
    assert value.count('"') == 2 and "$" not in value and ";" not in value.split("filename*=")[1]
    assert unquote(value.split("UTF-8''")[1]) == name


def test_formats():
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    assert iso8601_ms(moment) == "2026-01-02T03:04:05.678Z"
    assert x_oss_date(moment) == "20260102T030405Z"
    assert credential_scope("STS.x", "20260102", "cn-beijing") == "STS.x/20260102/cn-beijing/oss/aliyun_v4_request"


def test_other_offsets_are_converted_to_utc():
    beijing = timezone(timedelta(hours=8))
    local = datetime(2026, 11, 30, 1, 0, 0, tzinfo=beijing)  # still the 29th in UTC
    form = sign_upload(spec(), CREDS, "cn-hangzhou", local, local + timedelta(minutes=10))
    assert form.date == "20261129T170000Z"
    assert form.credential.split("/")[1] == "20261129"
    assert decode(form.policy)["expiration"] == "2026-11-29T17:10:00.000Z"
    target = plan_upload("a.jpg", frozenset({"jpg"}), "uploads/", local)
    assert target.key.startswith("uploads/2026/11/29/")


@pytest.mark.parametrize(
    "call",
    [
        lambda naive: iso8601_ms(naive),
        lambda naive: x_oss_date(naive),
        lambda naive: sign_upload(spec(), CREDS, "cn-hangzhou", naive, NOW),
        lambda naive: sign_upload(spec(), CREDS, "cn-hangzhou", NOW, naive),
        lambda naive: policy_expiry(naive, 600, NOW),
        lambda naive: policy_expiry(NOW, 600, naive),
        lambda naive: plan_upload("a.jpg", frozenset({"jpg"}), "uploads/", naive),
    ],
)
def test_naive_datetimes_are_refused(call):
    with pytest.raises(ValueError, match="aware"):
        call(datetime(2026, 11, 29, 2, 0, 0))


def test_policy_never_outlives_credentials():
    soon = NOW + timedelta(minutes=3)
    assert policy_expiry(NOW, 600, soon) == soon
    assert policy_expiry(NOW, 600, NOW + timedelta(hours=1)) == NOW + timedelta(minutes=10)


def test_credentials_repr_hides_the_secret():
    assert "testsecret" not in repr(CREDS) and "testsecret" not in str(CREDS)
    assert "test-token" not in repr(CREDS)
