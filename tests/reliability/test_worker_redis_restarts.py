"""Issue 20: a worker exited when Redis went away while it finished a job (RQ's bookkeeping raised a connection
error and its loop quit). Real worker.py processes, a real redis-server restarted three times (empty each time)
while 60 uploads provision through the real stand-in: the same worker processes finish every job."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_support import distinct_jpeg, rows, scalar, standin_listing, tail, upload, wait_until, worker_process
from sqlalchemy import func, select

from app.domain.images import Image, Provisioning
from tests.services import ThreadedServer

# Its subject is not the database: the PostgreSQL pass does not run it again (scripts/test.sh).
pytestmark = pytest.mark.one_database

UPLOADS = 60
# Redis is restarted when this many images exist, and stays down while this many more uploads arrive: restarts of
# different lengths, each while jobs are being worked.
RESTARTS = ((8, 0), (22, 5), (36, 10))


def image_count(app, ids) -> int:
    return scalar(app, select(func.count()).select_from(Image).where(Image.file_id.in_(ids)))


def test_the_same_workers_finish_every_job_through_three_redis_restarts(
    app, base_settings, make_app, tenant, own_redis, live_server, images_service
):
    """`live_server` serves the signed storage URLs the stand-in fetches from (PUBLIC_URL)."""
    settings = dict(base_settings, redis_url=own_redis.url)
    web = ThreadedServer(make_app(redis_url=own_redis.url)).start()
    logs = [Path(base_settings["instance_dir"]) / f"restart-worker-{n}.log" for n in range(2)]
    for log in logs:
        log.unlink(missing_ok=True)
    workers = [worker_process(settings, log, name=f"restart-{n}").start() for n, log in enumerate(logs)]
    pids = [worker.pid for worker in workers]
    ids: list[str] = []

    def upload_some(count: int) -> None:
        answers = [upload(web.url, tenant, distinct_jpeg(len(ids) + n), f"{len(ids) + n}.jpg") for n in range(count)]
        assert [r.status_code for r in answers] == [201] * count, [r.text for r in answers if r.status_code != 201]
        ids.extend(r.json()["id"] for r in answers)

    try:
        upload_some(UPLOADS - sum(during for _, during in RESTARTS))
        for at, during in RESTARTS:
            wait_until(lambda at=at: image_count(app, ids) >= at, 120, f"{at} images", logs)
            own_redis.stop()  # mid-work: the workers are provisioning the rest
            upload_some(during)
            own_redis.start()  # same port, empty
        wait_until(lambda: image_count(app, ids) == UPLOADS, 180, f"{UPLOADS} images", logs)
        assert [worker.pid if worker.alive() else None for worker in workers] == pids, [tail(log) for log in logs]
    finally:
        for worker in workers:
            worker.stop()
        web.stop()
    restarted = sum(log.read_text(errors="replace").count("starts its loop again") for log in logs)
    print(f"the workers' loops started again {restarted} times after losing Redis")
    states = rows(
        app, select(Provisioning.state, func.count()).where(Provisioning.file_id.in_(ids)).group_by(Provisioning.state)
    )
    assert states == [("done", UPLOADS)]
    assert set(ids) <= {copy["id"] for copy in standin_listing(images_service)}
