"""Where a file is on its way to becoming an image, as every face shows it, and the one way to retry it."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from app.domain import failures, removals
from app.domain.common import isoformat, utcnow
from app.domain.errors import DomainError
from app.domain.events import emit
from app.domain.files import File, get_file
from app.domain.images import Image, Provisioning
from app.event_types import EventType
from app.extensions import db

WAITING_CODE = "images_unavailable"
WAITING_MESSAGE = "Waiting for the images service - retrying automatically."


def status(file: File, row: Provisioning | None, image: Image | None) -> str | None:
    """None (not an image) | processing | waiting (for the images service, retried automatically) | ready | failed."""
    if image is not None:
        return "ready"
    if not file.is_image:
        return None
    if file.status == "error" or (row is not None and row.state == "failed"):
        return "failed"
    if row is not None and (row.state == "waiting" or (row.state in ("queued", "running") and row.transient_failures)):
        return "waiting"  # also while a retry is under way: the service has not taken it yet
    return "processing"


def image_state(
    file: File, row: Provisioning | None = None, image: Image | None = None, loaded: bool = False
) -> dict | None:
    """The file JSON's `image` member: {status, error: {code, detail} | null, nextAttemptAt, attempts}."""
    if not file.is_image:
        return None
    if not loaded:
        row, image = _read_together(file)
    state = status(file, row, image)
    if state is None:
        return None
    error = None
    if state == "failed":
        error = {"code": file.error_code, "detail": file.error_message or (row and row.last_error)}
    elif state == "waiting":
        error = {"code": WAITING_CODE, "detail": f"{WAITING_MESSAGE} Last answer: {row.last_error}"}
    return {
        "status": state,
        "error": error,
        "nextAttemptAt": isoformat(row.next_attempt_at) if state == "waiting" and row.state == "waiting" else None,
        "attempts": row.attempts if row is not None else 0,
    }


_SNAPSHOT = "image_status.snapshot"


def preload(file_ids: list[str]) -> None:
    """Reads a page of files with their provisioning and image rows in one query, so `image_state` needs none each."""
    if file_ids:
        db.session.info.setdefault(_SNAPSHOT, {}).update(_select_together(file_ids))


def _read_together(file: File) -> tuple[Provisioning | None, Image | None]:
    """The file's provisioning and image rows as of one moment with the file row itself (refreshed by the same
    statement): read apart, a worker's commit in between could show an image failed while its file is ready."""
    found = db.session.info.get(_SNAPSHOT, {}).pop(file.id, None)
    if found is None:
        found = _select_together([file.id]).get(file.id, (None, None))
    return found


def _select_together(file_ids: list[str]) -> dict[str, tuple[Provisioning | None, Image | None]]:
    rows = db.session.execute(
        select(File, Provisioning, Image)
        .outerjoin(Provisioning, Provisioning.file_id == File.id)
        .outerjoin(Image, Image.file_id == File.id)
        .where(File.id.in_(file_ids))
        .execution_options(populate_existing=True)
    ).all()
    return {file.id: (row, image) for file, row, image in rows}


def can_retry(file: File, row: Provisioning | None, image: Image | None) -> bool:
    """Waiting, or failed for a passing reason: a damaged file, a pixel bomb or a non-image stays as it is."""
    if row is None:
        return False
    state = status(file, row, image)
    return state == "waiting" or (state == "failed" and failures.retryable(file.error_code))


def retry(file: File) -> Provisioning:
    """Makes provisioning due now (a failed file starts afresh with a new deadline); the caller commits, and
    `image.provision_requested` enqueues it once that transaction is in."""
    row, image = db.session.get(Provisioning, file.id), db.session.get(Image, file.id)
    if not can_retry(file, row, image):
        raise DomainError(
            "not_retryable",
            "Only an image that is waiting for the images service, or failed for a "
            "passing reason (the service unreachable or busy), can be retried; remove "
            "this file, fix it and upload it again instead.",
            status=409,
        )
    if row.state == "failed":
        row.attempts, row.transient_failures, row.deadline, row.last_error = 0, 0, None, None
        file.status, file.error_code, file.error_message = "ready", None, None
    row.state, row.next_attempt_at, row.lease_until, row.enqueued_at = "queued", utcnow(), None, None
    # A copy taken back from this file while it failed must not take the new one with it.
    db.session.execute(
        delete(removals.PendingRemoval).where(
            removals.PendingRemoval.subject_id == file.id, removals.PendingRemoval.kind == removals.IMAGES_COPY
        )
    )
    emit(EventType.IMAGE_PROVISION_REQUESTED, workspace_id=file.workspace_id, subject_id=file.id)
    return row


def retry_file(workspace_id: str, file_id: str) -> File:
    """`POST /api/files/{id}/retry`, `aeontel file retry`, the MCP tool `retry_file`."""
    file = get_file(workspace_id, file_id)
    retry(file)
    db.session.commit()
    return file


def _retryable_failed(workspace_id: str, project_id: str):
    """The live images of a project that failed for a passing reason: what "Retry all failed" counts and retries."""
    return (
        select(File, Provisioning)
        .join(Provisioning, Provisioning.file_id == File.id)
        .outerjoin(Image, Image.file_id == File.id)
        .where(
            File.workspace_id == workspace_id,
            File.project_id == project_id,
            Provisioning.state == "failed",
            File.live(),
            File.error_code.in_(failures.TRANSIENT_CODES),
            Image.file_id.is_(None),
        )
    )


def retryable_failed_count(workspace_id: str, project_id: str) -> int:
    """How many images "Retry all failed (N)" would queue again (a permanent failure is not one of them)."""
    query = _retryable_failed(workspace_id, project_id).with_only_columns(func.count(File.id))
    return db.session.scalar(query) or 0


def retry_failed(workspace_id: str, project_id: str) -> int:
    """The gallery's bulk action: every image of a project that failed for a passing reason is retried; returns how many."""
    rows = db.session.execute(_retryable_failed(workspace_id, project_id)).all()
    for file, _row in rows:
        retry(file)
    db.session.commit()
    return len(rows)


class ImageNotReady(DomainError):
    status = 409


def not_ready(file: File) -> ImageNotReady | None:
    """The refusal for an image file without its image yet (409 `image_not_ready`, told apart from a missing one);
    None when there is nothing to refuse."""
    state = image_state(file)
    if state is None or state["status"] == "ready":
        return None
    failed = (state["error"] or {}).get("detail") or "unknown error"
    detail = {
        "processing": "The image is still being processed; try again shortly.",
        "waiting": "The image is waiting for the images service; it is processed once that is back.",
        "failed": f"The image could not be processed: {failed}",
    }[state["status"]]
    return ImageNotReady("image_not_ready", detail, imageStatus=state["status"], error=state["error"])
