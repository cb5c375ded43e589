"""Names: an uploaded file's name loses the client's path; a name an editor types keeps every "/" and "\\"."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.files import MAX_NAME_LENGTH, clean_name, safe_display_name

SEPARATORS = st.text(alphabet=st.sampled_from("/\\"), min_size=1, max_size=4)
NAMES = st.lists(st.text(max_size=20) | SEPARATORS, max_size=10).map("".join)


@settings(max_examples=300, deadline=None)
@given(typed=NAMES)
def test_a_typed_name_keeps_its_slashes(typed):
    cleaned = clean_name(typed)
    assert 1 <= len(cleaned) <= MAX_NAME_LENGTH
    if len(typed) <= MAX_NAME_LENGTH:
        assert cleaned.count("/") == typed.count("/") and cleaned.count("\\") == typed.count("\\")
    assert not any(ord(c) < 32 for c in cleaned)


@settings(max_examples=300, deadline=None)
@given(path=NAMES)
def test_an_uploaded_name_is_the_last_part_of_its_path(path):
    cleaned = safe_display_name(path)
    assert "/" not in cleaned and "\\" not in cleaned and 1 <= len(cleaned) <= MAX_NAME_LENGTH
    assert cleaned == clean_name(path.replace("\\", "/").rsplit("/", 1)[-1])


def test_the_reported_names():
    assert clean_name("AC/DC live.jpg") == "AC/DC live.jpg"
    assert clean_name("/") == "/"
    assert safe_display_name("C:\\Users\\me\\AC DC.jpg") == "AC DC.jpg"
