"""V4 request signing, pure: OSS's official vectors byte for byte, and the checks the emulator makes.

Vectors: the OSS notes, section 4.3 (the official SDK's tests/unit/signer/test_v4.py) and 4.4
(multipart presigns computed with the official SDK's SignerV4).
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlencode

import pytest

from server.config import load_settings
from server.credentials.local import mint
from oss_emulator import request_auth as ra
from oss_emulator import request_auth_v1 as v1
from oss_emulator.errors import OssError

UTC = timezone.utc
PARAMS = {"param1": "value1", "+param1": "value3", "|param1": "value4", "+param2": "", "|param2": "", "param2": ""}
QUERY = ra.parse_query(urlencode(PARAMS, quote_via=quote))
HEADERS = [("x-oss-head1", "value"), ("abc", "value"), ("ZAbc", "value"), ("XYZ", "value")]
KEY = "1234+-/123/1.txt"
HEADER_MODE = HEADERS + [("content-type", "text/plain"), ("x-oss-content-sha256", "UNSIGNED-PAYLOAD")]
QUERY_MODE = HEADERS + [("content-type", "application/octet-stream")]
SETTINGS = load_settings({"CREDENTIALS_TYPE": "local", "OSS_BUCKET": "bucket", "OSS_REGION": "cn-hangzhou",
                          "LOCAL_OSS_ACCESS_KEY_ID": "ak", "LOCAL_OSS_ACCESS_KEY_SECRET": "sk"})
PREFIX = "OSS4-HMAC-SHA256 Credential=ak/"


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


def signed_headers(unix, token=None, additional=()):
    return ra.sign_headers("PUT", "bucket", KEY, QUERY, HEADER_MODE, "ak", "sk", "cn-hangzhou", at(unix),
                           security_token=token, additional_headers=additional)


def presigned(unix, expires, token=None, additional=()):
    return ra.parse_query(ra.presign("PUT", "bucket", KEY, QUERY, "ak", "sk", "cn-hangzhou", at(unix), expires,
                                     security_token=token, headers=QUERY_MODE, additional_headers=additional))


# -- 4.3: the official vectors ---------------------------------------------------------------

@pytest.mark.parametrize("unix,token,additional,expected", [
    (1702743657, None, (), "20231216/cn-hangzhou/oss/aliyun_v4_request,"
     "Signature=e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe"),
    (1702784856, "token", (), "20231217/cn-hangzhou/oss/aliyun_v4_request,"
     "Signature=b94a3f999cf85bcdc00d332fbd3734ba03e48382c36fa4d5af5df817395bd9ea"),
    (1702747512, None, ("ZAbc", "abc"), "20231216/cn-hangzhou/oss/aliyun_v4_request,AdditionalHeaders=abc;zabc,"
     "Signature=4a4183c187c07c8947db7620deb0a6b38d9fbdd34187b6dbaccb316fa251212f"),
    (1702747512, None, ("x-oss-no-exist", "ZAbc", "x-oss-head1", "abc"), "20231216/cn-hangzhou/oss/aliyun_v4_request,"
     "AdditionalHeaders=abc;zabc,Signature=4a4183c187c07c8947db7620deb0a6b38d9fbdd34187b6dbaccb316fa251212f"),
])
def test_official_header_vectors(unix, token, additional, expected):
    added = signed_headers(unix, token, additional)
    assert added["Authorization"] == PREFIX + expected
    assert added.get("x-oss-security-token") == token


@pytest.mark.parametrize("unix,expires,token,additional,signature", [
    (1702781677, 599, None, (), "a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe"),
    (1702785388, 599, "token", (), "3817ac9d206cd6dfc90f1c09c00be45005602e55898f26f5ddb06d7892e1f8b5"),
    (1702783809, 599, None, ("ZAbc", "abc"), "6bd984bfe531afb6db1f7550983a741b103a8c58e5e14f83ea474c2322dfa2b7"),
    (1702781677, 432000, None, (), "31029123dc7732d2d2cfd4006ea4fdb6cf86da6478f813e2bf8f87877c7b9fec"),
])
def test_official_query_vectors(unix, expires, token, additional, signature):
    query = dict(presigned(unix, expires, token, additional))
    assert query["x-oss-signature"] == signature
    assert query["x-oss-expires"] == str(expires)
    assert query["x-oss-credential"] == f"ak/{at(unix):%Y%m%d}/cn-hangzhou/oss/aliyun_v4_request"
    if additional:
        assert query["x-oss-additional-headers"] == "abc;zabc"


def test_vector_4_query_string_encoding():
    raw = ra.presign("PUT", "bucket", KEY, QUERY, "ak", "sk", "cn-hangzhou", at(1702781677), 599, headers=QUERY_MODE)
    assert "&x-oss-expires=599&x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&" in raw
    assert raw.endswith("&x-oss-signature=a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe")


def test_vector_1_canonical_request_and_string_to_sign():
    canonical = ra.canonical_request("PUT", "bucket", KEY, QUERY, HEADER_MODE + [("x-oss-date", "20231216T162057Z")])
    assert canonical == (
        "PUT\n/bucket/1234%2B-/123/1.txt\n"
        "%2Bparam1=value3&%2Bparam2&%7Cparam1=value4&%7Cparam2&param1=value1&param2\n"
        "content-type:text/plain\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20231216T162057Z\n"
        "x-oss-head1:value\n\n\nUNSIGNED-PAYLOAD"
    )
    scope = ra.Scope("ak", "20231216", "cn-hangzhou")
    assert ra.string_to_sign("20231216T162057Z", scope, canonical) == (
        "OSS4-HMAC-SHA256\n20231216T162057Z\n20231216/cn-hangzhou/oss/aliyun_v4_request\n"
        "f4613657f1b108998e8dbd10a1aa5da621dc2c6e02c9ddec0f163664848704c4")


def test_vector_3_canonical_request_with_additional_headers():
    headers = HEADER_MODE + [("x-oss-date", "20231216T172512Z")]
    canonical = ra.canonical_request("PUT", "bucket", KEY, QUERY, headers, ["abc", "zabc"])
    assert canonical == (
        "PUT\n/bucket/1234%2B-/123/1.txt\n"
        "%2Bparam1=value3&%2Bparam2&%7Cparam1=value4&%7Cparam2&param1=value1&param2\n"
        "abc:value\ncontent-type:text/plain\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20231216T172512Z\n"
        "x-oss-head1:value\nzabc:value\n\nabc;zabc\nUNSIGNED-PAYLOAD"
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() == "16b86004ed2cc3406dd7a13081bd940ef6a5ad49e508da2d4fdf84e8a5dd2145"


def test_vector_5_canonical_request_of_a_presign_with_token():
    query = [(n, v) for n, v in presigned(1702785388, 599, "token") if n != "x-oss-signature"]
    canonical = ra.canonical_request("PUT", "bucket", KEY, query, QUERY_MODE)
    assert canonical == (
        "PUT\n/bucket/1234%2B-/123/1.txt\n"
        "%2Bparam1=value3&%2Bparam2&%7Cparam1=value4&%7Cparam2&param1=value1&param2"
        "&x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20231217T035628Z"
        "&x-oss-expires=599&x-oss-security-token=token&x-oss-signature-version=OSS4-HMAC-SHA256\n"
        "content-type:application/octet-stream\nx-oss-head1:value\n\n\nUNSIGNED-PAYLOAD"
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() == "458705026c021c95dd317d008cff79df19ce99bf2b241d1ecb20f4d65bb851a5"


def test_vector_2_canonical_hash():
    headers = HEADER_MODE + [("x-oss-date", "20231217T034736Z"), ("x-oss-security-token", "token")]
    canonical = ra.canonical_request("PUT", "bucket", KEY, QUERY, headers)
    assert hashlib.sha256(canonical.encode()).hexdigest() == "69494678fb11579d4ee12996e2796d9e2ba43c34aa4c723c4aec018f3d6b86b8"


@pytest.mark.parametrize("unix,expires,additional,expected", [
    (1702781677, 599, (), "48814c11f278d51662015bf2f896b66ca10b6de0187ed8d952e341bbce0aa336"),
    (1702783809, 599, ("abc", "zabc"), "e06541af14a8dc30dd12d3b75557af47f405e37784a76eae1a844c3426777df9"),
    (1702781677, 432000, (), "39c7f5784b29b48491317edd4b6c375e3df26979f1bdac8fc7de4c01cf6b7736"),
])
def test_query_vectors_canonical_hashes(unix, expires, additional, expected):
    query = [(n, v) for n, v in presigned(unix, expires, None, additional) if n != "x-oss-signature"]
    canonical = ra.canonical_request("PUT", "bucket", KEY, query, QUERY_MODE, list(additional))
    assert hashlib.sha256(canonical.encode()).hexdigest() == expected


# -- 4.4: multipart presigns ----------------------------------------------------------------

UPLOAD_ID = "0004B9895DBBB6EC98E36"
OCTET = [("content-type", "application/octet-stream")]


@pytest.mark.parametrize("method,params,headers,token,signature", [
    ("POST", [("uploads", "")], [], None, "14abe8d272b4b39b3aeabb21718c399c410f6c70386fad70ab6a9332dc7b4c0e"),
    ("POST", [("uploads", "")], [], "token", "5b485ecc09c3257e3f2f61f53e83a54f3e2f94f0e8492eaebf1ee48eb34cc813"),
    ("PUT", [("partNumber", "1"), ("uploadId", UPLOAD_ID)], OCTET, None,
     "add8f1ca27b74e804e41c0117b97b8f40b848d70fa3983fd063f90c53a508a28"),
    ("PUT", [("partNumber", "1"), ("uploadId", UPLOAD_ID)], OCTET, "token",
     "60cb1acc2b6825e00dfdf290516d8f6c1f133a14cb69e173beb7d50fa7cd2af6"),
    ("PUT", [("partNumber", "1"), ("uploadId", UPLOAD_ID)], [], None,
     "4f7837b1fb72d92f69ae238d28dabd45e907a8a904e296c4c884b26ba1fdc0db"),
    ("PUT", [("partNumber", "1"), ("uploadId", UPLOAD_ID)], [], "token",
     "7b583985ecb9f63db8d4e0989264150cd27a42993e4c6ff641a15f8f239f76da"),
    ("POST", [("uploadId", UPLOAD_ID)], [("x-oss-complete-all", "yes")], None,
     "a72ce43ed9101c25abcdf2ee35fb5367dadabd67123f026e6553343181c86746"),
    ("POST", [("uploadId", UPLOAD_ID)], [("x-oss-complete-all", "yes")], "token",
     "1234e223c02f250b4bf7796b3f9a72e89863edc2daf8bc708adf573ffa57a9e3"),
])
def test_multipart_presign_vectors(method, params, headers, token, signature):
    raw = ra.presign(method, "examplebucket", "user/123/video.mp4", params, "ak", "sk", "cn-hangzhou",
                     at(1702785388), 900, security_token=token, headers=headers)
    assert dict(ra.parse_query(raw))["x-oss-signature"] == signature


def test_multipart_presign_example_url_and_canonical_request():
    raw = ra.presign("PUT", "examplebucket", "user/123/video.mp4", [("partNumber", "1"), ("uploadId", UPLOAD_ID)],
                     "ak", "sk", "cn-hangzhou", at(1702785388), 900, security_token="token", headers=OCTET)
    assert raw == ("partNumber=1&uploadId=0004B9895DBBB6EC98E36&x-oss-signature-version=OSS4-HMAC-SHA256"
                   "&x-oss-date=20231217T035628Z&x-oss-expires=900"
                   "&x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-security-token=token"
                   "&x-oss-signature=60cb1acc2b6825e00dfdf290516d8f6c1f133a14cb69e173beb7d50fa7cd2af6")
    query = [(n, v) for n, v in ra.parse_query(raw) if n != "x-oss-signature"]
    assert ra.canonical_request("PUT", "examplebucket", "user/123/video.mp4", query, OCTET) == (
        "PUT\n/examplebucket/user/123/video.mp4\n"
        "partNumber=1&uploadId=0004B9895DBBB6EC98E36&x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2F"
        "aliyun_v4_request&x-oss-date=20231217T035628Z&x-oss-expires=900&x-oss-security-token=token"
        "&x-oss-signature-version=OSS4-HMAC-SHA256\ncontent-type:application/octet-stream\n\n\nUNSIGNED-PAYLOAD")


# -- authenticate: what passes, and each refusal with OSS's code -------------------------------

NOW = at(1702743657)


def header_request(headers=HEADER_MODE, when=NOW, key_id="ak", secret="sk", token=None, method="PUT", key=KEY,
                   query=QUERY, tamper=None):
    added = ra.sign_headers(method, "bucket", key, query, headers, key_id, secret, "cn-hangzhou", when,
                            security_token=token)
    sent = [(n, v) for n, v in headers if n.lower() not in added] + list(added.items())
    if tamper:
        sent = tamper(sent)
    return ra.SignedRequest(method, key, query, sent)


def query_request(when=NOW, expires=600, key_id="ak", secret="sk", token=None, headers=QUERY_MODE, tamper=None):
    query = ra.parse_query(ra.presign("GET", "bucket", KEY, QUERY, key_id, secret, "cn-hangzhou", when, expires,
                                      security_token=token, headers=headers))
    if tamper:
        query = tamper(query)
    return ra.SignedRequest("GET", KEY, query, headers)


def refused(request, now=NOW, settings=SETTINGS):
    with pytest.raises(OssError) as caught:
        ra.authenticate(request, "bucket", settings, now)
    return caught.value


def replaced(pairs, name, value):
    return [(n, value if n == name else v) for n, v in pairs]


def test_no_signature_is_anonymous():
    assert ra.authenticate(ra.SignedRequest("GET", KEY, QUERY, HEADERS), "bucket", SETTINGS, NOW) is None


def test_header_and_query_signatures_pass():
    assert ra.authenticate(header_request(), "bucket", SETTINGS, NOW) == ra.Principal("ak", presigned=False)
    assert ra.authenticate(query_request(), "bucket", SETTINGS, NOW) == ra.Principal("ak", presigned=True)


def test_the_bucket_is_part_of_what_is_signed():
    with pytest.raises(OssError) as caught:
        ra.authenticate(header_request(), "other-bucket", SETTINGS, NOW)
    assert caught.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("tamper", [
    lambda h: replaced(h, "content-type", "text/html"),  # a signed header changed
    lambda h: h + [("x-oss-meta-added", "1")],  # every x-oss-* header is signed
    lambda h: replaced(h, "Authorization", h[-1][1][:-1] + "0"),
])
def test_tampered_header_requests_do_not_match(tamper):
    error = refused(header_request(tamper=tamper))
    assert (error.status, error.code, error.ec) == (403, "SignatureDoesNotMatch", "0002-00000201")
    assert error.extra["StringToSign"].startswith("OSS4-HMAC-SHA256\n20231216T162057Z\n")


def test_unsigned_headers_may_change():
    request = header_request(tamper=lambda h: replaced(h, "XYZ", "changed") + [("User-Agent", "x")])
    assert ra.authenticate(request, "bucket", SETTINGS, NOW) is not None


@pytest.mark.parametrize("tamper", [
    lambda q: replaced(q, "param1", "other"),
    lambda q: q + [("x-oss-process", "image/resize,w_10")],
    lambda q: replaced(q, "x-oss-expires", "601"),
])
def test_tampered_presigned_urls_do_not_match(tamper):
    assert refused(query_request(tamper=tamper)).code == "SignatureDoesNotMatch"


def test_a_presigned_url_needs_its_signed_content_type():
    request = query_request()
    without = ra.SignedRequest("GET", KEY, request.query, HEADERS)
    assert refused(without).code == "SignatureDoesNotMatch"


def test_a_wrong_secret_does_not_match():
    assert refused(header_request(secret="not-sk")).code == "SignatureDoesNotMatch"
    assert refused(query_request(secret="not-sk")).code == "SignatureDoesNotMatch"


def test_expired_presign_is_access_denied():
    request = query_request(expires=600)
    assert ra.authenticate(request, "bucket", SETTINGS, NOW + timedelta(seconds=600)) is not None
    error = refused(request, now=NOW + timedelta(seconds=601))
    assert (error.status, error.code, error.message) == (403, "AccessDenied", "Request has expired.")
    assert error.extra["ServerTime"] == "2023-12-16T16:30:58Z"


def test_a_date_more_than_15_minutes_ahead_is_too_skewed():
    for request in (query_request(when=NOW + timedelta(minutes=16)), header_request(when=NOW + timedelta(minutes=16))):
        error = refused(request)
        assert (error.status, error.code) == (403, "RequestTimeTooSkewed")
    assert ra.authenticate(query_request(when=NOW + timedelta(minutes=14)), "bucket", SETTINGS, NOW)


def test_an_old_header_signature_is_too_skewed():
    assert refused(header_request(when=NOW - timedelta(minutes=16))).code == "RequestTimeTooSkewed"
    assert ra.authenticate(header_request(when=NOW - timedelta(minutes=14)), "bucket", SETTINGS, NOW)


@pytest.mark.parametrize("expires", ["0", "604801", "abc", "-5", "1e3", ""])
def test_expires_out_of_range(expires):
    # Computed and sent with the bad value: the range check comes before the signature.
    request = query_request(tamper=lambda q: replaced(q, "x-oss-expires", expires))
    error = refused(request)
    if expires == "":
        assert (error.status, error.code) == (403, "AccessDenied")
    else:
        assert (error.status, error.code, error.ec) == (400, "InvalidArgument", "0002-00000232")


def test_seven_days_is_the_longest_presign():
    request = query_request(expires=604800)
    assert ra.authenticate(request, "bucket", SETTINGS, NOW + timedelta(days=7)) is not None
    with pytest.raises(ValueError):
        ra.presign("GET", "bucket", KEY, [], "ak", "sk", "cn-hangzhou", NOW, 604801)


@pytest.mark.parametrize("name", ["x-oss-credential", "x-oss-date", "x-oss-expires", "x-oss-signature"])
def test_missing_presign_parameters_are_access_denied(name):
    error = refused(query_request(tamper=lambda q: [(n, v) for n, v in q if n != name]))
    assert (error.status, error.code) == (403, "AccessDenied")


def test_both_header_and_query_signature_is_invalid_argument():
    request = query_request()
    both = ra.SignedRequest("GET", KEY, request.query, list(request.headers) + [("Authorization", "OSS4-HMAC-SHA256 x")])
    error = refused(both)
    assert (error.status, error.code) == (400, "InvalidArgument")


@pytest.mark.parametrize("credential,ec", [
    ("ak/20231216/cn-hangzhou/oss/abc", "0002-00000224"),
    ("ak/20231216/cn-hangzhou/s3/aliyun_v4_request", "0002-00000224"),
    ("ak/2023-12-16/cn-hangzhou/oss/aliyun_v4_request", None),
    ("ak/20231216/cn-beijing/oss/aliyun_v4_request", None),
    ("ak/20231215/cn-hangzhou/oss/aliyun_v4_request", None),  # not the day of x-oss-date
    ("a k/20231216/cn-hangzhou/oss/aliyun_v4_request", None),
])
def test_bad_query_credentials_are_invalid_argument(credential, ec):
    error = refused(query_request(tamper=lambda q: replaced(q, "x-oss-credential", credential)))
    assert (error.status, error.code, error.ec) == (400, "InvalidArgument", ec)


def test_bad_header_credential_has_the_header_ec():
    def tamper(headers):
        auth = dict(headers)["Authorization"].replace("aliyun_v4_request", "abc")
        return replaced(headers, "Authorization", auth)

    error = refused(header_request(tamper=tamper))
    assert (error.status, error.code, error.ec) == (400, "InvalidArgument", "0002-00000213")


@pytest.mark.parametrize("value", ["OSS ak-without-signature", "OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/"
                                   "aliyun_v4_request", "OSS4-HMAC-SHA256 Signature=abc", "Bearer x",
                                   "OSS4-HMAC-SHA256 Credential=a,Credential=b,Signature=c"])
def test_malformed_authorization_is_invalid_argument(value):
    request = ra.SignedRequest("GET", KEY, [], [("Authorization", value), ("x-oss-date", "20231216T162057Z")])
    error = refused(request)
    assert (error.status, error.code) == (400, "InvalidArgument")


def test_header_mode_needs_date_and_unsigned_payload():
    no_date = refused(header_request(tamper=lambda h: [(n, v) for n, v in h if n != "x-oss-date"]))
    assert (no_date.status, no_date.code) == (403, "AccessDenied")
    payload = refused(header_request(tamper=lambda h: replaced(h, "x-oss-content-sha256", "abc")))
    assert (payload.status, payload.code, payload.ec) == (400, "InvalidArgument", "0002-00000214")


def test_unknown_access_key_id():
    error = refused(query_request(key_id="LTAI-somebody-else"))
    assert (error.status, error.code) == (403, "InvalidAccessKeyId")


def test_local_sts_credentials_are_accepted_like_in_forms():
    creds = mint("ak", "sk", NOW, 3600)
    request = header_request(key_id=creds.access_key_id, secret=creds.access_key_secret, token=creds.security_token)
    assert ra.authenticate(request, "bucket", SETTINGS, NOW).access_key_id == creds.access_key_id
    presigned_request = query_request(key_id=creds.access_key_id, secret=creds.access_key_secret,
                                      token=creds.security_token)
    assert ra.authenticate(presigned_request, "bucket", SETTINGS, NOW) is not None
    # The token's own expiry still applies, whatever the URL's.
    late = NOW + timedelta(seconds=3600)
    assert refused(query_request(when=late, key_id=creds.access_key_id, secret=creds.access_key_secret,
                                 token=creds.security_token), now=late).code == "SecurityTokenExpired"


def test_sts_key_without_or_with_a_forged_token():
    creds = mint("ak", "sk", NOW, 3600)
    missing = refused(query_request(key_id=creds.access_key_id, secret=creds.access_key_secret))
    assert (missing.status, missing.code) == (403, "InvalidAccessKeyId")
    forged = refused(query_request(key_id=creds.access_key_id, secret=creds.access_key_secret, token="x.y"))
    assert (forged.status, forged.code) == (403, "InvalidSecurityToken")


def test_parse_query_keeps_plus_and_empty_values():
    assert ra.parse_query("a=%2B+b&uploads&c=&d=%E4%B8%AD") == [("a", "++b"), ("uploads", ""), ("c", ""), ("d", "中")]


# -- V1 (`OSS <id>:<signature>`, presigned OSSAccessKeyId/Expires/Signature) ------------------------

V1_DATE = "Wed, 29 Nov 2023 02:00:00 GMT"
V1_NOW = datetime(2023, 11, 29, 2, 0, 0, tzinfo=UTC)


def v1_header(method="GET", key=KEY, query=(), headers=(), secret="sk", date=V1_DATE, key_id="ak"):
    sent = [("Date", date)] + list(headers)
    to_sign = v1.string_to_sign(method, "bucket", key, query, sent, date)
    return ra.SignedRequest(method, key, list(query),
                            sent + [("Authorization", f"OSS {key_id}:{v1.signature(secret, to_sign)}")])


def test_v1_string_to_sign_follows_oss_v1():
    to_sign = v1.string_to_sign(
        "PUT", "bucket", "a b.txt", [("acl", ""), ("prefix", "x"), ("partNumber", "1"), ("uploadId", "U")],
        [("Content-MD5", "md5"), ("Content-Type", "text/plain"), ("X-OSS-Meta-B", " b "), ("x-oss-date", "d")], "d")
    assert to_sign == ("PUT\nmd5\ntext/plain\nd\nx-oss-date:d\nx-oss-meta-b:b\n"
                       "/bucket/a b.txt?acl&partNumber=1&uploadId=U")


def test_v1_header_signatures_and_their_refusals():
    assert ra.authenticate(v1_header(), "bucket", SETTINGS, V1_NOW).access_key_id == "ak"
    creds = mint("ak", "sk", V1_NOW, 900)
    sts = v1_header(headers=[("x-oss-security-token", creds.security_token)], secret=creds.access_key_secret,
                    key_id=creds.access_key_id)
    assert ra.authenticate(sts, "bucket", SETTINGS, V1_NOW).access_key_id == creds.access_key_id
    assert refused(v1_header(secret="other"), V1_NOW).code == "SignatureDoesNotMatch"
    assert refused(v1_header(key_id="nobody"), V1_NOW).code == "InvalidAccessKeyId"
    assert refused(v1_header(), V1_NOW + timedelta(minutes=16)).code == "RequestTimeTooSkewed"
    assert refused(v1_header(date="yesterday"), V1_NOW).code == "AccessDenied"
    tampered = v1_header(query=[("acl", "")])
    assert refused(ra.SignedRequest("GET", KEY, [], tampered.headers), V1_NOW).code == "SignatureDoesNotMatch"


def test_v1_presigned_urls_expire():
    expires = str(int(V1_NOW.timestamp()) + 60)
    to_sign = v1.string_to_sign("GET", "bucket", KEY, [], [], expires)
    query = [("OSSAccessKeyId", "ak"), ("Expires", expires), ("Signature", v1.signature("sk", to_sign))]
    request = ra.SignedRequest("GET", KEY, query, [])
    assert ra.authenticate(request, "bucket", SETTINGS, V1_NOW).presigned
    late = refused(request, V1_NOW + timedelta(seconds=61))
    assert (late.status, late.code, late.message) == (403, "AccessDenied", "Request has expired.")
    missing = refused(ra.SignedRequest("GET", KEY, query[:1] + query[2:], []), V1_NOW)
    assert (missing.status, missing.code) == (403, "AccessDenied")
