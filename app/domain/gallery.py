"""What the Content gallery asks of the domain besides lists (app.domain.queries): one file's entry, alt text, retries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.domain import files, image_status, trash
from app.domain.accounts import get_project
from app.domain.errors import DomainError, NotFound
from app.domain.events import emit
from app.domain.files import File
from app.domain.images import Image, Provisioning
from app.domain.queries import Entry
from app.event_types import EventType
from app.extensions import db

MAX_ALT_TEXT = 1000


def get_entry(workspace_id: str, project_id: str, file_id: str) -> Entry:
    """One file of this project; another project's or workspace's file is not found."""
    get_project(workspace_id, project_id)
    file = files.get_file(workspace_id, file_id)
    if file.project_id != project_id:
        raise NotFound("file_not_found", f"No file {file_id!r} in this project.")
    return Entry(file, db.session.get(Image, file.id), db.session.get(Provisioning, file.id))


def get_entries(workspace_id: str, project_id: str, file_ids: list[str]) -> list[Entry]:
    """Those of the ids that are files of this project, in one query (the gallery's batched tile refresh)."""
    ids = [i for i in dict.fromkeys(file_ids) if isinstance(i, str) and 0 < len(i) <= 32][:100]
    if not ids:
        return []
    get_project(workspace_id, project_id)
    query = (
        select(File, Image, Provisioning)
        .outerjoin(Image, Image.file_id == File.id)
        .outerjoin(Provisioning, Provisioning.file_id == File.id)
        .where(File.workspace_id == workspace_id, File.project_id == project_id, File.id.in_(ids), File.live())
    )
    return [Entry(*row) for row in db.session.execute(query)]


def delete_entry(workspace_id: str, project_id: str, file_id: str) -> datetime | None:
    """The file and its image leave the gallery at once, into the trash (see app.domain.trash); returns until when
    it can be restored, None when the trash is off."""
    entry = get_entry(workspace_id, project_id, file_id)
    until = trash.discard(entry.file)
    db.session.commit()
    return until


def set_alt_text(workspace_id: str, project_id: str, file_id: str, alt_text: str | None, decorative: bool) -> Image:
    """Decorative images carry no alt text, so screen readers skip them."""
    entry = get_entry(workspace_id, project_id, file_id)
    if entry.image is None:
        raise NotFound("image_not_found", "This file is not an image yet.")
    before = {"altText": entry.image.alt_text, "decorative": entry.image.decorative}
    entry.image.alt_text, entry.image.decorative = clean_alt_text(alt_text, decorative)
    after = {"altText": entry.image.alt_text, "decorative": entry.image.decorative}
    changed = {key: value for key, value in after.items() if before[key] != value}
    if changed:  # the same event as an edit through the API (app/domain/image_edits.py)
        emit(EventType.IMAGE_UPDATED, workspace_id=workspace_id, subject_id=file_id, payload={"changed": changed})
    db.session.commit()
    return entry.image


def clean_alt_text(alt_text: str | None, decorative: bool) -> tuple[str | None, bool]:
    """(alt text, decorative) as stored: whitespace collapsed, bounded, and none at all on a decorative image."""
    alt_text = " ".join((alt_text or "").split())
    if len(alt_text) > MAX_ALT_TEXT:
        raise DomainError(
            "alt_text_too_long", f"Alt text can be at most {MAX_ALT_TEXT} characters.", parameter="altText"
        )
    return (None if decorative or not alt_text else alt_text), bool(decorative)


def retry_provisioning(workspace_id: str, project_id: str, file_id: str) -> Entry:
    """Puts a failed (or waiting) image back in the queue; `image.provision_requested` commits with the reset row."""
    entry = get_entry(workspace_id, project_id, file_id)
    image_status.retry(entry.file)
    db.session.commit()
    return entry


def retry_all_failed(workspace_id: str, project_id: str) -> int:
    """The gallery's "Retry all failed": every failed image of the project goes back in the queue."""
    get_project(workspace_id, project_id)
    return image_status.retry_failed(workspace_id, project_id)
