"""Where an image file stands, in the words a client sees: processing, waiting, ready or failed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.domain.accounts import DomainError
from app.domain.files import File
from app.domain.images import Image, Provisioning
from app.extensions import db

STATUSES = ("processing", "waiting", "ready", "failed")


@dataclass(frozen=True)
class ImageStatus:
    status: str
    error_code: str | None = None
    error_message: str | None = None

    def as_json(self) -> dict:
        error = {"code": self.error_code, "message": self.error_message} if self.status == "failed" else None
        return {"status": self.status, "error": error}


def status_of(file: File, image: Image | None, row: Provisioning | None) -> ImageStatus | None:
    """The one mapping from the file, image and provisioning rows to a status; None for a file that is no image."""
    if not file.is_image:
        return None
    if image is not None:
        return ImageStatus("ready")
    if file.status == "error" or (row is not None and row.state == "failed"):
        return ImageStatus("failed", file.error_code or "processing_failed",
                           file.error_message or (row.last_error if row is not None else None))
    if row is not None and row.state == "waiting":
        # The images service is unavailable; provisioning waits for it (with a deadline) instead of failing.
        return ImageStatus("waiting")
    return ImageStatus("processing")  # stored but not yet picked up, queued, running, or retrying


def statuses(rows: list[File]) -> dict[str, ImageStatus | None]:
    """Each file's status in two queries, whatever the number of files."""
    ids = [file.id for file in rows if file.is_image]
    images, provisioning = {}, {}
    if ids:
        images = {image.file_id: image for image in db.session.scalars(select(Image).where(Image.file_id.in_(ids)))}
        provisioning = {row.file_id: row for row in
                        db.session.scalars(select(Provisioning).where(Provisioning.file_id.in_(ids)))}
    return {file.id: status_of(file, images.get(file.id), provisioning.get(file.id)) for file in rows}


class ImageNotReady(DomainError):
    status = 409


def not_ready(file: File) -> ImageNotReady | None:
    """The refusal for an image file without its image yet; None when there is nothing to refuse."""
    state = statuses([file])[file.id]
    if state is None or state.status == "ready":
        return None
    detail = {"processing": "The image is still being processed; try again shortly.",
              "waiting": "The image is waiting for the images service; it is processed once that is back.",
              "failed": f"The image could not be processed: {state.error_message or 'unknown error'}"}[state.status]
    return ImageNotReady("image_not_ready", detail, imageStatus=state.status,
                         error=state.as_json()["error"])
