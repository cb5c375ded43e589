"""What the Content gallery asks of the domain: a project's files with their image state, alt text and retries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, not_, or_, select

from app.domain import files, image_status, trash
from app.domain.accounts import DomainError, NotFound, get_project
from app.domain.events import emit
from app.domain.files import File
from app.domain.images import Image, Provisioning
from app.extensions import db

FILTERS = ("all", "ready", "processing", "failed", "files")
MAX_ALT_TEXT = 1000
MAX_QUERY = 200


@dataclass(frozen=True)
class Entry:
    """One file of the gallery with its image row and provisioning row, either of which may not exist yet."""

    file: File
    image: Image | None
    provisioning: Provisioning | None

    @property
    def state(self) -> str:
        """ready | processing | waiting (for the images service) | failed | file (not an image)."""
        if self.file.status == "error" and self.image is None:
            return "failed"
        return image_status.status(self.file, self.provisioning, self.image) or "file"

    @property
    def can_retry(self) -> bool:
        return image_status.can_retry(self.file, self.provisioning, self.image)

    @property
    def image_state(self) -> dict | None:
        return image_status.image_state(self.file, self.provisioning, self.image, loaded=True)


def _is_image():
    return File.mime_type.like("image/%")


def _processing():
    # An image file with no image yet and no error: its provisioning is queued or running, or not requested yet.
    return and_(_is_image(), Image.file_id.is_(None), File.status != "error",
                or_(Provisioning.file_id.is_(None), Provisioning.state.in_(("queued", "running", "waiting"))))


def list_entries(workspace_id: str, project_id: str, *, status: str = "all", q: str | None = None,
                 limit: int = 30, cursor: str | None = None) -> tuple[list[Entry], str | None]:
    """Newest first, keyset-paginated on the time-ordered file id; `files` lists what is not an image."""
    get_project(workspace_id, project_id)
    if status not in FILTERS:
        raise DomainError("invalid_filter", f"The filter must be one of {', '.join(FILTERS)}.")
    query = (
        select(File, Image, Provisioning)
        .outerjoin(Image, Image.file_id == File.id)
        .outerjoin(Provisioning, Provisioning.file_id == File.id)
        .where(File.workspace_id == workspace_id, File.project_id == project_id, File.live())
    )
    if status == "files":
        query = query.where(not_(_is_image()))
    else:
        query = query.where(_is_image())
    if status == "ready":
        query = query.where(Image.file_id.is_not(None))
    elif status == "processing":
        query = query.where(_processing())
    elif status == "failed":
        query = query.where(File.status == "error", Image.file_id.is_(None))
    q = (q or "").strip()[:MAX_QUERY]
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(File.name.ilike(f"%{escaped}%", escape="\\"))
    after = files.decode_cursor(cursor)
    if after:
        query = query.where(File.id < after)
    rows = [Entry(*row) for row in db.session.execute(query.order_by(File.id.desc()).limit(limit + 1))]
    next_cursor = files.encode_cursor(rows[limit - 1].file.id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def get_entry(workspace_id: str, project_id: str, file_id: str) -> Entry:
    """One file of this project; another project's or workspace's file is not found."""
    get_project(workspace_id, project_id)
    file = files.get_file(workspace_id, file_id)
    if file.project_id != project_id:
        raise NotFound("file_not_found", f"No file {file_id!r} in this project.")
    return Entry(file, db.session.get(Image, file.id), db.session.get(Provisioning, file.id))


def delete_entry(workspace_id: str, project_id: str, file_id: str) -> datetime | None:
    """The file and its image leave the gallery at once, into the trash (see app.domain.trash); returns until when
    it can be restored, None when the trash is off."""
    entry = get_entry(workspace_id, project_id, file_id)
    until = trash.discard(entry.file)
    db.session.commit()
    return until


def set_alt_text(workspace_id: str, project_id: str, file_id: str, alt_text: str | None,
                 decorative: bool) -> Image:
    """Decorative images carry no alt text, so screen readers skip them."""
    entry = get_entry(workspace_id, project_id, file_id)
    if entry.image is None:
        raise NotFound("image_not_found", "This file is not an image yet.")
    before = {"altText": entry.image.alt_text, "decorative": entry.image.decorative}
    entry.image.alt_text, entry.image.decorative = clean_alt_text(alt_text, decorative)
    after = {"altText": entry.image.alt_text, "decorative": entry.image.decorative}
    changed = {key: value for key, value in after.items() if before[key] != value}
    if changed:  # the same event as an edit through the API (app/domain/image_edits.py)
        emit("image.updated", workspace_id=workspace_id, subject_id=file_id, payload={"changed": changed})
    db.session.commit()
    return entry.image


def clean_alt_text(alt_text: str | None, decorative: bool) -> tuple[str | None, bool]:
    """(alt text, decorative) as stored: whitespace collapsed, bounded, and none at all on a decorative image."""
    alt_text = " ".join((alt_text or "").split())
    if len(alt_text) > MAX_ALT_TEXT:
        raise DomainError("alt_text_too_long", f"Alt text can be at most {MAX_ALT_TEXT} characters.",
                          parameter="altText")
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
