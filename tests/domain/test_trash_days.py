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


@settings(max_examples=300, deadline=None)
@given(raw=st.integers(min_value=-(10**5), max_value=10**5) | st.text(max_size=8))
def test_the_setting_accepts_exactly_what_the_trash_reads_as_itself(raw):
    """One range for every face (settings page, its POST, the CLI): 0 (the trash off) to MAX_DAYS, as the README
    says; whatever it accepts, the trash reads back unchanged."""
    from app.domain.errors import DomainError
    from app.domain.workspace_settings import parse

    try:
        number = int(str(raw).strip())
    except ValueError:
        number = None
    try:
        value = parse("trash_days", raw)
    except DomainError as refused:
        assert number is None or not 0 <= number <= MAX_DAYS
        assert refused.message == "Days deleted files stay in the trash must be a whole number from 0 to 3,650."
        return
    assert value == number and 0 <= value <= MAX_DAYS and parse_days(value) == value
