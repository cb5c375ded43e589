"""A hung Redis (accepts, never answers) costs an upload about a second, once; the outbox relays the event later."""

from __future__ import annotations

import io
import socket
import threading
import time

from reliability_support import distinct_jpeg
from sqlalchemy import select

UPLOAD_BOUND = 3.0  # seconds: REDIS_TIMEOUT (1 s) for the enqueue plus the rate limiter's 0.5 s, with room for load


class HungRedis:
    """A loopback TCP server that accepts every connection and never says a word, like a stopped Redis process."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.held: list[socket.socket] = []
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.listener.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:
                continue

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"

    def close(self):
        self.stopped.set()
        for sock in self.held:
            sock.close()
        self.listener.close()


def test_uploads_carry_on_through_the_outbox_while_redis_hangs(make_app, tenant, app):
    from app.domain.events import Event, relay
    from app.extensions import db

    hung = HungRedis()
    try:
        web = make_app(redis_url=hung.url)
        client = web.test_client()
        took = []
        for n in range(3):
            started = time.monotonic()
            answer = client.post(
                "/api/files",
                headers=tenant.auth(),
                data={"project_id": tenant.project_id, "file": (io.BytesIO(distinct_jpeg(n)), f"hung-{n}.jpg")},
            )
            took.append(time.monotonic() - started)
            assert answer.status_code == 201, answer.get_data(as_text=True)
        print(f"uploads with a hung Redis took {', '.join(f'{t:.2f}' for t in took)} s")
        assert max(took) < UPLOAD_BOUND, took
        assert len(hung.held) >= 1  # they did reach the hung server, and gave up on it
    finally:
        hung.close()

    # The real Redis (the session's) back in the picture: the relay enqueues the three file.ready events.
    with app.app_context():
        pending = db.session.scalars(
            select(Event.id).where(Event.type == "file.ready", Event.dispatched_at.is_(None))
        ).all()
        assert len(pending) == 3
        from datetime import timedelta

        assert relay(older_than=timedelta(0)) == 3
        queued = app.extensions["queue"].queue("events").job_ids
        assert {f"event-{event_id}" for event_id in pending} <= set(queued)
