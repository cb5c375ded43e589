"""Replacing an image's bytes under faults (issue 23): a worker SIGKILLed while it holds the new version, and an
images service that is down while new versions arrive. Through both, the current version keeps serving, there is
never a second current version, the old one is never lost before the new one is ready, and each version ends with
exactly one copy. Real worker processes, the stand-in over HTTP, nothing mocked."""

from __future__ import annotations

from pathlib import Path

import requests
from outage_support import PausableStandin
from reliability_support import distinct_jpeg, rows, scalar, standin_listing, upload, wait_until, worker_process
from sqlalchemy import func, select
from test_reliability_faults import Tarpit

from app.domain.images import Image
from app.domain.versions import FileVersion
from tests.services import WORK_SECONDS, deadline_for

FAST_RETRY = {"retry_base_seconds": 0.3, "retry_cap_seconds": 2.0}


def replace(base_url: str, tenant, file_id: str, data: bytes) -> dict:
    answer = requests.put(
        f"{base_url}/api/files/{file_id}/content",
        headers=tenant.auth(),
        files={"file": ("new.jpg", data, "image/jpeg")},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    return answer.json()


def redirected_to(base_url: str, file_id: str) -> str:
    """The path the stable URL points at now (the images service's `/<hash>/<image id>/public`)."""
    answer = requests.get(f"{base_url}/i/{file_id}/public", allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return "/" + answer.headers["Location"].split("/", 3)[3]


def states(app, file_id: str) -> list[tuple[int, str]]:
    return rows(
        app, select(FileVersion.number, FileVersion.state).where(FileVersion.file_id == file_id).order_by("number")
    )


def test_a_worker_killed_mid_replace_leaves_the_old_version_serving_and_the_next_one_finishes(
    app, base_settings, tenant, live_server, run_jobs, images_service
):
    """The worker is SIGKILLed while it holds the new version (its images service never answers): the image still
    shows version 1 through the stable URL; a worker started afterwards takes the version over once the lease runs
    out and makes it current, with exactly one copy of each version."""
    file_id = upload(live_server.url, tenant, distinct_jpeg(1), "first.jpg").json()["id"]
    run_jobs()
    first = redirected_to(live_server.url, file_id)
    assert first.endswith(f"/{file_id}/public")
    replace(live_server.url, tenant, file_id, distinct_jpeg(2, (200, 300)))

    tarpit = Tarpit()
    lease = 1
    log = Path(base_settings["instance_dir"]) / "replace-sigkill-worker.log"
    stuck = dict(base_settings, images_api_base=f"{tarpit.url}/client/v4", provision_lease_seconds=lease)
    worker = worker_process(stuck, log).start()
    claimed = lambda: scalar(app, select(FileVersion.attempts).where(FileVersion.number == 2)) or 0  # noqa: E731
    try:
        wait_until(lambda: claimed() >= 1, 30, "the worker to claim version 2", (log,), interval=0.05)
        worker.kill()  # SIGKILL while it waits on the images service, holding the version
    finally:
        tarpit.close()
    assert states(app, file_id) == [(1, "current"), (2, "pending")]
    assert scalar(app, select(Image.version).where(Image.file_id == file_id)) == 1
    assert redirected_to(live_server.url, file_id) == first
    assert requests.get(f"{live_server.url}/i/{file_id}/public", timeout=30).status_code == 200

    healthy = dict(base_settings, provision_lease_seconds=lease)
    worker = worker_process(healthy, log).start()
    try:
        wait_until(
            lambda: states(app, file_id) == [(1, "previous"), (2, "current")],
            lease + deadline_for(app.config, 1) + WORK_SECONDS,
            "version 2 made current after the kill",
            (log,),
        )
    finally:
        worker.stop()
    assert redirected_to(live_server.url, file_id).endswith(f"/{file_id}.v2/public")
    copies = [image["id"] for image in standin_listing(images_service) if image.get("creator") == file_id]
    assert sorted(copies) == [file_id, f"{file_id}.v2"], "one copy per version, none lost, none doubled"


def test_an_outage_during_replaces_keeps_the_current_versions_and_they_finish_when_it_ends(
    app, base_settings, tenant, live_server
):
    """The images service is down while three images are replaced: each new version waits (retried with backoff,
    never failed), each image keeps showing version 1 meanwhile; back up, all three become current with one copy
    each, and the first copies are still there (kept for `version_copy_days`)."""
    standin = PausableStandin().start()
    log = Path(base_settings["instance_dir"]) / "replace-outage-worker.log"
    settings = dict(
        base_settings, images_api_base=f"{standin.url}/client/v4", images_delivery_base=standin.url, **FAST_RETRY
    )
    worker = worker_process(settings, log).start()
    try:
        ids = [upload(live_server.url, tenant, distinct_jpeg(10 + n), f"{n}.jpg").json()["id"] for n in range(3)]
        made = lambda: scalar(app, select(func.count()).select_from(Image).where(Image.file_id.in_(ids)))  # noqa: E731
        wait_until(lambda: made() == 3, deadline_for(app.config, 0) * 3, "three images", (log,))

        standin.stop()
        for n, file_id in enumerate(ids):
            replace(live_server.url, tenant, file_id, distinct_jpeg(20 + n, (240, 320)))
        turned_away = lambda: scalar(  # noqa: E731
            app, select(func.min(FileVersion.transient_failures)).where(FileVersion.number == 2)
        )
        wait_until(lambda: (turned_away() or 0) >= 2, deadline_for(settings_config(settings), 3), "retries", (log,))
        assert rows(app, select(FileVersion.state, func.count()).group_by(FileVersion.state)) == [
            ("current", 3),
            ("pending", 3),
        ], "an outage fails no replace and retires no current version"
        for file_id in ids:
            assert redirected_to(live_server.url, file_id).endswith(f"/{file_id}/public")
        shown = requests.get(
            f"{live_server.url}/api/files/{ids[0]}/versions/2", headers=tenant.auth("read"), timeout=10
        ).json()
        assert shown["state"] == "pending" and shown["error"] is None

        standin.start()  # same port, same images
        wait_until(
            lambda: scalar(app, select(func.count()).select_from(Image).where(Image.version == 2)) == 3,
            deadline_for(settings_config(settings), 8),
            "three replaces after the service came back",
            (log,),
        )
        listing = sorted(copy["id"] for copy in standin_listing(standin))
    finally:
        worker.stop()
        standin.close()
    assert listing == sorted(ids + [f"{file_id}.v2" for file_id in ids])
    for file_id in ids:
        assert states(app, file_id) == [(1, "previous"), (2, "current")]
        assert redirected_to(live_server.url, file_id).endswith(f"/{file_id}.v2/public")


def settings_config(settings: dict) -> dict:
    """The retry settings as the app's config names them, for deadline_for."""
    return {"RETRY_BASE_SECONDS": settings["retry_base_seconds"], "RETRY_CAP_SECONDS": settings["retry_cap_seconds"]}
