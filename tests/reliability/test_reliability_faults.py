"""Faults at the issue's scale: Redis away during 50 uploads, 5 SIGKILLs during 100 jobs, an images service that
answers 503 and 429 first. Real worker processes, the stand-in over HTTP, nothing mocked."""

from __future__ import annotations

import re
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

from reliability_support import distinct_jpeg, rows, scalar, standin_listing, upload, wait_until, worker_process
from sqlalchemy import func, select

from app.domain.events import Event
from app.domain.files import File
from app.domain.images import Image, Provisioning
from app.extensions import db
from tests.services import ThreadedServer


def image_count(app) -> int:
    return scalar(app, select(func.count()).select_from(Image))


def test_redis_stopped_during_50_uploads_loses_nothing(
    app, base_settings, make_app, tenant, own_redis, live_server, images_service
):
    """Redis goes away, 50 image uploads arrive (all answered 201), Redis comes back empty: 50 images."""
    settings = dict(base_settings, redis_url=own_redis.url)
    web = ThreadedServer(make_app(redis_url=own_redis.url)).start()
    log = Path(base_settings["instance_dir"]) / "redis-outage-worker.log"
    worker = worker_process(settings, log).start()
    try:
        first = upload(web.url, tenant, distinct_jpeg(0), "before.jpg")
        assert first.status_code == 201, first.text
        wait_until(lambda: image_count(app) == 1, 60, "the first image, before the outage", (log,))

        own_redis.stop()
        answers = [upload(web.url, tenant, distinct_jpeg(n), f"{n}.jpg") for n in range(1, 51)]
        assert [r.status_code for r in answers] == [201] * 50, [r.text for r in answers if r.status_code != 201]
        ids = [r.json()["id"] for r in answers]
        assert len(set(ids)) == 50
        undispatched = scalar(app, select(func.count()).select_from(Event).where(Event.dispatched_at.is_(None)))
        assert undispatched == 50  # every file.ready is in the outbox, none reached a queue
        assert worker.alive(), "the worker waits for Redis instead of dying"

        own_redis.start()  # same port, empty: whatever it held is gone
        wait_until(lambda: image_count(app) == 51, 120, "50 images made after Redis came back", (log,))
        assert worker.alive()
    finally:
        worker.stop()
        web.stop()
    done = rows(app, select(Provisioning.file_id, Provisioning.state).where(Provisioning.file_id.in_(ids)))
    assert sorted(done) == sorted((file_id, "done") for file_id in ids)
    listed = {copy["id"] for copy in standin_listing(images_service)}
    assert set(ids) <= listed, "every image has its copy in the images service"
    statuses = rows(app, select(File.status, func.count()).group_by(File.status))
    assert statuses == [("ready", 51)]


def test_five_sigkills_during_100_jobs_leave_100_images_100_copies(
    app, base_settings, tenant, live_server, fresh_standin
):
    """The worker (and its work horse) is SIGKILLed five times while 100 files provision: no loss, no duplicate,
    no orphan, judged against the stand-in's full listing."""
    standin = fresh_standin()
    settings = dict(base_settings, images_api_base=f"{standin.url}/client/v4", images_delivery_base=standin.url)
    log = Path(base_settings["instance_dir"]) / "sigkill-worker.log"
    answers = [upload(live_server.url, tenant, distinct_jpeg(n), f"{n}.jpg") for n in range(100)]
    assert [r.status_code for r in answers] == [201] * 100
    ids = {r.json()["id"] for r in answers}
    worker = worker_process(settings, log).start()
    kills, kill_at = 0, [8, 24, 40, 56, 72]
    try:

        def a_hundred_images_between_kills() -> bool:
            nonlocal kills
            made = image_count(app)
            if kills < len(kill_at) and made >= kill_at[kills]:
                worker.kill()  # SIGKILL to the process group, mid-job (and its work horse, if run with --fork)
                kills += 1
                worker.start()
            return made == 100

        wait_until(
            a_hundred_images_between_kills,
            150,
            "100 images while the worker is killed five times",
            (log,),
            interval=0.05,
        )
        assert kills == 5
    finally:
        worker.stop()

    images = dict(rows(app, select(Image.file_id, Image.cf_image_id)))
    assert set(images) == ids
    listing = standin_listing(standin)
    copy_ids = [copy["id"] for copy in listing]
    assert len(copy_ids) == 100, f"{len(copy_ids)} copies for 100 images"
    assert len(set(copy_ids)) == 100, "no duplicates"
    assert set(copy_ids) == set(images.values()), "no orphans and no image without its copy"
    assert sorted(copy["creator"] for copy in listing) == sorted(ids), "one copy per file"
    states = rows(app, select(Provisioning.state, func.count()).group_by(Provisioning.state))
    assert states == [("done", 100)]
    assert rows(app, select(File.status, func.count()).group_by(File.status)) == [("ready", 100)]


def rejected_bytes() -> bytes:
    """A PNG whose header promises 10,000 × 10,000 px and whose data holds 10 rows: the worker sends it as it is
    (within every limit, too large for a placeholder decode) and the images service refuses it (a permanent 4xx)."""
    from hostile_corpus import png_claiming

    return png_claiming(10_000, 10_000, mode=(8, 6), rows=10)


def test_503_and_429_first_then_everything_provisions_and_a_permanent_4xx_fails_once(
    app, base_settings, make_app, tenant, live_server, fresh_standin
):
    """The stand-in answers its first 10 API calls 503 (6) and 429 (4), each with Retry-After: 2."""
    standin = fresh_standin(IMAGESD_FAULTS="503:6,429:4", IMAGESD_FAULT_RETRY_AFTER="2")
    settings = dict(
        base_settings,
        images_api_base=f"{standin.url}/client/v4",
        images_delivery_base=standin.url,
        images_max_attempts=8,
    )
    log = Path(base_settings["instance_dir"]) / "flaky-images-worker.log"
    log.unlink(missing_ok=True)
    answers = [upload(live_server.url, tenant, distinct_jpeg(n), f"{n}.jpg") for n in range(20)]
    ids = [r.json()["id"] for r in answers]
    worker = worker_process(settings, log).start()
    try:
        wait_until(lambda: image_count(app) == 20, 120, "20 images after the injected failures", (log,))
        tiff = upload(live_server.url, tenant, rejected_bytes(), "cut.png")
        assert tiff.status_code == 201
        tiff_id = tiff.json()["id"]
        wait_until(
            lambda: scalar(app, select(File.status).where(File.id == tiff_id)) == "error",
            30,
            "the damaged PNG to fail",
            (log,),
        )
    finally:
        worker.stop()
    # What the worker would do next, done here and now instead of waiting for it: a maintenance pass (relay and
    # reconcile) and every queue worked until empty. A wrong retry of the damaged PNG would happen in it.
    flaky = make_app(
        images_api_base=settings["images_api_base"], images_delivery_base=standin.url, images_max_attempts=8
    )
    with flaky.app_context():
        from app.adapters.queue import QUEUE_NAMES, BurstWorker
        from app.domain.events import relay
        from app.domain.images import reconcile

        relay(older_than=timedelta(0))
        reconcile()
        BurstWorker(list(QUEUE_NAMES), connection=flaky.extensions["queue"].connection).work(burst=True)
        db.session.remove()

    with sqlite3.connect(standin.data_dir / "imagesd.sqlite3") as conn:
        assert conn.execute("SELECT SUM(remaining) FROM faults").fetchone()[0] == 0, "all 10 faults were served"
    attempts = dict(rows(app, select(Provisioning.file_id, Provisioning.attempts).where(Provisioning.file_id.in_(ids))))
    assert sum(attempts.values()) - len(ids) == 10, f"each injected failure cost exactly one retry: {attempts}"
    # Every injected answer carried Retry-After: 2, and the retry waited for it.
    waits = re.findall(r"failed for now \((.*?)\); retry \d+ in ([0-9.]+)s", log.read_text())
    assert len(waits) == 10 and all(float(seconds) == 2.0 for _, seconds in waits), waits
    assert sum("429" in reason or "Too many" in reason for reason, _ in waits) == 4
    assert {copy["id"] for copy in standin_listing(standin)} == set(ids)

    with app.app_context():
        failed = db.session.get(File, tiff_id)
        assert failed.status == "error" and failed.error_code == "image_rejected"
        assert "PNG image is damaged" in failed.error_message and failed.error_message.count("\n") == 0
        row = db.session.get(Provisioning, tiff_id)
        assert (row.state, row.attempts) == ("failed", 1), "a permanent 4xx is not retried"
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.type == "image.provision_failed", Event.subject_id == tiff_id)
            )
            == 1
        )
        db.session.remove()


class Tarpit:
    """A loopback 'images service' that accepts connections and never answers: a job calling it hangs."""

    def __init__(self):
        import socket

        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.held = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.held.append(connection)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}"

    def close(self):
        self.server.close()
        for connection in self.held:
            connection.close()


def test_a_file_whose_job_dies_every_time_is_given_up_with_a_reason(app, base_settings, tenant, live_server):
    """The worker is SIGKILLed every time it holds one file (as an out-of-memory kill or a decoder crash would):
    after IMAGES_MAX_ATTEMPTS + 5 claims the file fails with a reason instead of being retried for ever."""
    from app.domain.images import CRASH_ALLOWANCE

    tarpit = Tarpit()
    settings = dict(
        base_settings, images_api_base=f"{tarpit.url}/client/v4", images_max_attempts=1, provision_lease_seconds=1
    )
    log = Path(base_settings["instance_dir"]) / "poison-worker.log"
    file_id = upload(live_server.url, tenant, distinct_jpeg(3), "poison.jpg").json()["id"]
    attempts = lambda: scalar(app, select(Provisioning.attempts).where(Provisioning.file_id == file_id)) or 0  # noqa: E731
    worker = worker_process(settings, log).start()
    kills = 0
    try:
        while kills < 1 + CRASH_ALLOWANCE:
            wait_until(
                lambda: attempts() > kills,  # noqa: B023 - waited on in this iteration
                30,
                f"claim {kills + 1} of the poison file",
                (log,),
                interval=0.05,
            )
            worker.kill()
            kills += 1
            worker.start()
        wait_until(
            lambda: scalar(app, select(File.status).where(File.id == file_id)) == "error",
            30,
            "the poison file to be given up",
            (log,),
        )
    finally:
        worker.stop()
        tarpit.close()
    with app.app_context():
        file = db.session.get(File, file_id)
        assert file.error_code == "processing_failed" and "given up" in file.error_message
        row = db.session.get(Provisioning, file_id)
        assert (row.state, row.attempts) == ("failed", 2 + CRASH_ALLOWANCE)
        db.session.remove()
