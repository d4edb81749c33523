"""Object keys the emulator refuses, and the XML and links it builds from the keys it accepts."""
from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from urllib.parse import urljoin

import pytest
import requests

from tests.local_oss_support import assert_refused

INVALID_NAME = "The specified object is not valid."
CREATED = [("success_action_status", "201")]


@pytest.mark.parametrize("key", ["uploads/a\x00b.png", "uploads/a\x01b", "uploads/\x1f", "uploads/tab\there",
                                 "uploads/del\x7f", "uploads/\ufffe"])
def test_keys_with_control_characters_are_invalid_object_names(emu, key):
    response = emu.post(emu.sign(key, [["starts-with", "$key", "uploads/"]], extra=CREATED))
    assert_refused(emu, response, 400, "InvalidObjectName", INVALID_NAME)


def test_filename_expansion_with_a_control_character_is_refused(emu):
    fields = emu.sign("uploads/${filename}", [["starts-with", "$key", "uploads/"]], extra=CREATED)
    response = emu.post(fields, b"x", filename="a\x01b.png")
    assert_refused(emu, response, 400, "InvalidObjectName", INVALID_NAME)


@pytest.mark.parametrize("key", ["uploads/<a> & \"b\" 'c'.txt", "uploads/\u0085\u00a0\u4e2d\U0001f600.txt",
                                 "uploads/]]>.txt"])
def test_post_response_xml_is_well_formed_for_any_accepted_key(emu, key):
    response = emu.post(emu.sign(key, extra=CREATED))
    assert response.status_code == 201, response.text
    root = ET.fromstring(response.content)
    assert root.findtext("Key") == key
    assert emu.http.get(root.findtext("Location")).content == b"hello"


@pytest.mark.parametrize("key", ["x/../../y", "uploads/../a", "uploads/./a", "./a", "../a", "uploads/.", "uploads/..",
                                 "a/b/.."])
def test_dot_segments_are_invalid_object_names(emu, key):
    response = emu.post(emu.sign(key, extra=CREATED))
    assert_refused(emu, response, 400, "InvalidObjectName", INVALID_NAME)


def test_filename_expansion_to_a_dot_segment_is_refused(emu):
    fields = emu.sign("uploads/${filename}", [["starts-with", "$key", "uploads/"]], extra=CREATED)
    assert_refused(emu, emu.post(fields, b"x", filename=".."), 400, "InvalidObjectName", INVALID_NAME)


@pytest.mark.parametrize("key", ["uploads/...", "uploads/..a", "uploads/a..", "uploads/.hidden", "uploads/a.b"])
def test_dots_inside_a_segment_are_fine_and_links_lead_back_to_the_object(emu, key):
    response = emu.post(emu.sign(key, extra=CREATED))
    assert response.status_code == 201, response.text
    location = ET.fromstring(response.content).findtext("Location")
    assert emu.http.get(location).content == b"hello"
    page = requests.get(emu.url + "/-/console", timeout=5).text
    href = html.unescape(page.split('<a href="', 1)[1].split('"', 1)[0])  # a presigned link
    assert requests.get(urljoin(emu.url + "/", href), timeout=5).content == b"hello"
