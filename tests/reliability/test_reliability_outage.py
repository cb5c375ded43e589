"""Issue 14: an outage of the images service loses nothing, a deleted image stops being served, and a failed file
can be retried from the API and the CLI. Real worker processes, a real stand-in stopped and started again on the
same port with the same data, a real Redis flushed by a restart; nothing mocked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from outage_support import PausableStandin
from reliability_support import (
    distinct_jpeg,
    rows,
    scalar,
    standin_listing,
    tail,
    tree,
    upload,
    wait_until,
    worker_process,
)
from sqlalchemy import func, select

from app.domain.files import File
from app.domain.images import Image, Provisioning
from app.domain.removals import IMAGES_COPY, PendingRemoval
from app.extensions import db
from tests.services import ThreadedServer

AEONTEL = Path(sys.executable).with_name("aeontel")
# Small backoff so the test runs in seconds; the defaults (1 s, 30 s) are what RELIABILITY.md measures.
FAST_RETRY = {"retry_base_seconds": 0.3, "retry_cap_seconds": 2.0}
# The old budget: IMAGES_MAX_ATTEMPTS=5 attempts, after which the file was failed for good.
OLD_BUDGET = 5


def image_count(app, ids) -> int:
    return scalar(app, select(func.count()).select_from(Image).where(Image.file_id.in_(ids)))


@pytest.fixture
def standin():
    server = PausableStandin().start()
    yield server
    log = server.log.read_text(errors="replace")
    server.close()
    assert "Traceback" not in log, f"the images stand-in logged a failure:\n{log[-4000:]}"


def worker_settings(base_settings, standin, **extra) -> dict:
    return dict(
        base_settings,
        images_api_base=f"{standin.url}/client/v4",
        images_delivery_base=standin.url,
        **FAST_RETRY,
        **extra,
    )


def test_an_outage_longer_than_the_old_retry_budget_loses_no_upload(app, base_settings, tenant, live_server, standin):
    """The service is down while 20 uploads arrive and stays down until every one of them has been turned away
    more often than the old budget allowed: none fails, each shows `waiting`; back up, all 20 become images with
    exactly one copy each, with no click."""
    log = Path(base_settings["instance_dir"]) / "outage-worker.log"
    log.unlink(missing_ok=True)
    worker = worker_process(worker_settings(base_settings, standin), log).start()
    try:
        standin.stop()
        answers = [upload(live_server.url, tenant, distinct_jpeg(n), f"{n}.jpg") for n in range(20)]
        assert [r.status_code for r in answers] == [201] * 20
        ids = [r.json()["id"] for r in answers]

        turned_away = lambda: (  # noqa: E731
            scalar(
                app,
                select(func.min(Provisioning.transient_failures)).where(Provisioning.file_id.in_(ids)),  # noqa: E731
            )
            or 0
        )
        wait_until(
            lambda: (
                turned_away() > OLD_BUDGET
                and scalar(app, select(func.count()).select_from(Provisioning).where(Provisioning.file_id.in_(ids)))
                == 20
            ),
            120,
            f"every upload turned away more than {OLD_BUDGET} times",
            (log,),
        )
        statuses = rows(app, select(File.status, func.count()).where(File.id.in_(ids)).group_by(File.status))
        assert statuses == [("ready", 20)], "an outage fails nothing"
        shown = requests.get(f"{live_server.url}/api/files/{ids[0]}", headers=tenant.auth("read"), timeout=10).json()
        assert shown["status"] == "ready" and shown["error"] is None
        assert shown["image"]["status"] == "waiting", shown
        assert shown["image"]["error"]["code"] == "images_unavailable" and shown["image"]["nextAttemptAt"]
        assert image_count(app, ids) == 0

        standin.start()  # same port, same images: the service is back
        wait_until(lambda: image_count(app, ids) == 20, 60, "20 images after the service came back", (log,))
    finally:
        worker.stop()
    states = rows(
        app, select(Provisioning.state, func.count()).where(Provisioning.file_id.in_(ids)).group_by(Provisioning.state)
    )
    assert states == [("done", 20)]
    listing = standin_listing(standin)
    assert sorted(copy["id"] for copy in listing) == sorted(ids), "exactly one copy per upload, no orphan"
    shown = requests.get(f"{live_server.url}/api/files/{ids[0]}", headers=tenant.auth("read"), timeout=10).json()
    assert shown["image"] == {
        "status": "ready",
        "error": None,
        "nextAttemptAt": None,
        "attempts": shown["image"]["attempts"],
    }


def test_deleted_images_stop_being_served_after_an_outage_and_an_empty_redis(
    app, base_settings, make_app, tenant, own_redis, standin
):
    """Five images are deleted (200) while the service is down, Redis restarts empty, the service comes back:
    the five delivery URLs answer 404 and the listing holds none of them; doctor finds nothing left."""
    settings = worker_settings(base_settings, standin, redis_url=own_redis.url)
    web_app = make_app(
        redis_url=own_redis.url, images_api_base=settings["images_api_base"], images_delivery_base=standin.url
    )
    web = ThreadedServer(web_app).start()
    log = Path(base_settings["instance_dir"]) / "delete-outage-worker.log"
    log.unlink(missing_ok=True)
    worker = worker_process(settings, log).start()
    try:
        ids = [upload(web.url, tenant, distinct_jpeg(n), f"{n}.jpg").json()["id"] for n in range(6)]
        wait_until(lambda: image_count(app, ids) == 6, 60, "6 images", (log,))
        doomed, kept = ids[:5], ids[5]
        urls = [standin.delivery(file_id, "public") for file_id in ids]
        assert [requests.get(url, timeout=10).status_code for url in urls] == [200] * 6

        standin.stop()
        answers = [
            requests.delete(f"{web.url}/api/images/{file_id}", headers=tenant.auth(), timeout=10) for file_id in doomed
        ]
        assert [r.status_code for r in answers] == [200] * 5
        pending = lambda: rows(  # noqa: E731
            app,
            select(PendingRemoval.subject_id, PendingRemoval.attempts).where(PendingRemoval.kind == IMAGES_COPY),
        )
        wait_until(
            lambda: len(pending()) == 5 and all(attempts >= 2 for _, attempts in pending()),
            60,
            "every removal tried and refused while the service is down",
            (log,),
        )
        assert sorted(subject for subject, _ in pending()) == sorted(doomed)

        own_redis.stop()
        own_redis.start()  # same port, empty: any job or retry state Redis held is gone
        standin.start()
        wait_until(
            lambda: [requests.get(url, timeout=10).status_code for url in urls] == [404] * 5 + [200],
            60,
            "the five deleted images to stop being delivered",
            (log,),
        )
        assert worker.alive()
        assert tree(worker.pid) == [worker.pid], "no RQ scheduler child: no retry waits on one"
    finally:
        worker.stop()
        web.stop()
    assert {copy["id"] for copy in standin_listing(standin)} == {kept}
    assert pending() == []
    with web_app.app_context():
        from app.domain import doctor

        report = doctor.run()
        found = report.as_dict()["found"]
        assert found["deleted_copy_delivered"] == 0 and found["overdue_removal"] == 0 and found["orphan_copy"] == 0
        db.session.remove()


def aeontel(live_server, tenant, tmp_path, *args) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AEONTEL_")}
    env.update(
        AEONTEL_API_URL=live_server.url, AEONTEL_TOKEN=tenant.write_token, AEONTEL_CONFIG=str(tmp_path / "aeontel.json")
    )
    return subprocess.run(
        [str(AEONTEL), *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )


def test_files_failed_past_the_deadline_are_retried_through_the_api_and_the_cli(
    app, base_settings, tenant, live_server, standin, tmp_path
):
    """With a 1-second deadline an outage fails two uploads for good (and nothing retries them); after the
    service returns, `POST /api/files/{id}/retry` and `aeontel file retry` make their images."""
    log = Path(base_settings["instance_dir"]) / "retry-worker.log"
    log.unlink(missing_ok=True)
    worker = worker_process(worker_settings(base_settings, standin, provision_deadline_seconds=1), log).start()
    try:
        standin.stop()
        ids = [upload(live_server.url, tenant, distinct_jpeg(n), f"{n}.jpg").json()["id"] for n in range(2)]
        wait_until(
            lambda: (
                rows(app, select(File.status, File.error_code).where(File.id.in_(ids)))
                == [("error", "images_unavailable")] * 2
            ),
            60,
            "both uploads failed past the deadline",
            (log,),
        )
        shown = aeontel(live_server, tenant, tmp_path, "file", "get", ids[0])
        assert shown.returncode == 0 and "failed" in shown.stdout and "images_unavailable" in shown.stdout, shown
        standin.start()

        by_api = requests.post(f"{live_server.url}/api/files/{ids[0]}/retry", headers=tenant.auth(), timeout=10)
        assert by_api.status_code == 202, by_api.text
        assert by_api.json()["status"] == "ready" and by_api.json()["image"]["status"] == "processing"
        by_cli = aeontel(live_server, tenant, tmp_path, "file", "retry", ids[1])
        assert by_cli.returncode == 0 and f"queued {ids[1]} again" in by_cli.stdout, by_cli
        wait_until(lambda: image_count(app, ids) == 2, 60, "both images after the retries", (log,))

        again = requests.post(f"{live_server.url}/api/files/{ids[0]}/retry", headers=tenant.auth(), timeout=10)
        assert again.status_code == 409 and again.json()["code"] == "not_retryable"
        refused = aeontel(live_server, tenant, tmp_path, "file", "retry", ids[1])
        assert refused.returncode == 1 and "not_retryable" in refused.stderr
    finally:
        worker.stop()
    assert sorted(copy["id"] for copy in standin_listing(standin)) == sorted(ids)
    assert "Traceback" not in tail(log, 200000)
