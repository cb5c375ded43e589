"""Durable retries: rows the worker retries from the database (provisioning, removals, webhook deliveries, the event
outbox) share one way to claim with a lease, wait with backoff, give up at a deadline and pull waiting rows forward.

Each table keeps its own columns and states; a `Retried` names the columns, and these functions do the rest, so
the atomic claim, the jittered backoff and the deadline arithmetic exist once.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, and_, or_, select, true, update

from app.domain.common import utcnow
from app.extensions import db

# A Retry-After the service asked for is honoured within these bounds (seconds).
RETRY_AFTER_FLOOR = 0.5
RETRY_AFTER_CEILING = 300.0
# Error text kept on a row, so a service that answers a novel stays a row and not a page.
MAX_REASON = 2000


def delay(failures: int, base: float, cap: float, rand: float | None = None) -> float:
    """Seconds to wait after `failures` failures: half to all of min(cap, base * 2**(failures-1)), so retries of
    many rows spread out instead of arriving together."""
    exponent = min(max(failures, 1) - 1, 60)
    ceiling = min(cap, base * 2.0**exponent)
    return ceiling * (0.5 + 0.5 * (random.random() if rand is None else rand))


def wait_seconds(failures: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """The wait after a failure: the backoff, or a `Retry-After` the service asked for, kept within five minutes."""
    if retry_after is not None:
        return min(max(retry_after, RETRY_AFTER_FLOOR), RETRY_AFTER_CEILING)
    return delay(failures, base, cap)


def next_attempt(failures: int, retry_after: float | None = None, now: datetime | None = None) -> datetime:
    """When the next attempt is due, from the app's RETRY_BASE_SECONDS and RETRY_CAP_SECONDS policy."""
    config = current_app.config
    seconds = wait_seconds(failures, config["RETRY_BASE_SECONDS"], config["RETRY_CAP_SECONDS"], retry_after)
    return (now or utcnow()) + timedelta(seconds=seconds)


def scheduled(attempts: int, schedule: Sequence[float]) -> float:
    """Seconds to wait after the `attempts`-th failure on a fixed schedule whose last step repeats (webhooks)."""
    return schedule[min(max(attempts, 1), len(schedule)) - 1]


def deadline(since: datetime | None, seconds: float, now: datetime | None = None) -> datetime:
    """The moment a row that started failing at `since` (now, if it has not yet) is given up."""
    return (since or now or utcnow()) + timedelta(seconds=seconds)


def expired(since: datetime, seconds: float, now: datetime | None = None) -> bool:
    """Whether a row trying since `since` has passed its deadline of `seconds`."""
    return (now or utcnow()) >= deadline(since, seconds)


def reason(exc: BaseException) -> str:
    """What to record of a failure: the service's own message if it gave one, bounded."""
    return (getattr(exc, "message", None) or str(exc) or type(exc).__name__)[:MAX_REASON]


@dataclass(frozen=True)
class Retried:
    """The columns of one table of retried rows; the table keeps its own states, and says which rows may be claimed
    through `where` clauses of its own."""

    key: Any
    next_attempt_at: Any = None
    lease_until: Any = None
    attempts: Any = None

    @property
    def model(self) -> type:
        return self.key.class_

    def free(self, now: datetime) -> ColumnElement:
        """Nobody holds the row: no lease, or one that ran out (its worker died)."""
        if self.lease_until is None:
            return true()
        return or_(self.lease_until.is_(None), self.lease_until < now)

    def due(self, now: datetime) -> ColumnElement:
        """Its next attempt is due and nobody holds it."""
        if self.next_attempt_at is None:
            return self.free(now)
        return and_(self.next_attempt_at <= now, self.free(now))

    def claim(
        self,
        key: str,
        *where: ColumnElement,
        lease: timedelta | None = None,
        values: dict | None = None,
        commit: bool = True,
        when_due: bool = True,
    ) -> bool:
        """Takes the row for one attempt in a single UPDATE … WHERE, so of two claimers (on SQLite or PostgreSQL)
        exactly one wins; `where` adds the table's own conditions to "due and free" (or replaces it: when_due=False)."""
        now = utcnow()
        changes = dict(values or {})
        if lease is not None and self.lease_until is not None:
            changes[self.lease_until.key] = now + lease
        if self.attempts is not None:
            changes[self.attempts.key] = self.attempts + 1
        conditions = (self.due(now), *where) if when_due else where
        claimed = db.session.execute(update(self.model).where(self.key == key, *conditions).values(**changes)).rowcount
        if commit:
            db.session.commit()
        return bool(claimed)

    def due_keys(self, *where: ColumnElement, limit: int = 200, order_by: Any = None, join: Any = None) -> list:
        """Keys of rows due now (plus the table's own conditions), oldest due first; leaves no transaction open."""
        statement = select(self.key)
        if join is not None:
            statement = statement.join(*join)
        order = order_by if order_by is not None else self.next_attempt_at
        statement = statement.where(self.due(utcnow()), *where).order_by(order).limit(limit)
        keys = list(db.session.scalars(statement).all())
        db.session.rollback()
        return keys

    def pull_forward(self, *where: ColumnElement) -> int:
        """A dependency answered again: rows of this table waiting out its outage become due now (in the caller's
        transaction); rows held by a worker are left alone."""
        now = utcnow()
        conditions = [self.next_attempt_at > now, *where]
        if self.lease_until is not None:
            conditions.append(self.lease_until.is_(None))
        waiting = and_(*conditions)
        if db.session.scalar(select(self.key).where(waiting).limit(1)) is None:
            return 0
        return db.session.execute(update(self.model).where(waiting).values({self.next_attempt_at.key: now})).rowcount

    def release(self, row, *, next_attempt_at: datetime, error: str | None) -> None:
        """Gives up this attempt: the lease goes, the error stays, the next attempt waits (the caller commits)."""
        setattr(row, self.lease_until.key, None)
        setattr(row, self.next_attempt_at.key, next_attempt_at)
        row.last_error = error
