"""`POST /api/files/{id}/retry`: a waiting image is tried now, a failed one starts afresh, anything else is 409."""

from __future__ import annotations

import io
from datetime import timedelta

from app.domain.common import utcnow
from app.domain.files import File
from app.domain.images import Provisioning
from app.extensions import db


def upload(client, tenant, data: bytes, name: str) -> str:
    form = {"file": (io.BytesIO(data), name), "project_id": tenant.project_id}
    response = client.post("/api/files", data=form, headers=tenant.auth(), content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_retry_makes_a_waiting_image_due_now_and_a_failed_one_start_afresh(client, tenant, app, corpus):
    file_id = upload(client, tenant, (corpus / "Canon_40D.jpg").read_bytes(), "canon.jpg")
    later = utcnow() + timedelta(seconds=25)
    with app.app_context():
        db.session.add(
            Provisioning(
                file_id=file_id,
                workspace_id=tenant.workspace_id,
                state="waiting",
                attempts=7,
                transient_failures=7,
                next_attempt_at=later,
                deadline=later + timedelta(hours=1),
                last_error="The images service could not be reached (ConnectionError).",
            )
        )
        db.session.commit()
    waiting = client.get(f"/api/files/{file_id}", headers=tenant.auth("read")).json
    assert waiting["image"]["status"] == "waiting" and waiting["image"]["attempts"] == 7
    assert waiting["image"]["nextAttemptAt"].startswith(later.strftime("%Y-%m-%dT%H:%M"))
    assert "could not be reached" in waiting["image"]["error"]["detail"]

    now = client.post(f"/api/files/{file_id}/retry", headers=tenant.auth())
    assert now.status_code == 202 and now.json["image"]["status"] == "waiting"  # still the service's turn
    with app.app_context():
        row = db.session.get(Provisioning, file_id)
        assert row.state == "queued" and row.next_attempt_at <= utcnow() and row.transient_failures == 7
        row.state, row.deadline = "failed", utcnow() - timedelta(seconds=1)
        file = db.session.get(File, file_id)
        file.status, file.error_code, file.error_message = "error", "images_unavailable", "Gave up."
        db.session.commit()
    failed = client.get(f"/api/files/{file_id}", headers=tenant.auth("read")).json
    assert failed["image"] == {
        "status": "failed",
        "error": {"code": "images_unavailable", "detail": "Gave up."},
        "nextAttemptAt": None,
        "attempts": 7,
    }
    afresh = client.post(f"/api/files/{file_id}/retry", headers=tenant.auth())
    assert afresh.status_code == 202 and afresh.json["status"] == "ready" and afresh.json["error"] is None
    assert afresh.json["image"]["status"] == "processing"
    with app.app_context():
        row = db.session.get(Provisioning, file_id)
        assert (row.state, row.attempts, row.transient_failures, row.deadline) == ("queued", 0, 0, None)


def test_retry_refuses_what_is_not_failed_or_waiting(client, tenant, app):
    text = upload(client, tenant, b"just some notes\n", "notes.txt")
    refused = client.post(f"/api/files/{text}/retry", headers=tenant.auth())
    assert refused.status_code == 409 and refused.json["code"] == "not_retryable"
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert client.get(f"/api/files/{text}", headers=tenant.auth("read")).json["image"] is None
    missing = client.post("/api/files/fil_00000000000000000000000000/retry", headers=tenant.auth())
    assert missing.status_code == 404 and missing.json["code"] == "file_not_found"
