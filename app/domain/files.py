"""Files: bytes a workspace uploaded, sniffed, stored and announced with `file.ready`."""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import json
import logging
import os
import re
import tempfile
import unicodedata
from datetime import datetime, timedelta

import filetype
from flask import current_app
from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, select, text
from sqlalchemy import delete as sql_delete
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, mapped_column

from app.adapters.storage import StorageError
from app.domain import removals
from app.domain.accounts import DomainError, NotFound, get_project
from app.domain.common import UTCDateTime, new_id, utcnow
from app.domain.events import emit, handles
from app.extensions import db

log = logging.getLogger(__name__)

SNIFF_BYTES = 8192
MAX_NAME_LENGTH = 255
PURGE_JOB = "app.jobs.files.purge_file_bytes"


class File(db.Model):
    __tablename__ = "file"
    __table_args__ = (
        Index("ix_file_workspace_id_id", "workspace_id", "id"),
        Index("ix_file_status_created_at", "status", "created_at"),
        Index("ix_file_workspace_id_name_id", "workspace_id", "name", "id"),
        Index("ix_file_workspace_id_size_id", "workspace_id", "size", "id"),
        Index("ix_file_purge_after", "purge_after"),
        # The gallery's sorts: keyset pagination per order with the id as tiebreak (app.domain.gallery.SORTS).
        Index("ix_file_project_id_id", "project_id", "id"),
        Index("ix_file_project_id_size_id", "project_id", "size", "id"),
        Index("ix_file_project_id_lower_name_id", "project_id", text("lower(name)"), "id"),
        Index("ix_file_project_id_mime_type_status", "project_id", "mime_type", "status"),  # the gallery's counts
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    mime_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The trash (app.domain.trash): a deleted file keeps its row and bytes until purge_after; every read treats
    # it as gone. kept_image holds what people gave its image (alt text), handed back when it is restored.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    kept_image: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")

    @classmethod
    def live(cls):
        """The one criterion every read and list of files adds: a file in the trash is gone."""
        return cls.deleted_at.is_(None)


class UploadTooLarge(DomainError):
    status = 413


class UploadSpool:
    """A temporary file that hashes, counts and keeps the first bytes of an upload as it is written."""

    def __init__(self, directory: str, limit: int):
        try:
            os.makedirs(directory, exist_ok=True)
            self._file = tempfile.NamedTemporaryFile(dir=directory, prefix="upload-", suffix=".part", delete=False)
        except OSError as exc:
            raise spool_error(exc) from exc
        self.path = self._file.name
        self.limit = limit
        self.size = 0
        self.head = b""
        self._hash = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise UploadTooLarge(
                "file_too_large",
                f"The file is larger than the limit of {self.limit:,} bytes.",
                limit="file_size",
                value=self.limit,
            )
        self._hash.update(data)
        if len(self.head) < SNIFF_BYTES:
            self.head += data[: SNIFF_BYTES - len(self.head)]
        try:
            return self._file.write(data)
        except OSError as exc:
            raise spool_error(exc) from exc

    def flush(self) -> None:
        try:
            self._file.flush()
        except OSError as exc:
            raise spool_error(exc) from exc

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def close(self) -> None:
        self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def discard(self) -> None:
        try:
            self._file.close()
        except OSError:
            pass  # the buffered tail could not be written (disk full): the file is closed all the same
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def spool_error(exc: OSError) -> DomainError:
    """The upload folder cannot take the bytes: a full disk is 507, anything else 503; nothing is recorded."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DomainError("storage_full", "Storage is full; the file was not saved.", status=507)
    return DomainError("storage_unavailable", "Storage is unavailable; the file was not saved.", status=503)


_JXL_SIGNATURES = (b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")


def sniff(head: bytes) -> str:
    """The media type the bytes themselves say they are; the client's claim is never asked."""
    if head.startswith(_JXL_SIGNATURES):
        return "image/jxl"  # filetype knows neither form of JPEG XL; it becomes an image through a master
    kind = filetype.guess(head) if head else None
    if kind is not None:
        return kind.mime
    text = _as_text(head)
    if text is None:
        return "application/octet-stream"
    if re.search(r"<svg[\s>]", text[:4096], re.IGNORECASE) and re.match(r"\s*(<\?xml|<!--|<!doctype|<svg)", text, re.I):
        return "image/svg+xml"
    return "text/plain"


def _as_text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sniffed prefix may cut a multi-byte character in two.
        if exc.start >= len(head) - 3:
            return head[: exc.start].decode("utf-8")
        return None


# Control characters, path separators and the bidirectional controls (U+061C, U+200E/F, U+202A-E, U+2066-9), which
# make a name display other than it is: `gpj.\u202eevil.jpg` reads reversed after the override.
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f/\\\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")


def safe_display_name(raw: str | None) -> str:
    """A name for people to read: no path, no control characters, bounded; it never becomes a storage key."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("", re.sub(r"[\t\n\r\f\v]", " ", name))
    name = re.sub(r"\s+", " ", name).strip(" .")
    if not name:
        return "untitled"
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: MAX_NAME_LENGTH - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_NAME_LENGTH]
    return name


def storage():
    return current_app.extensions["storage"]


def store_upload(workspace_id: str, project_id: str, spool: UploadSpool, client_name: str | None) -> File:
    """Moves spooled bytes into storage and records the file; `file.ready` commits with the ready row."""
    get_project(workspace_id, project_id)
    if spool.size == 0:
        raise DomainError("empty_file", "The file is empty.")
    spool.flush()
    file_id = new_id("fil")
    file = File(
        id=file_id,
        workspace_id=workspace_id,
        project_id=project_id,
        name=safe_display_name(client_name),
        mime_type=sniff(spool.head),
        size=spool.size,
        sha256=spool.sha256,
        storage_key=f"{workspace_id}/{file_id}",
        status="pending",
    )
    db.session.add(file)
    db.session.commit()
    try:
        storage().put_file(file.storage_key, spool.path)
    except StorageError as exc:
        db.session.delete(file)
        db.session.commit()
        try:
            storage().delete(file.storage_key)
        except Exception:  # noqa: BLE001 - best effort; the sweeper and the failed row are gone either way
            log.warning("could not remove partial object %s", file.storage_key)
        if exc.full:
            raise DomainError("storage_full", "Storage is full; the file was not saved.", status=507) from exc
        raise DomainError("storage_unavailable", "Storage is unavailable; the file was not saved.", status=503) from exc
    file.status = "ready"
    emit(
        "file.ready",
        workspace_id=workspace_id,
        subject_id=file.id,
        payload={"mimeType": file.mime_type, "size": file.size, "projectId": project_id},
    )
    try:
        db.session.commit()
    except OperationalError:
        _undo_upload(file_id, file.storage_key)
        raise  # answered 503 by the app; the client uploads again
    return file


def _undo_upload(file_id: str, storage_key: str) -> None:
    """The database failed after the bytes were stored: remove both, or leave the pending row to the sweeper."""
    db.session.rollback()
    try:
        storage().delete(storage_key)
        db.session.execute(sql_delete(File).where(File.id == file_id, File.status == "pending"))
        db.session.commit()
    except Exception:  # noqa: BLE001 - still busy: sweep_stale_uploads fails the row and removes bytes later
        db.session.rollback()
        log.warning("upload %s left pending after a database failure; the stale-upload sweep will clean it", file_id)


def get_file(workspace_id: str, file_id: str) -> File:
    file = db.session.get(File, file_id) if isinstance(file_id, str) and len(file_id) <= 32 else None
    if file is None or file.workspace_id != workspace_id or file.deleted_at is not None:
        raise NotFound("file_not_found", f"No file {file_id!r} in this workspace.")
    return file


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = data["after"]
        if not isinstance(after, str) or len(after) > 32 or "\x00" in after:
            raise ValueError
        return after
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise DomainError("invalid_cursor", "The cursor is not one this API gave out.", parameter="cursor") from None


def parse_limit(raw, default: int = 50, maximum: int = 100) -> int:
    if raw is None or raw == "":
        return default
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        limit = 0
    if not 1 <= limit <= maximum:
        raise DomainError("invalid_limit", f"limit must be a whole number from 1 to {maximum}.", parameter="limit")
    return limit


_delete_hooks: list = []


def on_delete(hook):
    """Registers `hook(file)`, run in the deleting transaction, so rows that hang off a file go with it."""
    _delete_hooks.append(hook)
    return hook


def delete_file(workspace_id: str, file_id: str) -> None:
    """The row goes at once; the stored bytes go in a job that retries (`file.deleted`)."""
    file = get_file(workspace_id, file_id)
    remove(file)
    db.session.commit()


def remove(file: File, event: str = "file.deleted") -> None:
    """Deletes a file row and everything that hangs off it, inside the caller's transaction (`file.purged` when it
    leaves the trash: it was announced as deleted when it went in)."""
    for hook in _delete_hooks:
        hook(file)
    emit(event, workspace_id=file.workspace_id, subject_id=file.id, payload={"storageKey": file.storage_key})
    # The bytes' removal is a row of this same transaction: it is retried from the database until done.
    removals.record(removals.STORED_OBJECT, subject_id=file.id, target=file.storage_key, workspace_id=file.workspace_id)
    db.session.delete(file)


@handles("file.deleted")
@handles("file.purged")
def _purge_deleted_bytes(event) -> None:
    removals.enqueue_for(event.subject_id, removals.STORED_OBJECT)


def sweep_stale_uploads(older_than: timedelta | None = None) -> int:
    """Fails uploads left `pending` by a process that died mid-way, and removes their partial bytes."""
    older_than = older_than or timedelta(seconds=current_app.config["STALE_UPLOAD_SECONDS"])
    cutoff = utcnow() - older_than
    stale = list(
        db.session.scalars(
            select(File).where(File.status == "pending", File.live(), File.created_at < cutoff).limit(200)
        )
    )
    for file in stale:
        try:
            storage().delete(file.storage_key)
        except Exception:  # noqa: BLE001 - the next sweep tries again
            log.warning("could not remove stale bytes of %s", file.id)
            continue
        file.status = "error"
        file.error_code = "upload_interrupted"
        file.error_message = "The upload was interrupted before it finished. Please upload the file again."
    db.session.commit()
    _remove_stale_spools(cutoff)
    return len(stale)


def _remove_stale_spools(cutoff: datetime) -> None:
    directory = current_app.config["UPLOAD_TMP_DIR"]
    if not os.path.isdir(directory):
        return
    for entry in os.scandir(directory):
        if entry.name.startswith("upload-") and entry.stat().st_mtime < cutoff.timestamp():
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass
