import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain import events
from app.domain.events import Event, dispatch, emit, handles, relay
from app.event_types import EventType
from app.extensions import db

# A real type that no handler of the product listens to, so a test's own handler is the only one that runs.
QUIET = EventType.FILE_RESTORED


def test_a_handler_or_an_event_of_an_unknown_type_fails_where_it_is_written(ctx):
    with pytest.raises(ValueError, match="unknown event type 'image.craeted'"):

        @handles("image.craeted")
        def misspelt(event):
            raise AssertionError("never registered")

    with pytest.raises(ValueError, match="unknown event type"):
        emit("image.craeted", workspace_id="ws_x", subject_id="sub_1")
    assert all(events.handlers_for(member) == events.handlers_for(member.value) for member in EventType)


@pytest.fixture
def recorded():
    """A handler that records what it saw, registered for a test-only event type."""
    seen = []

    @handles(QUIET)
    def record(event):
        seen.append(event.id)

    yield seen
    events._handlers[QUIET].remove(record)


def test_emit_commits_with_the_change_and_enqueues_after_commit(ctx, recorded, run_jobs):
    queue = ctx.extensions["queue"].queue("events")
    event = emit(QUIET, workspace_id="ws_x", subject_id="sub_1", payload={"n": 1})
    assert queue.count == 0  # nothing leaves before the transaction commits
    db.session.commit()
    assert queue.job_ids == [f"event-{event.id}"]
    run_jobs()
    assert recorded == [event.id]
    db.session.expire_all()
    assert db.session.get(Event, event.id).dispatched_at is not None


def test_rolled_back_events_are_never_enqueued(ctx, recorded):
    emit(QUIET, workspace_id="ws_x", subject_id="sub_1")
    db.session.rollback()
    db.session.commit()
    assert ctx.extensions["queue"].queue("events").count == 0
    assert db.session.scalars(select(Event)).all() == []


def test_dispatch_runs_handlers_once_however_often_it_is_called(ctx, recorded):
    event = emit(QUIET, workspace_id="ws_x", subject_id="sub_1")
    db.session.commit()
    assert dispatch(event.id) == "dispatched"
    assert dispatch(event.id) == "already-dispatched"
    assert dispatch("evt_missing") == "missing"
    assert recorded == [event.id]


def test_a_failing_handler_leaves_the_event_undispatched_and_counts_the_attempt(ctx):
    @handles(QUIET)
    def broken(event):
        raise RuntimeError("boom")

    try:
        event = emit(QUIET, workspace_id="ws_x", subject_id="sub_1")
        db.session.commit()
        with pytest.raises(RuntimeError):
            dispatch(event.id)
        stored = db.session.get(Event, event.id)
        db.session.refresh(stored)
        assert stored.dispatched_at is None and stored.attempts == 1
    finally:
        events._handlers[QUIET].remove(broken)


def test_upload_while_redis_is_down_is_relayed_when_it_returns(app, make_app, tenant, recorded, run_jobs):
    """The outbox row is the truth: a dead queue costs a delay, never an event."""
    from tests.services import free_port

    cut_off = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = cut_off.test_client()
    form = {"file": (io.BytesIO(b"made while redis was away"), "note.txt"), "project_id": tenant.project_id}
    response = client.post("/api/files", data=form, headers=tenant.auth(), content_type="multipart/form-data")
    assert response.status_code == 201
    with app.app_context():
        pending = db.session.scalars(select(Event).where(Event.dispatched_at.is_(None))).all()
        assert [e.type for e in pending] == [EventType.FILE_READY]
        assert app.extensions["queue"].queue("events").count == 0
        assert relay(older_than=timedelta(hours=1)) == 0  # too fresh: the normal path may still deliver it
        assert relay(older_than=timedelta(0)) == 1
        assert relay(older_than=timedelta(0)) == 0  # already queued: no second copy
    run_jobs()
    with app.app_context():
        assert db.session.scalars(select(Event).where(Event.dispatched_at.is_(None))).all() == []


def test_relay_gives_up_after_max_attempts_and_relays_what_is_under_it(ctx):
    """Both jobs are lost from Redis (flushed), so what the queue holds afterwards is the relay's own decision."""
    given_up = emit(QUIET, workspace_id="ws_x", subject_id="sub_1")
    given_up.attempts = 10
    still_trying = emit(QUIET, workspace_id="ws_x", subject_id="sub_2")
    still_trying.attempts = 9
    db.session.commit()
    queue = ctx.extensions["queue"]
    queue.connection.flushdb()
    assert queue.queue("events").count == 0
    assert relay(older_than=timedelta(0), max_attempts=10) == 1
    assert queue.queue("events").job_ids == [f"event-{still_trying.id}"]
