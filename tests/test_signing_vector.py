import base64
import json

from server.post_form import encode_policy, sign_policy
from tests.ossform import VECTOR_POLICY, VECTOR_SIGNATURE


def test_published_vector_byte_for_byte():
    policy_b64 = encode_policy(json.loads(VECTOR_POLICY))
    assert base64.b64decode(policy_b64).decode() == VECTOR_POLICY
    assert sign_policy(policy_b64, "testsecret", "20261129", "cn-hangzhou") == VECTOR_SIGNATURE


def test_signature_is_over_the_string_as_sent():
    spaced = base64.b64encode(json.dumps(json.loads(VECTOR_POLICY)).encode()).decode()
    assert sign_policy(spaced, "testsecret", "20261129", "cn-hangzhou").startswith("bb614c9b")
