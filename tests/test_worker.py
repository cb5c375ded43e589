"""The worker as it runs in production: its own process, a real Redis, HTTP uploads from another server."""

import sys
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from app import devstack
from app.domain.events import Event
from app.extensions import db
from tests.services import RedisProcess, ThreadedServer, child_env


def start_worker(settings: dict, log: Path) -> devstack.Process:
    """`worker.py` as the launcher starts it, ready once it has registered with Redis."""
    env = child_env(
        **{key.upper(): value for key, value in settings.items() if key.islower() and key != "instance_dir"},
        AEONTEL_INSTANCE_DIR=settings["instance_dir"],
        RELAY_AFTER_SECONDS="0.5",
        RELAY_INTERVAL_SECONDS="0.3",
    )
    return devstack.start_worker(env, f"worker-test-{uuid.uuid4().hex[:8]}", log=log)


def wait_until(predicate, timeout: float, what: str, worker: devstack.Process):
    try:
        devstack.wait_until(predicate, timeout, what, interval=0.1)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; the worker's log ends:\n{worker.tail(3000)}") from None


def undispatched(app) -> list[str]:
    with app.app_context():
        try:
            return list(db.session.scalars(select(Event.type).where(Event.dispatched_at.is_(None))))
        finally:
            db.session.remove()


def upload(url: str, tenant, n: int) -> str:
    response = requests.post(
        f"{url}/api/files",
        headers=tenant.auth(),
        timeout=10,
        data={"project_id": tenant.project_id},
        files={"file": (f"{n}.txt", f"note {n}".encode())},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def own_redis():
    server = RedisProcess().start()
    yield server
    server.stop()


def test_worker_process_dispatches_and_survives_a_redis_outage(app, base_settings, make_app, tenant, own_redis):
    settings = dict(base_settings, redis_url=own_redis.url)
    web = ThreadedServer(make_app(redis_url=own_redis.url)).start()
    log = Path(base_settings["instance_dir"]) / "worker.log"
    log.unlink(missing_ok=True)
    worker = start_worker(settings, log)
    try:
        upload(web.url, tenant, 0)
        wait_until(lambda: undispatched(app) == [], 60, "the first event to be dispatched", worker)

        own_redis.stop()
        ids = [upload(web.url, tenant, n) for n in range(1, 11)]  # all answered while the queue is gone
        assert len(set(ids)) == 10
        assert undispatched(app) == ["file.ready"] * 10
        assert worker.poll() is None  # the worker waits for Redis instead of dying

        own_redis.start()  # same port, empty: every job it held is gone
        wait_until(
            lambda: undispatched(app) == [], 60, "the relay to deliver the events made during the outage", worker
        )
        assert worker.poll() is None
    finally:
        worker.stop()
        web.stop()


def test_a_burst_worker_ends_by_itself_within_the_launchers_grace(app, base_settings):
    """`worker.py --burst` on empty queues: RQ's pub/sub thread polled every 60 s and RQ's teardown waited for that
    poll, so the burst's end (as a stop) took a minute, past the time the launcher gives a process to end."""
    log = Path(base_settings["instance_dir"]) / "burst-worker.log"
    env = child_env(
        **{key.upper(): value for key, value in base_settings.items() if key.islower() and key != "instance_dir"},
        AEONTEL_INSTANCE_DIR=base_settings["instance_dir"],
    )
    worker = devstack.Process("worker --burst", [sys.executable, "worker.py", "--burst"], env, log)
    try:
        wait_until(lambda: "unsubscribing" in log.read_text(), 60, "the burst to find the queues empty", worker)
        wait_until(lambda: worker.poll() is not None, devstack.STOP_GRACE_SECONDS, "the worker to end", worker)
        assert worker.poll() == 0, worker.tail(3000)
    finally:
        worker.stop()
