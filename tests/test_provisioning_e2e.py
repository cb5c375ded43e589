"""Provisioning as it runs in production: worker processes killed mid-job, an images service that fails first."""

import io
import signal
import sys
from pathlib import Path

import pytest
from imagesd_support import ACCOUNT_HASH, ACCOUNT_ID, TOKEN, start_standin, stop_standin
from PIL import Image as PILImage
from sqlalchemy import func, select

from app import devstack
from app.adapters.queue import BurstWorker
from app.domain import images, services
from app.domain.files import File
from app.domain.images import Image, Provisioning
from app.extensions import db
from tests.factories import upload_over_http as upload
from tests.masters_support import lying_jpeg
from tests.services import child_env, deadline_for, wait_until

ROOT = Path(__file__).resolve().parent.parent


def distinct_jpeg(n: int) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (320 + n, 240), ((n * 37) % 255, (n * 91) % 255, 120)).save(out, "JPEG", quality=80)
    return out.getvalue()


def count_images(app) -> int:
    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(Image))
        finally:
            db.session.remove()


class WorkerProcess:
    """`python worker.py` in its own process group (the launcher's), so SIGKILL takes its work horse down too."""

    def __init__(self, settings: dict, log: Path):
        env = {key.upper(): str(value) for key, value in settings.items() if key.islower() and key != "instance_dir"}
        self.env = child_env(
            **env,
            AEONTEL_INSTANCE_DIR=settings["instance_dir"],
            RELAY_AFTER_SECONDS="0.5",
            RELAY_INTERVAL_SECONDS="0.3",
        )
        self.log = log
        self.process: devstack.Process | None = None

    def start(self):
        self.process = devstack.Process("worker", [sys.executable, "worker.py"], self.env, self.log)
        return self

    def kill(self):
        self.process.signal(signal.SIGKILL)
        self.process.popen.wait(10)

    def stop(self):
        if self.process:
            self.process.stop()


def test_sigkilled_workers_lose_nothing_and_duplicate_nothing(app, base_settings, tenant, live_server):
    worker = WorkerProcess(base_settings, Path(base_settings["instance_dir"]) / "kill-test-worker.log").start()
    try:
        ids = [upload(live_server, tenant, distinct_jpeg(n), f"{n}.jpg") for n in range(30)]
        kills = 0

        def all_images_after_five_kills() -> bool:
            nonlocal kills
            made = count_images(app)
            if kills < 5 and made >= 4 * (kills + 1):
                worker.kill()  # mid-stream: jobs are queued, running and half-done
                kills += 1
                worker.start()
            return made == len(ids)

        wait_until(all_images_after_five_kills, 90, "every upload to become an image while the worker is killed")
        assert kills == 5
        assert count_images(app) == len(ids), "every upload became an image after the kills"
    finally:
        worker.stop()
    with app.app_context():
        for file_id in ids:
            copies = services.images().list(creator=file_id)["images"]
            assert [c["id"] for c in copies] == [file_id], f"{file_id} has {len(copies)} copies"
            assert db.session.get(Provisioning, file_id).state == "done"
            assert db.session.get(File, file_id).status == "ready"


FLAKY_RETRY_AFTER = 1  # seconds the flaky stand-in's 429 asks for


@pytest.fixture
def flaky_images():
    """A second stand-in whose first calls answer 503, 503, then 429 with Retry-After: 1."""
    server = start_standin(IMAGESD_FAULTS="503:2,429:1", IMAGESD_FAULT_RETRY_AFTER=str(FLAKY_RETRY_AFTER))
    yield server
    stop_standin(server)


def test_transient_failures_retry_and_permanent_ones_fail_once(make_app, tenant, live_server, flaky_images, run_jobs):
    flaky = make_app(
        images_api_base=f"{flaky_images.url}/client/v4",
        images_max_attempts=5,
        images_delivery_base=flaky_images.url,
    )
    # Two backoffs (after the 503s) and one Retry-After of the flaky stand-in (the 429), plus the work.
    deadline = deadline_for(flaky.config, failures=2, retry_after=FLAKY_RETRY_AFTER)
    assert (
        flaky.config["IMAGES_ACCOUNT_ID"],
        flaky.config["IMAGES_ACCOUNT_HASH"],
        flaky.config["IMAGES_API_TOKEN"],
    ) == (ACCOUNT_ID, ACCOUNT_HASH, TOKEN)
    photo = upload(live_server, tenant, distinct_jpeg(1), "photo.jpg")

    seen_states = []
    with flaky.app_context():
        connection = flaky.extensions["queue"].connection

        def done() -> bool:
            BurstWorker(["events", "images", "default"], connection=connection).work(burst=True)
            db.session.expire_all()
            row = db.session.get(Provisioning, photo)
            seen_states.append((row.state, row.attempts) if row else None)
            if row is not None and row.state == "done":
                return True
            images.reconcile()  # re-enqueues the retry once its Retry-After or backoff is due
            return False

        try:
            wait_until(done, deadline, "the photo to be provisioned after the injected failures", interval=0.2)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}: {seen_states[-5:]}") from None
        row = db.session.get(Provisioning, photo)
        assert row.state == "done" and db.session.get(Image, photo) is not None
        # Three calls failed (two 503s, then a 429 with Retry-After) before the fourth succeeded.
        assert row.attempts == 4, seen_states
        assert ("waiting", 1) in seen_states and ("waiting", 3) in seen_states
        assert services.images().list(creator=photo)["images"][0]["id"] == photo

        damaged_id = upload(live_server, tenant, lying_jpeg(), "damaged.jpg")
        BurstWorker(["events", "images", "default"], connection=connection).work(burst=True)
        db.session.expire_all()
        failed = db.session.get(File, damaged_id)
        assert failed.status == "error" and "damaged" in failed.error_message
        assert db.session.get(Provisioning, damaged_id).attempts == 1  # permanent: no retry
