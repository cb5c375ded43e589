"""`version_copy_days`, how long a replaced version's images-service copy is kept: what the settings accept, and what
a replace reads from whatever is stored."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import DomainError
from app.domain.versions import DEFAULT_COPY_DAYS, MAX_COPY_DAYS, parse_copy_days
from app.domain.workspace_settings import parse

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(raw=JSON_VALUES)
def test_any_stored_value_becomes_days_within_range(raw):
    assert 0 <= parse_copy_days(raw) <= MAX_COPY_DAYS


@given(days=st.integers(min_value=-(10**6), max_value=10**6))
def test_whole_numbers_are_clamped_and_the_settings_accept_exactly_the_range(days):
    assert parse_copy_days(days) == parse_copy_days(str(days)) == min(max(days, 0), MAX_COPY_DAYS)
    if 0 <= days <= MAX_COPY_DAYS:
        assert parse("version_copy_days", str(days)) == days
    else:
        with pytest.raises(DomainError) as refused:
            parse("version_copy_days", str(days))
        assert refused.value.code == "invalid_setting" and "0 to 365" in refused.value.message


def test_unreadable_values_mean_the_default():
    for raw in (None, True, "soon", [], {}, 1.5):
        assert parse_copy_days(raw) == DEFAULT_COPY_DAYS
