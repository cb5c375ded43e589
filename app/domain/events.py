"""The outbox: events are rows written with the change they report, then dispatched through RQ."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import JSON, Index, Integer, String, insert, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.domain import durable, services
from app.domain.common import UTCDateTime, new_id, utcnow
from app.domain.job_names import Job
from app.event_types import EventType, event_type
from app.extensions import db

log = logging.getLogger(__name__)

DISPATCH_JOB = Job.DISPATCH_EVENT
Handler = Callable[["Event"], None]
_handlers: dict[str, list[Handler]] = {}


class Event(db.Model):
    __tablename__ = "event"
    __table_args__ = (Index("ix_event_undispatched", "dispatched_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("evt"))
    type: Mapped[str] = mapped_column(String(64), index=True)
    workspace_id: Mapped[str] = mapped_column(String(32), index=True)
    subject_id: Mapped[str] = mapped_column(String(32), index=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


# The outbox is retried by the relay rather than by a lease: an undispatched row is due once it is old enough.
OUTBOX = durable.Retried(key=Event.id)


def handles(type_: EventType | str) -> Callable[[Handler], Handler]:
    """Registers a handler; handlers run inside the dispatch transaction and must be idempotent. An unknown event
    type fails here, when the module is imported, rather than leaving a handler that never runs."""
    known = event_type(type_)

    def register(func: Handler) -> Handler:
        _handlers.setdefault(known, []).append(func)
        return func

    return register


def handles_each(types) -> Callable[[Handler], Handler]:
    """Registers one handler for several event types."""

    def register(func: Handler) -> Handler:
        for type_ in types:
            handles(type_)(func)
        return func

    return register


def handlers_for(event_type: str) -> list[Handler]:
    return list(_handlers.get(event_type, ()))


def emit(type_: EventType, *, workspace_id: str, subject_id: str, payload: dict | None = None) -> Event:
    """Adds the event to the current transaction; it is enqueued only if that transaction commits."""
    event = Event(
        id=new_id("evt"),
        type=event_type(type_).value,
        workspace_id=workspace_id,
        subject_id=subject_id,
        payload=payload or {},
        created_at=utcnow(),
        attempts=0,
    )
    db.session.add(event)
    db.session.info.setdefault("outbox", []).append(event.id)
    return event


def emit_all(type_: EventType, events: list[tuple[str, str, dict | None]]) -> list[str]:
    """`emit` of one type for many subjects, as (workspace id, subject id, payload): the same rows and outbox
    entries, written now by one executemany instead of one ORM object each at the flush (a bulk trash emits
    20,000)."""
    now = utcnow()
    rows = [
        {
            "id": new_id("evt"),
            "type": event_type(type_).value,
            "workspace_id": workspace_id,
            "subject_id": subject_id,
            "payload": payload or {},
            "created_at": now,
            "dispatched_at": None,
            "attempts": 0,
        }
        for workspace_id, subject_id, payload in events
    ]
    if rows:
        db.session.execute(insert(Event.__table__), rows)  # one executemany, no ORM object per event
        db.session.info.setdefault("outbox", []).extend(row["id"] for row in rows)
    return [row["id"] for row in rows]


def dispatch_job_id(event_id: str) -> str:
    return f"event-{event_id}"


def enqueue_dispatch(event_id: str) -> bool:
    queue = services.queue()
    return (
        queue.try_enqueue("events", DISPATCH_JOB, event_id, job_id=dispatch_job_id(event_id), timeout=120) is not None
    )


@sa_event.listens_for(Session, "after_commit")
def _enqueue_committed(session: Session) -> None:
    event_ids = session.info.pop("outbox", None)
    if not event_ids:
        return
    inline = session.info.get("dispatch_inline")
    if inline is not None:
        inline.extend(event_ids)  # a job emitted them: it dispatches them itself when it is done
        return
    if len(event_ids) > 1:  # a bulk action: one pipeline instead of a round trip per event
        calls = [((event_id,), dispatch_job_id(event_id)) for event_id in event_ids]
        services.queue().try_enqueue_many("events", DISPATCH_JOB, calls, timeout=120)
        return
    for event_id in event_ids:
        enqueue_dispatch(event_id)


def dispatch_inline(event_ids: list[str]) -> None:
    """Dispatches, in this job, the events it committed (and those their handlers commit), saving a queue hop each.

    Whatever fails here is handed to the queue instead, and the relay still backs both paths.
    """
    while event_ids:
        event_id = event_ids.pop(0)
        try:
            dispatch(event_id)
        except Exception:  # noqa: BLE001 - the normal, retried path takes over
            log.warning("inline dispatch of %s failed; enqueued instead", event_id, exc_info=True)
            enqueue_dispatch(event_id)


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction) -> None:
    if not session.in_transaction():
        session.info.pop("outbox", None)


def dispatch(event_id: str) -> str:
    """Runs the handlers of one event exactly once; returns what happened, for logs and tests."""
    # The claim is the dispatch itself: dispatched_at is set in the transaction the handlers' effects commit in.
    claimed = OUTBOX.claim(event_id, Event.dispatched_at.is_(None), values={"dispatched_at": utcnow()}, commit=False)
    if not claimed:
        db.session.rollback()
        return "already-dispatched" if db.session.get(Event, event_id) else "missing"
    event = db.session.get(Event, event_id)
    try:
        for handler in handlers_for(event.type):
            handler(event)
        db.session.commit()
        return "dispatched"
    except Exception:
        db.session.rollback()
        db.session.execute(update(Event).where(Event.id == event_id).values(attempts=Event.attempts + 1))
        db.session.commit()
        raise


def relay(older_than: timedelta | None = None, max_attempts: int | None = None, limit: int = 500) -> int:
    """Enqueues events that were committed but never dispatched (Redis was down, or a job was lost)."""
    config = current_app.config
    older_than = older_than if older_than is not None else timedelta(seconds=config["RELAY_AFTER_SECONDS"])
    max_attempts = max_attempts if max_attempts is not None else config["EVENT_MAX_ATTEMPTS"]
    queue = services.queue()
    cutoff = utcnow() - older_than
    ids = OUTBOX.due_keys(
        Event.dispatched_at.is_(None),
        Event.created_at <= cutoff,
        Event.attempts < max_attempts,
        order_by=Event.created_at,
        limit=limit,
    )
    if not ids:
        return 0
    live = queue.live_job_ids([dispatch_job_id(event_id) for event_id in ids])
    relayed = 0
    for event_id in ids:
        if dispatch_job_id(event_id) in live:
            continue
        if enqueue_dispatch(event_id):
            relayed += 1
    if relayed:
        log.info("relayed %d undispatched events", relayed)
    return relayed
