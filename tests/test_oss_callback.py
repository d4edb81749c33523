"""Is a callback from OSS? The published example verifies with the pinned key; nothing else does,
and a key URL we do not trust is refused without any network request to it."""
from __future__ import annotations

import base64

import pytest
import responses

from server.callback_token import CallbackTokens, TokenInvalid
from server.oss_callback import CallbackKeys, CallbackRejected, signed_string, valid_public_key, verify_signature
from tests.ossform import utc

# OSS's Callback documentation (2021 revision): path /index.php, query ?id=1&index=2, body bucket=yonghu-test.
DOC_SIGNATURE = "kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA=="
OSS_KEY_URL = "https://gosspublic.alicdn.com/callback_pub_key_v1.pem"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def headers(url: str = OSS_KEY_URL, signature: str = DOC_SIGNATURE) -> dict:
    return {"x-oss-pub-key-url": b64(url), "authorization": signature}


def verify(keys=None, hdrs=None, path="/index.php", query=b"id=1&index=2", body=b"bucket=yonghu-test"):
    verify_signature(keys or CallbackKeys(), hdrs or headers(), path, query, body)


def test_the_published_example_verifies_with_the_pinned_key():
    verify()
    verify(hdrs=headers("http://gosspublic.alicdn.com/callback_pub_key_v1.pem"))
    assert signed_string("/index.php", b"id=1&index=2", b"bucket=yonghu-test") == b"/index.php?id=1&index=2\nbucket=yonghu-test"
    assert signed_string("/p", b"", b"x") == b"/p\nx"  # no "?" without a query


@pytest.mark.parametrize("change", [
    dict(path="/index.phpx"),
    dict(path="index.php"),  # the leading "/" is signed
    dict(query=b"id=1&index=3"),
    dict(query=b""),
    dict(body=b"bucket=examplebucket"),  # the body the newer doc shows with the old signature
    dict(body=b"bucket=yonghu-test "),
    dict(hdrs=headers(signature=DOC_SIGNATURE.replace("kKQe", "kKQf"))),
    dict(hdrs=headers(signature="not base64!")),
    dict(hdrs={"x-oss-pub-key-url": b64(OSS_KEY_URL)}),
    dict(hdrs={"authorization": DOC_SIGNATURE}),
    dict(hdrs={"x-oss-pub-key-url": "%%%", "authorization": DOC_SIGNATURE}),
])
def test_anything_changed_does_not_verify(change):
    with pytest.raises(CallbackRejected):
        verify(**change)


@pytest.mark.parametrize("url", [
    "https://gosspublic.alicdn.com.evil.example/callback_pub_key_v1.pem",
    "https://evil.example/callback_pub_key_v1.pem",
    "https://gosspublic-alicdn.com/callback_pub_key_v1.pem",
    "https://gosspublic.alicdn.com@evil.example/key.pem",
    "ftp://gosspublic.alicdn.com/callback_pub_key_v1.pem",
    "HTTPS://GOSSPUBLIC.ALICDN.COM/callback_pub_key_v1.pem",
    "http://169.254.169.254/latest/meta-data/",
])
def test_untrusted_key_urls_are_refused_without_fetching_them(url):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, url, body="-----BEGIN PUBLIC KEY-----")
        with pytest.raises(CallbackRejected) as refused:
            verify(hdrs=headers(url))
        assert len(mock.calls) == 0
    assert "untrusted" in refused.value.reason and refused.value.status == 403


def test_the_local_emulator_key_is_trusted_only_at_its_exact_url():
    from Crypto.Hash import MD5
    from Crypto.PublicKey import RSA
    from Crypto.Signature import pkcs1_15

    key = RSA.generate(1024)
    loads = []
    local_url = "http://127.0.0.1:5001/oss-emulator/callback_pub_key.pem"
    keys = CallbackKeys(local=(local_url, lambda: loads.append(1) or key.publickey().export_key()))
    message = ("/api/oss-callback", b"t", b"bucket=b")
    signature = base64.b64encode(pkcs1_15.new(key).sign(MD5.new(signed_string(*message)))).decode()
    for _ in range(3):
        verify_signature(keys, headers(local_url, signature), *message)
    assert loads == [1]  # read once, never per request
    with pytest.raises(CallbackRejected):
        verify_signature(keys, headers(local_url + "x", signature), *message)
    with pytest.raises(CallbackRejected):  # and without the local entry (cloud mode) not at all
        verify_signature(CallbackKeys(), headers(local_url, signature), *message)


def test_operator_key_override_must_be_a_public_key():
    from Crypto.PublicKey import RSA

    key = RSA.generate(1024)
    assert valid_public_key(key.publickey().export_key())
    assert not valid_public_key(key.export_key())  # a private key is never what we want here
    assert not valid_public_key(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")


NOW = utc(2026, 11, 29, 2, 0, 0)


def test_tokens_bind_bucket_key_folder_and_expiry():
    tokens = CallbackTokens("s" * 32)
    token = tokens.issue("b", "uploads/f/2026/11/29/x.jpg", "f/", utc(2026, 11, 29, 2, 15, 0))
    assert token.replace(".", "").replace("-", "").replace("_", "").isalnum()  # the whole query, unescaped
    grant = tokens.verify(token, NOW)
    assert (grant.bucket, grant.key, grant.folder) == ("b", "uploads/f/2026/11/29/x.jpg", "f/")
    assert len(grant.token_id) == 32
    assert tokens.issue("b", "k", "", NOW).split(".")[0] != tokens.issue("b", "k", "", NOW).split(".")[0]


@pytest.mark.parametrize("spoil", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # MAC changed
    lambda t: ("A" if t[0] != "A" else "B") + t[1:],  # payload changed
    lambda t: t.split(".")[0],
    lambda t: "",
    lambda t: "x" * 5000,
    lambda t: t + "é",
])
def test_damaged_tokens_are_invalid(spoil):
    tokens = CallbackTokens("s" * 32)
    with pytest.raises(TokenInvalid):
        tokens.verify(spoil(tokens.issue("b", "k", "", utc(2026, 11, 29, 3, 0, 0))), NOW)


def test_expired_and_foreign_tokens_are_invalid():
    ours, theirs = CallbackTokens("s" * 32), CallbackTokens("t" * 32)
    token = ours.issue("b", "k", "", utc(2026, 11, 29, 2, 10, 0))
    with pytest.raises(TokenInvalid, match="expired"):
        ours.verify(token, utc(2026, 11, 29, 2, 10, 0))
    with pytest.raises(TokenInvalid):
        theirs.verify(token, NOW)
