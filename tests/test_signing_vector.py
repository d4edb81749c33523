import base64
import json

from server.signing import encode_policy, sign_policy

VECTOR_POLICY = (
    '{"expiration":"2026-11-29T03:00:00.000Z","conditions":[{"bucket":"test-bucket"},'
    '{"x-oss-signature-version":"OSS4-HMAC-SHA256"},'
    '{"x-oss-credential":"STS.testid/20261129/cn-hangzhou/oss/aliyun_v4_request"},'
    '{"x-oss-date":"20261129T020000Z"},{"x-oss-security-token":"test-token"},'
    '["content-length-range",1,10485760],["starts-with","$key","uploads/"],'
    '["eq","$success_action_status","200"]]}'
)


def test_published_vector_byte_for_byte():
    policy_b64 = encode_policy(json.loads(VECTOR_POLICY))
    assert base64.b64decode(policy_b64).decode() == VECTOR_POLICY
    assert sign_policy(policy_b64, "testsecret", "20261129", "cn-hangzhou") == (
        "e19cb2b0e88060acf3482f8e896ed4ff651bd7f310c783d3e3c1c0a8859ebdbf"
    )


def test_signature_is_over_the_string_as_sent():
    spaced = base64.b64encode(json.dumps(json.loads(VECTOR_POLICY)).encode()).decode()
    assert sign_policy(spaced, "testsecret", "20261129", "cn-hangzhou").startswith("bb614c9b")
