"""A file name is a display name: a CR/LF in it, raw or in the percent form a multipart `filename="…"` carries it
in (the HTML standard's %0D%0A, which requests/urllib3 and browsers send), becomes a space, never the literal text."""

from __future__ import annotations

import re

import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.domain.files import File, safe_display_name
from tests.reliability.reliability_support import scalar

ENCODED_CONTROL = re.compile(r"%(?:[01][0-9a-f]|7f)", re.IGNORECASE)
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
ENCODED = st.sampled_from([f"%{code:02x}" for code in [*range(0x20), 0x7F]] + [f"%{code:02X}" for code in range(0x20)])
PIECES = st.one_of(ENCODED, st.sampled_from(["%", "0", "D", "A", "\r", "\n", "\x01", " ", "."]), st.text(max_size=4))


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=40).map("".join))
def test_no_display_name_holds_a_control_character_raw_or_percent_encoded(raw):
    name = safe_display_name(raw)
    assert not CONTROL.search(name) and not ENCODED_CONTROL.search(name), (raw, name)
    assert safe_display_name(name) == name, "a display name is already safe"


@given(left=st.text(alphabet="abcXYZ09-_", min_size=1, max_size=10), right=st.text(alphabet="abc09", max_size=10))
def test_a_line_break_in_either_form_becomes_one_space(left, right):
    for form in ("\r\n", "%0D%0A", "%0d%0a", "\n", "%0A"):
        assert safe_display_name(f"{left}{form}{right}.jpg") == f"{left} {right}.jpg"


def test_an_upload_named_with_a_crlf_is_stored_with_a_space(app, tenant, live_server):
    """requests (urllib3 2) sends the name as filename="holiday%0D%0Aphoto.jpg"; it used to be stored as written."""
    answer = requests.post(
        f"{live_server.url}/api/files",
        headers=tenant.auth(),
        data={"project_id": tenant.project_id},
        files={"file": ("holiday\r\nphoto.jpg", b"not an image, a display name")},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == "holiday photo.jpg"
    assert scalar(app, select(File.name).where(File.id == answer.json()["id"])) == "holiday photo.jpg"
