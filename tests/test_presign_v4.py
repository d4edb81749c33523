"""The pure V4 presigner against OSS's published vectors, and against the SDK's own signer."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from server.presign_v4 import presign

# The official vectors (alibabacloud-oss-python-sdk-v2 tests/unit/signer/test_v4.py), query mode.
PARAMS = {"param1": "value1", "+param1": "value3", "|param1": "value4", "+param2": "", "|param2": "", "param2": ""}
HEADERS = {"x-oss-head1": "value", "abc": "value", "ZAbc": "value", "XYZ": "value",
           "content-type": "application/octet-stream"}


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, tz=timezone.utc)


def signature(url: str) -> str:
    return parse_qs(urlsplit(url).query)["x-oss-signature"][0]


@pytest.mark.parametrize("signed_at, expires, token, expected", [
    (1702781677, 599, None, "a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe"),
    (1702785388, 599, "token", "3817ac9d206cd6dfc90f1c09c00be45005602e55898f26f5ddb06d7892e1f8b5"),
    (1702781677, 432000, None, "31029123dc7732d2d2cfd4006ea4fdb6cf86da6478f813e2bf8f87877c7b9fec"),
])
def test_official_query_vectors(signed_at, expires, token, expected):
    url = presign("PUT", "http://bucket.oss-cn-hangzhou.aliyuncs.com", "bucket", "1234+-/123/1.txt", "ak", "sk",
                  token, "cn-hangzhou", at(signed_at), expires, PARAMS, HEADERS)
    assert signature(url) == expected
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert query["x-oss-expires"] == [str(expires)]
    assert query["x-oss-credential"][0] == f"ak/{at(signed_at):%Y%m%d}/cn-hangzhou/oss/aliyun_v4_request"
    assert url.startswith("http://bucket.oss-cn-hangzhou.aliyuncs.com/1234%2B-/123/1.txt?")
    assert url.endswith("&x-oss-signature=" + expected)


@pytest.mark.parametrize("token, expected", [
    (None, "add8f1ca27b74e804e41c0117b97b8f40b848d70fa3983fd063f90c53a508a28"),
    ("token", "60cb1acc2b6825e00dfdf290516d8f6c1f133a14cb69e173beb7d50fa7cd2af6"),
])
def test_upload_part_vectors(token, expected):
    url = presign("PUT", "https://examplebucket.oss-cn-hangzhou.aliyuncs.com", "examplebucket", "user/123/video.mp4",
                  "ak", "sk", token, "cn-hangzhou", at(1702785388), 900,
                  {"partNumber": "1", "uploadId": "0004B9895DBBB6EC98E36"}, {"Content-Type": "application/octet-stream"})
    assert signature(url) == expected


def test_the_same_signature_as_the_sdk_for_a_download_with_processing():
    import alibabacloud_oss_v2 as oss
    from alibabacloud_oss_v2.signer import SignerV4

    moment = datetime(2026, 11, 29, 2, 0, 0, tzinfo=timezone.utc)

    class Fixed(SignerV4):
        def sign(self, context):
            context.signing_time = moment
            return super().sign(context)

    config = oss.Config(region="cn-hangzhou",
                        credentials_provider=oss.credentials.StaticCredentialsProvider("STS.id", "secret", "tok+/="))
    sdk = oss.Client(config, signer=Fixed())
    disposition = "attachment; filename=\"__.jpg\"; filename*=UTF-8''%E7%85%A7.jpg"
    expected = sdk.presign(oss.GetObjectRequest(bucket="examplebucket", key="uploads/照片 1+2.jpg",
                                                response_content_disposition=disposition,
                                                process="image/resize,m_lfit,w_240,h_240"),
                           expiration=moment + timedelta(seconds=600)).url
    ours = presign("GET", "https://examplebucket.oss-cn-hangzhou.aliyuncs.com", "examplebucket", "uploads/照片 1+2.jpg",
                   "STS.id", "secret", "tok+/=", "cn-hangzhou", moment, 600,
                   {"response-content-disposition": disposition, "x-oss-process": "image/resize,m_lfit,w_240,h_240"})
    assert signature(ours) == signature(expected)
    assert parse_qs(urlsplit(ours).query) == parse_qs(urlsplit(expected).query)
    assert ours.split("?")[0] == expected.split("?")[0]


@pytest.mark.parametrize("expires", [0, -1, 604801])
def test_expiry_outside_oss_limits_is_refused(expires):
    with pytest.raises(ValueError):
        presign("GET", "https://b.oss-cn-hangzhou.aliyuncs.com", "b", "k", "a", "s", None, "cn-hangzhou",
                at(1702781677), expires)


def test_official_query_vector_with_additional_headers():
    # Vector 6: abc and ZAbc listed; x-oss-* or absent names listed as additional change nothing.
    for additional in (["ZAbc", "abc"], ["x-oss-no-exist", "ZAbc", "x-oss-head1", "abc"]):
        url = presign("PUT", "http://bucket.oss-cn-hangzhou.aliyuncs.com", "bucket", "1234+-/123/1.txt", "ak", "sk",
                      None, "cn-hangzhou", at(1702783809), 599, PARAMS, HEADERS, additional)
        assert signature(url) == "6bd984bfe531afb6db1f7550983a741b103a8c58e5e14f83ea474c2322dfa2b7"
        assert "&x-oss-additional-headers=abc%3Bzabc&" in url
