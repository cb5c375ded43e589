"""The file JSON shows a file and its image as of one moment: never an image `failed` (with a retryable code) while
its file is still `ready` because a worker committed between two reads (issue 20)."""

from __future__ import annotations

import io

import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from app.domain import image_status, images, shapes
from app.domain.events import Event, dispatch
from app.domain.files import File
from app.domain.images import Provisioning
from app.extensions import db


def png() -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (40, 30), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def image_file(app, client, tenant) -> str:
    """An uploaded image whose provisioning row exists and whose job has not run."""
    response = client.post(
        "/api/files",
        headers=tenant.auth(),
        data={"project_id": tenant.project_id, "file": (io.BytesIO(png()), "photo.png")},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    file_id = response.get_json()["id"]
    with app.app_context():
        ready = select(Event.id).where(Event.subject_id == file_id, Event.type == "file.ready")
        dispatch(db.session.scalar(ready))
        db.session.commit()
        assert db.session.get(Provisioning, file_id).state == "queued"
    return file_id


def worker_gives_up(app, file_id: str) -> None:
    """What the worker commits, from its own session, when it fails the file: both rows in one transaction."""
    with app.app_context():
        row, file = db.session.get(Provisioning, file_id), db.session.get(File, file_id)
        images._fail(row, file, "image_damaged", "The image is damaged and cannot be read.")


def test_one_file_read_before_the_worker_failed_it_shows_the_real_reason(app, image_file):
    with app.test_request_context():
        file = db.session.get(File, image_file)  # the request has read the file row: ready
        assert file.status == "ready"
        worker_gives_up(app, image_file)
        body = shapes.file_json(file)
    assert body["image"]["status"] == "failed" and body["status"] == "error"
    assert body["image"]["error"]["code"] == body["error"]["code"] == "image_damaged"
    assert body["error"]["retryable"] is False


def test_a_page_of_files_read_before_the_worker_failed_one_agrees_with_itself(app, image_file):
    with app.test_request_context():
        page = list(db.session.scalars(select(File).where(File.id == image_file)))
        worker_gives_up(app, image_file)
        image_status.preload([file.id for file in page])
        body = shapes.file_json(page[0])
    assert (body["status"], body["image"]["status"], body["image"]["error"]["code"]) == (
        "error",
        "failed",
        "image_damaged",
    )
