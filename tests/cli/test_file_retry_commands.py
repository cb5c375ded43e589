"""`aeontel file get` shows where a file's image is (waiting for the images service, failed), `aeontel file retry`
retries it."""

from __future__ import annotations

import json

import requests
from imagesd_support import damaged_jpeg

from app.domain.files import File
from app.domain.images import Provisioning
from app.extensions import db


def bomb(live_server, tenant) -> str:
    response = requests.post(
        f"{live_server.url}/api/files",
        headers=tenant.auth(),
        timeout=30,
        data={"project_id": tenant.project_id},
        files={"file": ("bomb.png", damaged_jpeg(), "image/png")},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_file_get_shows_waiting_and_failed_and_retry_requeues(aeontel, live_server, tenant, run_jobs, app, images):
    failed = bomb(live_server, tenant)
    run_jobs()
    shown = aeontel("file", "get", failed)
    assert shown.exit_code == 0 and failed in shown.output and "bomb.png" in shown.output, shown.output
    assert ("failed: The image is damaged: its header says 4,000×3,000 px but the file ends after ") in shown.output
    assert "(image_damaged)" in shown.output
    as_json = json.loads(aeontel("file", "get", failed, "--json").output)
    assert as_json["image"]["status"] == "failed" and as_json["error"]["retryable"] is False

    permanent = aeontel("file", "retry", failed)  # a damaged file stays damaged: nothing to retry
    assert permanent.exit_code == 1 and "(not_retryable)" in permanent.output, permanent.output
    with app.app_context():  # as if it had failed because the images service stayed away past the deadline
        file = db.session.get(File, failed)
        file.error_code, file.error_message = "images_unavailable", "The images service could not be reached."
        db.session.commit()
        db.session.remove()
    retried = aeontel("file", "retry", failed)
    assert retried.exit_code == 0 and f"queued {failed} again (processing)" in retried.output
    with app.app_context():
        row = db.session.get(Provisioning, failed)
        row.state, row.transient_failures, row.last_error = "waiting", 2, "The images service answered HTTP 503."
        db.session.commit()
        db.session.remove()
    waiting = aeontel("file", "get", failed)
    assert "waiting for the images service - retrying automatically" in waiting.output, waiting.output

    refused = aeontel("file", "retry", images[0], "fil_00000000000000000000000000")
    assert refused.exit_code == 1
    assert f"error: {images[0]}: " in refused.output and "(not_retryable)" in refused.output
    assert "(file_not_found)" in refused.output


def test_file_retry_needs_a_write_token(aeontel, images, tenant):
    result = aeontel("file", "retry", images[0], env={"AEONTEL_TOKEN": tenant.read_token})
    assert result.exit_code == 1 and "(insufficient_scope)" in result.output, result.output
