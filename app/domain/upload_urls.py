"""One-time upload URLs: a server with a write token mints a URL that a browser uses, with no secret of its own, to
upload exactly one file within minutes and within the limits the server set (Cloudflare's direct creator upload)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, ForeignKey, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from app.domain import files
from app.domain.accounts import get_project
from app.domain.common import UTCDateTime, new_id, utcnow
from app.domain.errors import DomainError, NotFound
from app.domain.events import handles
from app.domain.files import File
from app.event_types import EventType
from app.extensions import db

DEFAULT_EXPIRES_IN = 300
MIN_EXPIRES_IN = 30
MAX_EXPIRES_IN = 3600
MAX_ALT_TEXT = 1000
# After the URL expires its owner may still read what became of the upload (GET) for this long.
STATUS_READABLE_FOR = timedelta(hours=1)


class UploadUrl(db.Model):
    """Only a hash of the secret is stored; `state` goes `open` -> `used` once, by one atomic UPDATE."""

    __tablename__ = "upload_url"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    secret_hash: Mapped[str] = mapped_column(String(64))
    max_bytes: Mapped[int] = mapped_column(BigInteger)
    alt_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    name: Mapped[str | None] = mapped_column(String(files.MAX_NAME_LENGTH), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | used
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    file_id: Mapped[str | None] = mapped_column(ForeignKey("file.id", ondelete="SET NULL"), nullable=True, index=True)


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    expires_in: int
    alt_text: str | None
    name: str | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _whole(value, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DomainError(f"invalid_{name}", f"{name} must be a whole number from {low} to {high}.", parameter=name)
    return value


def parse_limits(body: dict, server_max: int) -> Limits:
    """The caller's limits, checked against the server's: a URL can never accept more than a normal upload."""
    max_bytes = _whole(body.get("maxBytes"), "maxBytes", server_max, 1, server_max)
    expires_in = _whole(body.get("expiresIn"), "expiresIn", DEFAULT_EXPIRES_IN, MIN_EXPIRES_IN, MAX_EXPIRES_IN)
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise DomainError("invalid_metadata", "metadata must be an object with altText and name.", parameter="metadata")
    unknown = sorted(set(metadata) - {"altText", "name"})
    if unknown:
        raise DomainError(
            "invalid_metadata", f"metadata may hold altText and name, not {', '.join(unknown)}.", parameter="metadata"
        )
    alt_text, name = metadata.get("altText"), metadata.get("name")
    for field, value, limit in (("altText", alt_text, MAX_ALT_TEXT), ("name", name, files.MAX_NAME_LENGTH)):
        if value is not None and (not isinstance(value, str) or len(value) > limit or "\x00" in value):
            raise DomainError(
                "invalid_metadata",
                f"metadata.{field} must be text of at most {limit} characters.",
                parameter=f"metadata.{field}",
            )
    return Limits(
        max_bytes,
        expires_in,
        (alt_text or "").strip() or None,
        files.safe_display_name(name) if name and name.strip() else None,
    )


def create_upload_url(workspace_id: str, project_id, limits: Limits) -> tuple[UploadUrl, str]:
    """Returns the row and the secret; the secret is never stored and cannot be shown again."""
    if not isinstance(project_id, str) or not project_id:
        raise DomainError(
            "project_id_missing", "Say which project the file goes to with 'projectId'.", parameter="projectId"
        )
    get_project(workspace_id, project_id)
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    row = UploadUrl(
        id=new_id("upl"),
        workspace_id=workspace_id,
        project_id=project_id,
        secret_hash=_hash(secret),
        max_bytes=limits.max_bytes,
        alt_text=limits.alt_text,
        name=limits.name,
        state="open",
        created_at=now,
        expires_at=now + timedelta(seconds=limits.expires_in),
    )
    db.session.add(row)
    db.session.commit()
    return row, secret


def find(upload_id: str, secret: str) -> UploadUrl:
    """The URL's row, when the id and the secret match; anything else is the same 404."""
    row = db.session.get(UploadUrl, upload_id) if isinstance(upload_id, str) and len(upload_id) <= 32 else None
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret or "")):
        raise NotFound("upload_url_not_found", "No such upload URL.")
    return row


def check_usable(row: UploadUrl) -> None:
    """Refuses a used or expired URL before its bytes are read (its state is claimed again atomically later)."""
    if row.state != "open":
        raise DomainError("upload_url_used", "This upload URL was already used; ask for a new one.", status=409)
    if row.expires_at <= utcnow():
        raise DomainError("upload_url_expired", "This upload URL has expired; ask for a new one.", status=410)


def _claim(row: UploadUrl) -> None:
    """Exactly one request wins the URL, however many arrive at once: the UPDATE is the lock."""
    claimed = db.session.execute(
        update(UploadUrl)
        .where(UploadUrl.id == row.id, UploadUrl.state == "open", UploadUrl.expires_at > utcnow())
        .values(state="used", used_at=utcnow())
    ).rowcount
    db.session.commit()
    if not claimed:
        db.session.refresh(row)
        check_usable(row)
        raise DomainError("upload_url_used", "This upload URL was already used; ask for a new one.", status=409)


def claim_for_resumable(row: UploadUrl) -> None:
    """A resumable upload through the URL takes it at creation (it may outlive the URL's minutes); its file is
    recorded on the URL when the last piece arrives (record_file)."""
    _claim(row)


def record_file(upload_url_id: str, file_id: str) -> None:
    db.session.execute(update(UploadUrl).where(UploadUrl.id == upload_url_id).values(file_id=file_id))
    db.session.commit()


def use(row: UploadUrl, spool: files.UploadSpool, client_name: str | None, reuse: bool = True) -> tuple[File, bool]:
    """Stores the one file through the normal upload path, or, when the workspace has these bytes already, makes
    the URL answer that file (True: a duplicate, nothing stored); if storing fails the URL may be used again."""
    _claim(row)
    try:
        known = files.known_upload(row.workspace_id, row.project_id, spool) if reuse else None
        if known is not None:
            row.file_id = known.id
            db.session.commit()
            return known, True
        file = files.store_upload(row.workspace_id, row.project_id, spool, row.name or client_name)
    except Exception:
        db.session.rollback()
        db.session.execute(update(UploadUrl).where(UploadUrl.id == row.id).values(state="open", used_at=None))
        db.session.commit()
        raise
    row.file_id = file.id
    db.session.commit()
    return file, False


def readable(row: UploadUrl) -> None:
    if row.expires_at + STATUS_READABLE_FOR <= utcnow():
        raise DomainError(
            "upload_url_expired", "This upload URL has expired and its status is no longer kept.", status=410
        )


def uploaded(row: UploadUrl) -> tuple[File | None, object | None]:
    """The file the URL made and its image once provisioned (either may not exist yet, or any more)."""
    from app.domain.images import Image

    file = db.session.get(File, row.file_id) if row.file_id else None
    file = file if file is not None and file.deleted_at is None else None  # a file in the trash is gone
    image = db.session.get(Image, row.file_id) if file is not None else None
    return file, image


def purge_expired(limit: int = 500) -> int:
    """Forgets URLs whose status is no longer readable; the files they made are ordinary files and stay."""
    cutoff = utcnow() - STATUS_READABLE_FOR
    doomed = list(db.session.scalars(select(UploadUrl.id).where(UploadUrl.expires_at < cutoff).limit(limit)))
    if doomed:
        db.session.execute(delete(UploadUrl).where(UploadUrl.id.in_(doomed)))
    db.session.commit()
    return len(doomed)


@handles(EventType.IMAGE_CREATED)
def _apply_alt_text(event) -> None:
    """Alt text given when the URL was made lands on the image as soon as the image exists."""
    from app.domain.images import Image

    row = db.session.scalars(select(UploadUrl).where(UploadUrl.file_id == event.subject_id)).first()
    image = db.session.get(Image, event.subject_id)
    if row is not None and row.alt_text and image is not None and not image.alt_text:
        image.alt_text = row.alt_text
