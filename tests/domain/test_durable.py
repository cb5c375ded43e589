"""The one durable-retry module: its waits and deadlines stay in range, and its claim lets exactly one claimer win."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.domain import durable
from app.domain.common import new_id, utcnow
from app.domain.removals import RETRIED, STORED_OBJECT, PendingRemoval, record
from app.extensions import db

moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)


@settings(max_examples=300, deadline=None)
@given(
    failures=st.integers(min_value=-5, max_value=10_000),
    base=st.floats(min_value=0.01, max_value=60),
    cap=st.floats(min_value=0.01, max_value=3600),
    retry_after=st.one_of(st.none(), st.floats(min_value=-1e9, max_value=1e9)),
)
def test_a_wait_is_the_capped_backoff_or_the_services_retry_after_within_five_minutes(failures, base, cap, retry_after):
    base = min(base, cap)
    wait = durable.wait_seconds(failures, base, cap, retry_after)
    if retry_after is None:
        assert 0 < wait <= cap * (1 + 1e-9)
    else:
        assert durable.RETRY_AFTER_FLOOR <= wait <= durable.RETRY_AFTER_CEILING
        assert wait == min(max(retry_after, durable.RETRY_AFTER_FLOOR), durable.RETRY_AFTER_CEILING)


@given(
    attempts=st.integers(min_value=-5, max_value=10_000),
    schedule=st.lists(st.floats(min_value=0.1, max_value=86_400), min_size=1, max_size=12),
)
def test_a_schedule_step_is_one_of_its_steps_and_the_last_repeats(attempts, schedule):
    wait = durable.scheduled(attempts, schedule)
    assert wait in schedule
    if attempts >= len(schedule):
        assert wait == schedule[-1]
    if attempts <= 1:
        assert wait == schedule[0]


@given(since=moments, seconds=st.floats(min_value=0, max_value=10 * 365 * 86_400), later=st.floats(0, 1e9))
def test_a_row_expires_exactly_when_its_deadline_is_reached(since, seconds, later):
    end = durable.deadline(since, seconds)
    assert end - since == timedelta(seconds=seconds)
    now = since + timedelta(seconds=later)
    assert durable.expired(since, seconds, now) == (now >= end)
    assert durable.expired(since, seconds, end)
    assert durable.deadline(None, seconds, now) == now + timedelta(seconds=seconds)


def _removal() -> str:
    row = record(STORED_OBJECT, subject_id=new_id("fil"), target=new_id("key"), workspace_id=new_id("wsp"))
    db.session.commit()
    return row.id


def test_of_two_claims_exactly_one_wins_and_a_lapsed_lease_is_claimable_again(ctx):
    removal_id = _removal()
    assert RETRIED.claim(removal_id, lease=timedelta(hours=1)) is True
    assert RETRIED.claim(removal_id, lease=timedelta(hours=1)) is False  # held: the second claimer loses
    row = db.session.get(PendingRemoval, removal_id)
    assert row.attempts == 1
    row.lease_until = utcnow() - timedelta(seconds=1)  # its worker died: the lease ran out
    db.session.commit()
    assert RETRIED.claim(removal_id, lease=timedelta(hours=1)) is True
    db.session.refresh(row)
    assert row.attempts == 2


def test_a_released_row_waits_and_a_pull_forward_makes_it_due_again(ctx):
    removal_id = _removal()
    assert RETRIED.claim(removal_id, lease=timedelta(hours=1))
    row = db.session.get(PendingRemoval, removal_id)
    RETRIED.release(row, next_attempt_at=utcnow() + timedelta(hours=1), error="service unavailable")
    db.session.commit()
    assert removal_id not in RETRIED.due_keys()
    assert RETRIED.claim(removal_id, lease=timedelta(hours=1)) is False  # not due yet
    assert RETRIED.pull_forward(PendingRemoval.kind == STORED_OBJECT) == 1
    db.session.commit()
    assert removal_id in RETRIED.due_keys()
    assert db.session.scalar(select(PendingRemoval.last_error).where(PendingRemoval.id == removal_id)) == (
        "service unavailable"
    )
