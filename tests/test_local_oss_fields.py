"""PostObject form fields beyond key and size: what the emulator stores with the object, which
values it refuses like OSS, and that a field the policy names is judged while one it does not name
is only validated and stored."""
from __future__ import annotations

import pytest

from oss_emulator.object_headers import OBJECT_ACLS, STORAGE_CLASSES
from oss_emulator.storage import Storage
from tests.local_oss_support import assert_refused
from tests.ossform import error_message


def failed(condition: str) -> str:
    return "Invalid according to Policy: Policy Condition failed: " + condition


def stored(emu, key="uploads/a.bin"):
    return Storage(emu.directory).get(key).headers


def served_type(emu, key):
    return emu.http.head(f"{emu.url}/{key}").headers["Content-Type"]


# -- Content-Type: x-oss-content-type > the file part's type > the Content-Type field ------------

def test_x_oss_content_type_outranks_the_file_part_and_the_field(emu):
    fields = emu.sign("uploads/a.png", extra=[("Content-Type", "image/png"), ("x-oss-content-type", "text/plain")])
    assert emu.post(fields, b"x", file_type="image/gif").status_code == 204
    assert served_type(emu, "uploads/a.png") == "text/plain"


def test_the_file_parts_type_outranks_the_content_type_field(emu):
    fields = emu.sign("uploads/a.png", extra=[("Content-Type", "image/png")])
    assert emu.post(fields, b"x", file_type="image/gif").status_code == 204
    assert served_type(emu, "uploads/a.png") == "image/gif"


def test_without_any_type_it_is_guessed_from_the_key(emu):
    assert emu.post(emu.sign("uploads/a.png"), b"x").status_code == 204
    assert served_type(emu, "uploads/a.png") == "image/png"


def test_an_octet_stream_file_part_undoes_a_pinned_content_type_field(emu):
    """A form that pins only the Content-Type field (as the signer did) cannot fix the type when the
    client's file part says application/octet-stream, as the wx.uploadFile double sends it; pinning
    x-oss-content-type can."""
    pin = [["eq", "$Content-Type", "image/png"]]
    fields = emu.sign("uploads/a.png", pin, extra=[("Content-Type", "image/png")])
    assert emu.post(fields, b"x", file_type="application/octet-stream").status_code == 204
    assert served_type(emu, "uploads/a.png") == "application/octet-stream"

    pin = [["eq", "$x-oss-content-type", "image/png"]]
    fields = emu.sign("uploads/b.png", pin, extra=[("x-oss-content-type", "image/png")])
    assert emu.post(fields, b"x", file_type="application/octet-stream").status_code == 204
    assert served_type(emu, "uploads/b.png") == "image/png"


def test_an_unpinned_x_oss_content_type_changes_the_stored_type(emu):
    """The issue's attack: the signer pins Content-Type, the client adds x-oss-content-type; OSS's
    documented priority lets it through, so the emulator does too."""
    fields = emu.sign("uploads/a.png", [["eq", "$Content-Type", "image/png"]],
                      extra=[("Content-Type", "image/png"), ("x-oss-content-type", "text/html")])
    assert emu.post(fields, b"<script>1</script>").status_code == 204
    assert served_type(emu, "uploads/a.png") == "text/html"


def test_a_pinned_x_oss_content_type_refuses_another_value(emu):
    fields = emu.sign("uploads/a.png", [["eq", "$x-oss-content-type", "image/png"]],
                      extra=[("x-oss-content-type", "text/html")])
    assert_refused(emu, emu.post(fields), 403, "AccessDenied", failed('["eq", "$x-oss-content-type", "image/png"]'))


# -- storage class and ACL ------------------------------------------------------------------------

@pytest.mark.parametrize("value", STORAGE_CLASSES)
def test_every_storage_class_is_stored(emu, value):
    assert emu.post(emu.sign(extra=[("x-oss-storage-class", value)])).status_code == 204
    assert stored(emu)["x-oss-storage-class"] == value


@pytest.mark.parametrize("value", OBJECT_ACLS)
def test_every_object_acl_is_stored(emu, value):
    assert emu.post(emu.sign(extra=[("x-oss-object-acl", value)])).status_code == 204
    assert stored(emu)["x-oss-object-acl"] == value


def test_neither_is_stored_when_not_sent(emu):
    assert emu.post(emu.sign()).status_code == 204
    assert "x-oss-storage-class" not in stored(emu) and "x-oss-object-acl" not in stored(emu)


@pytest.mark.parametrize("name,value", [
    ("x-oss-storage-class", "standard"), ("x-oss-storage-class", "Glacier"), ("x-oss-storage-class", ""),
    ("x-oss-storage-class", "Standard "), ("x-oss-object-acl", "public"), ("x-oss-object-acl", "Private"),
    ("x-oss-object-acl", "authenticated-read"), ("x-oss-object-acl", ""),
])
def test_unknown_storage_class_or_acl_is_invalid_argument(emu, name, value):
    assert_refused(emu, emu.post(emu.sign(extra=[(name, value)])), 400, "InvalidArgument")


@pytest.mark.parametrize("name,pinned,sent", [
    ("x-oss-storage-class", "Standard", "ColdArchive"),
    ("x-oss-storage-class", "Standard", "Archive"),
    ("x-oss-object-acl", "private", "public-read"),
    ("x-oss-object-acl", "private", "public-read-write"),
])
def test_a_pinned_storage_class_or_acl_refuses_a_client_that_changes_it(emu, name, pinned, sent):
    pin = [["eq", f"${name}", pinned]]
    assert_refused(emu, emu.post(emu.sign(conditions=pin, extra=[(name, sent)])), 403, "AccessDenied",
                   failed(f'["eq", "${name}", "{pinned}"]'))
    # Dropping the field fails the condition too; sending the pinned value passes.
    assert_refused(emu, emu.post(emu.sign(conditions=pin)), 403, "AccessDenied")
    assert emu.post(emu.sign(conditions=pin, extra=[(name, pinned)])).status_code == 204
    assert stored(emu)[name] == pinned


# -- fields the policy does not mention: validated and stored, never judged -------------------------

def test_unmentioned_header_fields_are_stored_and_served(emu):
    extra = [("Cache-Control", "no-cache"), ("Content-Encoding", "gzip"), ("Expires", "Wed, 21 Oct 2026 07:28:00 GMT"),
             ("Content-Disposition", 'attachment; filename="a.txt"'), ("x-oss-meta-Owner", "me-1"),
             ("x-oss-meta-note", "5 $ & = ok"), ("success_action_redirect", "https://example.invalid/")]
    response = emu.post(emu.sign("uploads/a.txt", extra=extra), b"bytes")
    assert response.status_code == 204
    got = emu.http.head(emu.url + "/uploads/a.txt")  # HEAD: the body is not really gzip
    assert got.headers["Cache-Control"] == "no-cache"
    assert got.headers["Content-Encoding"] == "gzip"
    assert got.headers["Expires"] == "Wed, 21 Oct 2026 07:28:00 GMT"
    assert got.headers["Content-Disposition"] == 'attachment; filename="a.txt"'
    assert got.headers["x-oss-meta-owner"] == "me-1" and got.headers["x-oss-meta-note"] == "5 $ & = ok"
    assert got.headers["ETag"] == response.headers["ETag"] and got.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name,pinned,sent", [
    ("Cache-Control", "no-store", "public, max-age=31536000"),
    ("Content-Encoding", "identity", "gzip"),
    ("x-oss-meta-owner", "alice", "mallory"),
])
def test_fields_the_policy_names_are_judged_as_before(emu, name, pinned, sent):
    fields = emu.sign(conditions=[["eq", f"${name}", pinned]], extra=[(name, sent)])
    assert_refused(emu, emu.post(fields), 403, "AccessDenied", failed(f'["eq", "${name}", "{pinned}"]'))


# -- values that could not be served back: refused at upload ---------------------------------------

HEADER_FIELDS = ["x-oss-meta-note", "Cache-Control", "Content-Encoding", "Expires", "Content-Disposition",
                 "Content-Type", "x-oss-content-type"]


@pytest.mark.parametrize("name", HEADER_FIELDS)
@pytest.mark.parametrize("value", ["中文", "café", "a\u2028b", "\U0001f600"])
def test_non_ascii_header_values_are_refused_at_upload(emu, name, value):
    response = emu.post(emu.sign("uploads/a.txt", extra=[(name, value)]), b"x")
    assert_refused(emu, response, 400, "InvalidArgument")
    assert name.lower() in error_message(response).lower()
    assert emu.http.get(emu.url + "/uploads/a.txt", timeout=5).status_code == 404


def test_a_non_ascii_file_part_type_is_refused(emu):
    assert_refused(emu, emu.post(emu.sign(), b"x", file_type="image/中"), 400, "InvalidArgument")


@pytest.mark.parametrize("name", HEADER_FIELDS)
@pytest.mark.parametrize("value", ["a\x00b", "\x1b[31mred", "a\x7f", "a\rb", "a\nInjected: 1", "a\x0bb"])
def test_control_characters_in_header_values_are_refused(emu, name, value):
    assert_refused(emu, emu.post(emu.sign("uploads/a.txt", extra=[(name, value)]), b"x"), 400, "InvalidArgument")


def test_a_tab_is_a_header_character_but_not_a_metadata_one(emu):
    assert_refused(emu, emu.post(emu.sign("uploads/b.bin", extra=[("x-oss-meta-a", "x\ty")])), 400, "InvalidArgument")
    assert emu.post(emu.sign(extra=[("Cache-Control", "no-cache,\tno-store")])).status_code == 204


@pytest.mark.parametrize("name", ["x-oss-meta-a b", "x-oss-meta-a_b", "x-oss-meta-", "x-oss-meta-a:b",
                                  "x-oss-meta-a.b", "x-oss-meta-中文", "x-oss-meta-a\tb", "x-oss-meta-(a)"])
def test_metadata_names_oss_refuses_are_invalid_argument(emu, name):
    assert_refused(emu, emu.post(emu.sign(extra=[(name, "v")])), 400, "InvalidArgument")


def test_metadata_names_of_letters_digits_and_dashes_are_fine(emu):
    assert emu.post(emu.sign(extra=[("x-oss-meta-Camel-Case-2", "v")])).status_code == 204
    assert stored(emu)["x-oss-meta-camel-case-2"] == "v"
