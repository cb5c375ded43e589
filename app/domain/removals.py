"""Pending removals: an Images copy or stored bytes that must go, recorded as a row in the deleting transaction and
retried from the database until done, so neither an outage of any length nor the loss of Redis keeps them alive."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import JSON, Index, Integer, String, Text, delete, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from app.adapters.storage import master_key
from app.domain import durable, services
from app.domain.common import UTCDateTime, chunks, new_id, utcnow
from app.domain.job_names import Job
from app.extensions import db

log = logging.getLogger(__name__)

IMAGES_COPY = "images_copy"
STORED_OBJECT = "stored_object"
KINDS = (IMAGES_COPY, STORED_OBJECT)
REMOVAL_JOB = Job.PERFORM_REMOVAL
# One attempt holds its row this long; a worker that dies mid-way leaves it to the next pass after that.
LEASE = timedelta(seconds=120)
# A maintenance pass stops starting removals after this long, so a hanging service cannot starve the relay.
PASS_SECONDS = 10.0
# Set in the payload of a removal under way that its owner called off (app.domain.trash.restore).
CALLED_OFF = "calledOff"


Performer = Callable[["PendingRemoval"], None]
Settled = Callable[[str], None]
_performers: dict[str, Performer] = {}
_after: dict[str, list[Settled]] = {kind: [] for kind in KINDS}


class PendingRemoval(db.Model):
    """One thing to remove outside the database: `target` is the file id (images_copy) or the storage key."""

    __tablename__ = "pending_removal"
    __table_args__ = (Index("ix_pending_removal_next_attempt_at", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("rmv"))
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(32), index=True)
    target: Mapped[str] = mapped_column(String(1024))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    workspace_id: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def record(
    kind: str, *, subject_id: str, target: str, workspace_id: str, payload: dict | None = None
) -> PendingRemoval:
    """Adds the removal to the caller's transaction: it exists exactly when the delete it follows committed."""
    if kind not in KINDS:
        raise ValueError(f"unknown removal kind {kind!r}")
    now = utcnow()
    row = PendingRemoval(
        id=new_id("rmv"),
        kind=kind,
        subject_id=subject_id,
        target=target,
        payload=payload or {},
        workspace_id=workspace_id,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.session.add(row)
    return row


def record_all(kind: str, removals: list[dict]) -> None:
    """`record` for many things at once (dicts of its keyword arguments): the same rows, inserted now."""
    if kind not in KINDS:
        raise ValueError(f"unknown removal kind {kind!r}")
    now = utcnow()
    rows = [
        {
            "id": new_id("rmv"),
            "kind": kind,
            "subject_id": removal["subject_id"],
            "target": removal["target"],
            "payload": removal.get("payload") or {},
            "workspace_id": removal["workspace_id"],
            "attempts": 0,
            "next_attempt_at": now,
            "lease_until": None,
            "last_error": None,
            "created_at": now,
        }
        for removal in removals
    ]
    if rows:
        db.session.execute(insert(PendingRemoval.__table__), rows)  # one executemany, no ORM object per row


def enqueue_for(subject_id: str, kind: str) -> None:
    """The fast path: a job per removal right after the delete; the maintenance pass backs it whatever happens."""
    queue = services.queue()
    ids = db.session.scalars(
        select(PendingRemoval.id).where(PendingRemoval.subject_id == subject_id, PendingRemoval.kind == kind)
    ).all()
    for removal_id in ids:
        queue.try_enqueue("default", REMOVAL_JOB, removal_id, job_id=f"removal-{removal_id}", timeout=300)


RETRIED = durable.Retried(
    key=PendingRemoval.id,
    next_attempt_at=PendingRemoval.next_attempt_at,
    lease_until=PendingRemoval.lease_until,
    attempts=PendingRemoval.attempts,
)


def performs(kind: str) -> Callable[[Performer], Performer]:
    """Registers how a kind of removal is carried out (the module that owns the thing registers it, so this table
    imports none of them); it raises to be tried again later."""

    def register(func: Performer) -> Performer:
        _performers[kind] = func
        return func

    return register


def after_attempt(kind: str) -> Callable[[Settled], Settled]:
    """Registers what to do, by subject id, once an attempt at a removal of this kind ended, whichever way."""

    def register(func: Settled) -> Settled:
        _after[kind].append(func)
        return func

    return register


def call_off(subject_ids: list[str], kind: str) -> dict[str, list[PendingRemoval]]:
    """The owner decided the things stay (files restored from the trash), in the caller's transaction: removals not
    under way go; one under way (leased) is marked, so its attempt, or the next, ends it without removing anything.
    Returns them all per subject id, so the owner can see which were under way; a few statements per IN_CHUNK
    subjects."""
    found: dict[str, list[PendingRemoval]] = {}
    now = utcnow()
    for chunk in chunks(subject_ids):
        rows = list(
            db.session.scalars(
                select(PendingRemoval)
                .where(PendingRemoval.subject_id.in_(chunk), PendingRemoval.kind == kind)
                .order_by(PendingRemoval.id)
            )
        )
        gone = []
        for row in rows:
            found.setdefault(row.subject_id, []).append(row)
            if row.lease_until is not None and row.lease_until > now:
                row.payload = {**(row.payload or {}), CALLED_OFF: True}
            else:
                gone.append(row.id)
        if gone:
            db.session.execute(delete(PendingRemoval).where(PendingRemoval.id.in_(gone)))
    return found


def perform(removal_id: str) -> str:
    """Claims one due removal (only one claimer wins) and carries it out; a failure waits with backoff, for ever."""
    if not RETRIED.claim(removal_id, lease=LEASE):
        return "not-due" if db.session.get(PendingRemoval, removal_id) else "gone"
    row = db.session.get(PendingRemoval, removal_id)
    if row is None:
        return "gone"  # called off between the claim and now (a retry or a restore takes the removal back)
    kind, subject_id = row.kind, row.subject_id
    outcome = _attempt(row) if not (row.payload or {}).get(CALLED_OFF) else _end_called_off(row)
    for settled in _after[kind]:
        settled(subject_id)  # e.g. a restore whose provisioning waited for this attempt need not wait any longer
    return outcome


def _attempt(row: PendingRemoval) -> str:
    removal_id = row.id
    try:
        _carry_out(row)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the row stays and is tried again later
        db.session.rollback()
        row = db.session.get(PendingRemoval, removal_id)
        if row is None:
            return "gone"
        next_at = durable.next_attempt(row.attempts, getattr(exc, "retry_after", None))
        RETRIED.release(row, next_attempt_at=next_at, error=durable.reason(exc))
        db.session.commit()
        log.info(
            "removal %s (%s %s) failed for now: %s; next attempt at %s",
            row.id,
            row.kind,
            row.target,
            row.last_error,
            row.next_attempt_at.isoformat(),
        )
        return "retry"
    db.session.execute(delete(PendingRemoval).where(PendingRemoval.id == removal_id))
    # The service answered: removals of the same kind that were waiting out an outage need not wait any longer.
    RETRIED.pull_forward(PendingRemoval.kind == row.kind, PendingRemoval.attempts > 0)
    db.session.commit()
    return "done"


def _end_called_off(row: PendingRemoval) -> str:
    db.session.execute(delete(PendingRemoval).where(PendingRemoval.id == row.id))
    db.session.commit()
    return "called-off"


def _carry_out(row: PendingRemoval) -> None:
    _performers[row.kind](row)


@performs(STORED_OBJECT)
def _delete_stored(row: PendingRemoval) -> None:
    storage = services.storage()
    storage.delete(master_key(row.target))  # the master, if one was made, goes with its original
    storage.delete(row.target)


def work_due(limit: int = 200, budget: float = PASS_SECONDS) -> int:
    """Performs due removals, oldest first, until none is due or the time budget is spent; returns how many went."""
    started = time.monotonic()
    ids = RETRIED.due_keys(limit=limit)
    done = 0
    for removal_id in ids:
        if time.monotonic() - started > budget:
            break
        done += perform(removal_id) in ("done", "called-off")
    return done


def overdue(older_than: timedelta) -> list[PendingRemoval]:
    """Removals still pending this long after the delete: what `aeontel doctor` reports."""
    return list(
        db.session.scalars(
            select(PendingRemoval)
            .where(PendingRemoval.created_at < utcnow() - older_than)
            .order_by(PendingRemoval.created_at)
        )
    )
