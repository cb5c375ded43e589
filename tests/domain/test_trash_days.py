"""The workspace's `trash_days` as the trash reads it: any JSON value becomes a number of days in 0..MAX_DAYS."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.trash import DEFAULT_DAYS, MAX_DAYS, parse_days

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(raw=JSON_VALUES)
def test_any_settings_value_becomes_days_within_range(raw):
    assert 0 <= parse_days(raw) <= MAX_DAYS


@given(days=st.integers(min_value=-(10**6), max_value=10**6))
def test_whole_numbers_are_clamped_and_kept_in_between(days):
    assert parse_days(days) == min(max(days, 0), MAX_DAYS)
    assert parse_days(str(days)) == parse_days(days)


def test_unreadable_values_mean_the_default():
    for raw in (None, True, "soon", [], {}, float("nan"), float("inf")):
        assert parse_days(raw) == DEFAULT_DAYS, raw
    assert parse_days(0) == 0 and parse_days("0") == 0 and parse_days(7.9) == 7
