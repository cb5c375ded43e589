"""Pending removals: an Images copy or stored bytes that must go, recorded as a row in the deleting transaction and
retried from the database until done, so neither an outage of any length nor the loss of Redis keeps them alive."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import JSON, Index, Integer, String, Text, delete, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from app.adapters.storage import master_key
from app.domain import backoff
from app.domain.common import UTCDateTime, new_id, utcnow
from app.extensions import db

log = logging.getLogger(__name__)

IMAGES_COPY = "images_copy"
STORED_OBJECT = "stored_object"
KINDS = (IMAGES_COPY, STORED_OBJECT)
REMOVAL_JOB = "app.jobs.removals.perform_removal"
# One attempt holds its row this long; a worker that dies mid-way leaves it to the next pass after that.
LEASE = timedelta(seconds=120)
# A maintenance pass stops starting removals after this long, so a hanging service cannot starve the relay.
PASS_SECONDS = 10.0


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


def enqueue_for(subject_id: str, kind: str) -> None:
    """The fast path: a job per removal right after the delete; the maintenance pass backs it whatever happens."""
    queue = current_app.extensions["queue"]
    ids = db.session.scalars(
        select(PendingRemoval.id).where(PendingRemoval.subject_id == subject_id, PendingRemoval.kind == kind)
    ).all()
    for removal_id in ids:
        queue.try_enqueue("default", REMOVAL_JOB, removal_id, job_id=f"removal-{removal_id}", timeout=300)


def _claim(removal_id: str) -> bool:
    now = utcnow()
    claimed = db.session.execute(
        update(PendingRemoval)
        .where(
            PendingRemoval.id == removal_id,
            PendingRemoval.next_attempt_at <= now,
            or_(PendingRemoval.lease_until.is_(None), PendingRemoval.lease_until < now),
        )
        .values(lease_until=now + LEASE, attempts=PendingRemoval.attempts + 1)
    ).rowcount
    db.session.commit()
    return bool(claimed)


def perform(removal_id: str) -> str:
    """Claims one due removal (only one claimer wins) and carries it out; a failure waits with backoff, for ever."""
    if not _claim(removal_id):
        return "not-due" if db.session.get(PendingRemoval, removal_id) else "gone"
    row = db.session.get(PendingRemoval, removal_id)
    if row is None:
        return "gone"  # cancelled between the claim and now (a retry of the file takes its copy's removal back)
    try:
        _carry_out(row)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the row stays and is tried again later
        db.session.rollback()
        row = db.session.get(PendingRemoval, removal_id)
        if row is None:
            return "gone"
        retry_after = getattr(exc, "retry_after", None)
        row.next_attempt_at = backoff.next_attempt(row.attempts, retry_after)
        row.lease_until, row.last_error = None, (getattr(exc, "message", None) or str(exc) or type(exc).__name__)[:2000]
        db.session.commit()
        log.info(
            "removal %s (%s %s) failed for now: %s; next attempt at %s",
            row.id,
            row.kind,
            row.target,
            row.last_error,
            row.next_attempt_at.isoformat(),
        )
        if row.kind == IMAGES_COPY and row.payload.get("trashed"):
            from app.domain.images import provision_now

            provision_now(row.subject_id)  # a restore waiting for this attempt need not wait for its lease
        return "retry"
    restored_meanwhile = row.subject_id if row.kind == IMAGES_COPY and row.payload.get("trashed") else None
    db.session.execute(delete(PendingRemoval).where(PendingRemoval.id == removal_id))
    # The service answered: removals of the same kind that were waiting out an outage need not wait any longer.
    db.session.execute(
        update(PendingRemoval)
        .where(
            PendingRemoval.kind == row.kind,
            PendingRemoval.next_attempt_at > utcnow(),
            PendingRemoval.lease_until.is_(None),
            PendingRemoval.attempts > 0,
        )
        .values(next_attempt_at=utcnow())
    )
    db.session.commit()
    if restored_meanwhile:
        from app.domain.images import provision_now

        provision_now(restored_meanwhile)  # restored while this ran: its provisioning waited for this removal
    return "done"


def _carry_out(row: PendingRemoval) -> None:
    if row.kind == STORED_OBJECT:
        storage = current_app.extensions["storage"]
        storage.delete(master_key(row.target))  # the master, if one was made, goes with its original
        storage.delete(row.target)
    else:
        from app.domain.files import File
        from app.domain.images import delete_copies

        if row.payload.get("trashed"):
            file = db.session.get(File, row.subject_id)
            if file is not None and file.deleted_at is None:
                return  # restored from the trash since: its copy is its own again (app.domain.trash.restore)

        delete_copies(row.target, list(row.payload.get("cfImageIds") or []), only=bool(row.payload.get("only")))


def work_due(limit: int = 200, budget: float = PASS_SECONDS) -> int:
    """Performs due removals, oldest first, until none is due or the time budget is spent; returns how many went."""
    started = time.monotonic()
    ids = db.session.scalars(
        select(PendingRemoval.id)
        .where(
            PendingRemoval.next_attempt_at <= utcnow(),
            or_(PendingRemoval.lease_until.is_(None), PendingRemoval.lease_until < utcnow()),
        )
        .order_by(PendingRemoval.next_attempt_at)
        .limit(limit)
    ).all()
    db.session.rollback()
    done = 0
    for removal_id in ids:
        if time.monotonic() - started > budget:
            break
        done += perform(removal_id) == "done"
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
