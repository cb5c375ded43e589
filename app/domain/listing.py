"""Lists of files and images: sorting, filters, totals, and signed cursors bound to the query they came from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, func, or_, select, tuple_

from app.domain.accounts import DomainError, get_project
from app.domain.files import File
from app.domain.images import Image
from app.extensions import db

SORTS = ("-created", "created", "-name", "name", "-size", "size")
FILE_STATUSES = ("pending", "ready", "error")
MAX_Q = 255
_CURSOR_SALT = "aeontel.list-cursor.v1"


@dataclass(frozen=True)
class ListQuery:
    """What one list asks for; everything but `limit` and `cursor` is bound into the cursors it hands out."""

    kind: str  # "images" | "files"
    workspace_id: str
    project_id: str | None = None
    q: str | None = None
    sort: str = "-created"
    created_after: datetime | None = None
    created_before: datetime | None = None
    format: str | None = None  # images
    has_alt_text: bool | None = None  # images
    status: str | None = None  # files
    limit: int = 50
    cursor: str | None = field(default=None, compare=False)
    count: bool = False

    def fingerprint(self) -> str:
        bound = {key: value for key, value in asdict(self).items() if key not in ("limit", "cursor", "count")}
        text = json.dumps(bound, sort_keys=True, default=lambda value: value.isoformat())
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_CURSOR_SALT)


def sign_cursor(query: ListQuery, key, last_id: str) -> str:
    return _serializer().dumps({"q": query.fingerprint(), "k": key, "i": last_id})


def read_cursor(query: ListQuery) -> tuple[object, str] | None:
    """(sort key, id) of the last row of the previous page; a made-up, tampered or foreign cursor is refused."""
    if not query.cursor:
        return None
    refused = DomainError(
        "invalid_cursor",
        "The cursor is not one this API gave out for this query; start again without a cursor.",
        parameter="cursor",
    )
    try:
        data = _serializer().loads(query.cursor)
    except (BadSignature, ValueError, UnicodeDecodeError):
        raise refused from None
    if not isinstance(data, dict) or data.get("q") != query.fingerprint() or not isinstance(data.get("i"), str):
        raise refused
    return data.get("k"), data["i"]


def _sort_parts(sort: str):
    """The column a sort orders by before the id (None when the time-ordered id alone is the order)."""
    column = {"created": None, "name": File.name, "size": File.size}[sort.lstrip("-")]
    return column, sort.startswith("-")


def _keyset(sort: str, key, last_id: str, *ids):
    """Rows after (key, id) in the sort's order; `ids` are the id columns that must all carry the bound."""
    column, descending = _sort_parts(sort)
    beyond = (lambda a, b: a < b) if descending else (lambda a, b: a > b)
    id_bound = and_(*(beyond(id_column, last_id) for id_column in ids))
    if column is None:
        return id_bound
    if column is File.size and not isinstance(key, int) or column is File.name and not isinstance(key, str):
        raise DomainError(
            "invalid_cursor", "The cursor is not one this API gave out for this query.", parameter="cursor"
        )
    # A row value, so that the (workspace_id, name|size, id) index is entered at the cursor instead of scanned to it.
    return beyond(tuple_(column, File.id), tuple_(key, last_id))


def _order(sort: str, id_column):
    column, descending = _sort_parts(sort)
    columns = [id_column] if column is None else [column, File.id]  # the index's own order, so no sort step
    return [c.desc() if descending else c.asc() for c in columns]


def _common_filters(query, spec: ListQuery):
    query = query.where(File.live())  # a file in the trash is gone from every list
    if spec.project_id:
        get_project(spec.workspace_id, spec.project_id)
        query = query.where(File.project_id == spec.project_id)
    if spec.q:
        escaped = spec.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(File.name.ilike(f"%{escaped}%", escape="\\"))
    if spec.created_after:
        query = query.where(File.created_at > spec.created_after)
    if spec.created_before:
        query = query.where(File.created_at < spec.created_before)
    return query


def _total(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def _page(query, spec: ListQuery, id_columns, last_of):
    total = _total(query) if spec.count else None
    after = read_cursor(spec)
    if after is not None:
        query = query.where(_keyset(spec.sort, after[0], after[1], *id_columns))
    rows = list(db.session.execute(query.order_by(*_order(spec.sort, id_columns[0])).limit(spec.limit + 1)))
    next_cursor = None
    if len(rows) > spec.limit:
        key, last_id = last_of(rows[spec.limit - 1])
        next_cursor = sign_cursor(spec, key, last_id)
    return rows[: spec.limit], next_cursor, total


def _sort_key(spec: ListQuery, file: File):
    column, _ = _sort_parts(spec.sort)
    return None if column is None else file.name if column is File.name else file.size


def list_images(spec: ListQuery) -> tuple[list[tuple[Image, File]], str | None, int | None]:
    """(image, file) rows in the asked order, the next page's cursor, and the total when asked for."""
    # Both sides carry the workspace: a list sorted by name or size can then walk file's (workspace_id, name|size, id)
    # index in order and stop after a page, instead of sorting every image of the workspace.
    query = (
        select(Image, File)
        .join(File, File.id == Image.file_id)
        .where(Image.workspace_id == spec.workspace_id, File.workspace_id == spec.workspace_id)
    )
    query = _common_filters(query, spec)
    if spec.format:
        query = query.where(Image.format == spec.format)
    if spec.has_alt_text is True:
        query = query.where(Image.alt_text.is_not(None), Image.alt_text != "")
    elif spec.has_alt_text is False:
        # Still to describe: no alt text and not marked decorative (decorative images want none).
        query = query.where(or_(Image.alt_text.is_(None), Image.alt_text == ""), Image.decorative.is_(False))
    # Both sides of the join get the id bound: PostgreSQL does not carry it across a merge join by itself.
    rows, next_cursor, total = _page(
        query, spec, (Image.file_id, File.id), lambda row: (_sort_key(spec, row[1]), row[1].id)
    )
    return [tuple(row) for row in rows], next_cursor, total


def list_files(spec: ListQuery) -> tuple[list[File], str | None, int | None]:
    query = _common_filters(select(File).where(File.workspace_id == spec.workspace_id), spec)
    if spec.status:
        query = query.where(File.status == spec.status)
    rows, next_cursor, total = _page(query, spec, (File.id,), lambda row: (_sort_key(spec, row[0]), row[0].id))
    return [row[0] for row in rows], next_cursor, total
