"""Tag names and keys (Hypothesis): a tag is shown as typed but tidied, and is the same tag in any case."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.domain.errors import DomainError
from app.domain.grouping import MAX_TAG, tag_key, tag_name

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)


def _accepted(raw: str) -> str | None:
    try:
        return tag_name(raw)
    except DomainError as refused:
        assert refused.code == "invalid_tag" and refused.extra["parameter"] == "tag"
        return None


@given(texts)
def test_a_name_is_tidy_or_refused_with_invalid_tag(raw):
    name = _accepted(raw)
    if name is None:
        return
    assert 1 <= len(name) <= MAX_TAG and name == name.strip() and "  " not in name and "," not in name
    assert not any(ord(ch) < 32 or 127 <= ord(ch) <= 159 for ch in name)
    assert tag_name(name) == name  # tidying is idempotent


@given(texts)
def test_the_key_ignores_case_and_spacing(raw):
    name = _accepted(raw)
    assume(name is not None)
    assert tag_key(raw) == tag_key(name) == tag_key(f"  {name}\t")
    assert tag_key(name.upper()) == tag_key(name.lower()) or not name.isascii()
    assert tag_key(name.swapcase()) == tag_key(name) or not name.isascii()


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzßẞİıſ ", min_size=1, max_size=30))
def test_the_key_folds_the_letters_whose_case_has_more_than_one_form(raw):
    assume(raw.strip())
    assert tag_key(raw) == tag_key(raw.casefold()) == tag_key(tag_key(raw))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Straße", "STRASSE"),
        ("Beach", "bEACH"),
        ("golden  hour", "Golden Hour"),
        ("ﬁsh", "FISH"),
        ("Ｂｅａｃｈ", "beach"),
    ],
)
def test_spellings_of_one_tag(a, b):
    assert tag_key(a) == tag_key(b)


@pytest.mark.parametrize("raw", ["", "   ", "a,b", "x" * (MAX_TAG + 1), 5, None, "\x00\x07"])
def test_refused(raw):
    with pytest.raises(DomainError) as refused:
        tag_key(raw)
    assert refused.value.code == "invalid_tag"
