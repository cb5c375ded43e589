"""What the Content gallery asks of the domain: a project's files with their image state, alt text and retries."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, not_, or_, select

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
    return and_(
        _is_image(),
        Image.file_id.is_(None),
        File.status != "error",
        or_(Provisioning.file_id.is_(None), Provisioning.state.in_(("queued", "running", "waiting"))),
    )


SORTS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "name": "Name A–Z",
    "name_desc": "Name Z–A",
    "size": "Largest first",
}


def _filtered(workspace_id: str, project_id: str, status: str, q: str | None):
    """The rows of one view of the gallery (filter and search), in no order yet."""
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
    return query


def _sort_key(sort: str):
    """The column a sort orders by before the id tiebreak, and whether it runs downwards."""
    return {
        "newest": (None, True),
        "oldest": (None, False),
        "name": (func.lower(File.name), False),
        "name_desc": (func.lower(File.name), True),
        "size": (File.size, True),
    }[sort]


def encode_cursor(sort: str, file_id: str, key) -> str:
    data = {"s": sort, "i": file_id, "k": key}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, sort: str) -> tuple[object, str] | None:
    """(key, id) after which the next page starts; a cursor of another sort or a made-up one is refused."""
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after, key = data["i"], data["k"]
        if data["s"] != sort or not isinstance(after, str) or len(after) > 32:
            raise ValueError
        if sort == "size" and not isinstance(key, int) or sort.startswith("name") and not isinstance(key, str):
            raise ValueError
        return key, after
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise DomainError(
            "invalid_cursor", "That page link is out of date; start again from the first page.", parameter="cursor"
        ) from None


def list_entries(
    workspace_id: str,
    project_id: str,
    *,
    status: str = "all",
    q: str | None = None,
    limit: int = 30,
    cursor: str | None = None,
    sort: str = "newest",
) -> tuple[list[Entry], str | None]:
    """One page of a view in the chosen order, keyset-paginated on (sort key, id); `files` lists non-images."""
    if sort not in SORTS:
        raise DomainError("invalid_sort", f"The sort must be one of {', '.join(SORTS)}.")
    query = _filtered(workspace_id, project_id, status, q)
    column, down = _sort_key(sort)
    after = decode_cursor(cursor, sort)
    if after:
        key, after_id = after
        beyond = (lambda a, b: a < b) if down else (lambda a, b: a > b)
        if column is None:
            query = query.where(beyond(File.id, after_id))
        else:
            query = query.where(or_(beyond(column, key), and_(column == key, beyond(File.id, after_id))))
    order = [File.id.desc() if down else File.id.asc()]
    if column is not None:
        order.insert(0, column.desc() if down else column.asc())
        query = query.add_columns(column)  # the cursor keeps the database's own key (SQLite lowers ASCII only)
    rows = list(db.session.execute(query.order_by(*order).limit(limit + 1)))
    entries = [Entry(*row[:3]) for row in rows]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(sort, last[0].id, last[3] if column is not None else None)
    return entries[:limit], next_cursor


def matching_ids(
    workspace_id: str, project_id: str, *, status: str = "all", q: str | None = None, limit: int = 10_000
) -> list[str]:
    """Every file id of a view (for "select all that match"), newest first, at most `limit`."""
    query = _filtered(workspace_id, project_id, status, q).with_only_columns(File.id)
    return list(db.session.scalars(query.order_by(File.id.desc()).limit(limit)))


def count_matching(workspace_id: str, project_id: str, *, status: str = "all", q: str | None = None) -> int:
    """How many files a view holds, for "select all N that match"."""
    query = _filtered(workspace_id, project_id, status, q).with_only_columns(func.count(File.id))
    return db.session.scalar(query) or 0


def newer_than(
    workspace_id: str, project_id: str, after_id: str, *, status: str = "all", q: str | None = None, limit: int = 30
) -> list[Entry]:
    """Files of a view uploaded after `after_id` (from anywhere: another browser, the API, the CLI), newest first."""
    query = _filtered(workspace_id, project_id, status, q).where(File.id > after_id)
    return [Entry(*row) for row in db.session.execute(query.order_by(File.id.desc()).limit(limit))]


@dataclass(frozen=True)
class Counts:
    images: int
    failed: int
    files: int
    trashed: int = 0


def counts(workspace_id: str, project_id: str) -> Counts:
    """How many images (of which failed) and other files the project holds: one scan of a covering index of `file`
    (a failed image is an image file in `error`; such a file never has an image row)."""
    get_project(workspace_id, project_id)
    live = File.live()
    row = db.session.execute(
        select(
            func.count(File.id).filter(_is_image(), live),
            func.count(File.id).filter(_is_image(), File.status == "error", live),
            func.count(File.id).filter(not_(_is_image()), live),
            func.count(File.id).filter(not_(live)),
        ).where(File.project_id == project_id, File.workspace_id == workspace_id)
    ).one()
    return Counts(images=row[0], failed=row[1], files=row[2], trashed=row[3])


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
        emit("image.updated", workspace_id=workspace_id, subject_id=file_id, payload={"changed": changed})
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
