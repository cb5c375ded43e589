"""Files: bytes a workspace uploaded, sniffed, stored and announced with `file.ready`."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta

import filetype
from flask import current_app
from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, select, text
from sqlalchemy import delete as sql_delete
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, mapped_column, validates

from app.adapters.storage import StorageError
from app.domain import photo_facts, removals, services
from app.domain.accounts import get_project
from app.domain.common import UTCDateTime, new_id, utcnow
from app.domain.errors import DomainError, NotFound
from app.domain.events import emit, handles
from app.domain.pictures import HEADER_BYTES, PictureError, decoded_format, media_type, refuse_early
from app.event_types import EventType
from app.extensions import db

log = logging.getLogger(__name__)

SNIFF_BYTES = 8192
MAX_NAME_LENGTH = 255


def _upload_time(context) -> datetime:
    """A new file's taken_at until an image says otherwise: its created_at (set by then, or now)."""
    return context.get_current_parameters().get("created_at") or utcnow()


class File(db.Model):
    __tablename__ = "file"
    __table_args__ = (
        Index("ix_file_workspace_id_id", "workspace_id", "id"),
        Index("ix_file_status_created_at", "status", "created_at"),
        Index("ix_file_workspace_id_lower_name_id", "workspace_id", text("lower(name)"), "id"),
        Index("ix_file_workspace_id_size_id", "workspace_id", "size", "id"),
        Index("ix_file_purge_after", "purge_after"),
        Index("ix_file_workspace_id_sha256", "workspace_id", "sha256"),  # exact duplicates and the hash-first check
        # The lists' sorts: keyset pagination per order with the id as tiebreak (app.domain.queries.SORTS).
        Index("ix_file_project_id_id", "project_id", "id"),
        Index("ix_file_project_id_size_id", "project_id", "size", "id"),
        Index("ix_file_workspace_id_taken_at_id", "workspace_id", "taken_at", "id"),
        Index("ix_file_project_id_taken_at_id", "project_id", "taken_at", "id"),
        Index("ix_file_project_id_lower_name_id", "project_id", text("lower(name)"), "id"),
        # The views by state ("Failed", processing): a page of a rare state is an index range, not a walk of the
        # project (the counts come from file_tally since 0015, so 0009's (project_id, mime_type, status) went).
        Index("ix_file_project_id_status_id", "project_id", "status", "id"),
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
    # When it was taken, for the sort `taken` (migration 0020): its image's taken_at (EXIF, else the upload time),
    # copied here by Image.extract_facts so a list of files walks one index; a file with no image: its upload time.
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_upload_time)
    # The trash (app.domain.trash): a deleted file keeps its row and bytes until purge_after; every read treats
    # it as gone. kept_image holds what people gave its image (alt text), handed back when it is restored.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    kept_image: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # The name in any case and without accents, for the search `q` (a trigram index on PostgreSQL, FTS5 on SQLite).
    name_folded: Mapped[str | None] = mapped_column(Text, nullable=True)

    @validates("name")
    def _fold_name(self, _key, name):
        self.name_folded = photo_facts.fold(name)
        return name

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")

    @classmethod
    def live(cls):
        """The one criterion every read and list of files adds: a file in the trash is gone."""
        return cls.deleted_at.is_(None)


class FileTally(db.Model):
    """How many files a project holds per (live or trashed, kind, status): kept by database triggers in the
    transaction of every insert, delete and change of `file` and `image` (migration 0015; per statement on PostgreSQL
    since 0019), so a count never scans."""

    __tablename__ = "file_tally"

    project_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    live: Mapped[bool] = mapped_column(primary_key=True)
    # image: it has an image row; picture: an image file without one (processing or failed); other: no image file
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


_RECOUNT = text(
    "INSERT INTO file_tally (project_id, live, kind, status, n) "
    "SELECT project_id, deleted_at IS NULL, CASE WHEN EXISTS (SELECT 1 FROM image WHERE image.file_id = file.id) "
    "THEN 'image' WHEN mime_type LIKE 'image/%' THEN 'picture' ELSE 'other' END AS kind, status, count(*) "
    "FROM file WHERE project_id = :project_id GROUP BY 1, 2, 3, 4"
)


def recount_tally(project_id: str) -> None:
    """Counts a project's tally rows again from its files: for a bulk load that went around the triggers (a
    restore, the benchmark's seeding); the caller commits."""
    db.session.execute(sql_delete(FileTally).where(FileTally.project_id == project_id))
    db.session.execute(_RECOUNT, {"project_id": project_id})


class UploadTooLarge(DomainError):
    status = 413


def image_refused(head: bytes) -> DomainError | None:
    """The refusal of an image whose header already says the product cannot take it (too many pixels), else None."""
    try:
        refuse_early(head)
    except PictureError as exc:
        return DomainError(exc.code, exc.message, status=422)
    return None


class UploadSpool:
    """A temporary file that hashes, counts and keeps the first bytes of an upload as it is written; once the first
    HEADER_BYTES have arrived an image the product would refuse is refused, before the rest is read."""

    checked = False

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
        if len(self.head) < HEADER_BYTES:
            self.head += data[: HEADER_BYTES - len(self.head)]
            if len(self.head) >= HEADER_BYTES:
                self.check_header()
        try:
            return self._file.write(data)
        except OSError as exc:
            raise spool_error(exc) from exc

    def check_header(self) -> None:
        """Refuses (and removes the spool) once, as soon as the header is here or the upload ended before it."""
        if self.checked:
            return
        self.checked = True
        refusal = image_refused(self.head)
        if refusal is not None:
            self.discard()
            raise refusal

    def store(self, storage, key: str) -> None:
        """Puts the spooled bytes in storage under `key`."""
        storage.put_file(key, self.path)

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


def sniff(head: bytes) -> str:
    """The media type the bytes themselves say they are; the client's claim is never asked. A file is an image when
    one of the product's decoders recognises its signature (pictures.DECODED_FORMATS), whatever `filetype` knows."""
    format_ = decoded_format(head)
    kind = filetype.guess(head) if head else None
    if format_ is not None:
        return kind.mime if kind is not None and kind.mime.startswith("image/") else media_type(format_)
    if kind is not None and not kind.mime.startswith("image/"):
        return kind.mime
    text = _as_text(head)
    if text is None:
        return "application/octet-stream"  # also an image type no decoder of the product reads (JPEG XR, XCF, ...)
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


# Control characters and the bidirectional controls (U+061C, U+200E/F, U+202A-E, U+2066-9), which make a name
# display other than it is: `gpj.\u202eevil.jpg` reads reversed after the override.
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")


# A control character in the percent form browsers and urllib3 send in a multipart `filename="…"` (the HTML
# standard writes CR, LF as %0D, %0A there): it becomes a space, never the literal text `%0D%0A`.
_ENCODED_CONTROL = re.compile(r"%(?:[01][0-9a-f]|7f)", re.IGNORECASE)


def safe_display_name(raw: str | None) -> str:
    """An uploaded file's name: the last part of the path a client may send, cleaned as `clean_name` cleans."""
    return clean_name((raw or "").replace("\\", "/").rsplit("/", 1)[-1])


def clean_name(raw: str | None) -> str:
    """A name for people to read, as typed (a "/" is a character, not a path): no control characters, bounded; it
    never becomes a storage key or a path."""
    name = unicodedata.normalize("NFC", raw or "")
    name = _UNSAFE_NAME.sub("", re.sub(r"[\t\n\r\f\v]", " ", name))
    name = _ENCODED_CONTROL.sub(" ", name)
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


def existing_copy(workspace_id: str, sha256: str) -> File | None:
    """The workspace's stored file with these bytes (the oldest when there are several), or None: what every upload
    path answers instead of storing the same bytes twice. Files in the trash and failed ones do not count."""
    return db.session.scalars(
        select(File)
        .where(File.workspace_id == workspace_id, File.sha256 == sha256, File.status == "ready", File.live())
        .order_by(File.id)
        .limit(1)
    ).first()


def known_upload(workspace_id: str, project_id: str, spool: UploadSpool) -> File | None:
    """The file these spooled bytes already are in the workspace, if any; when so the spool is discarded (nothing is
    stored). Checks the project first, so a bad project is refused as when storing."""
    get_project(workspace_id, project_id)
    found = existing_copy(workspace_id, spool.sha256) if spool.size else None
    if found is not None:
        spool.discard()
    return found


def store_upload(
    workspace_id: str,
    project_id: str,
    spool: UploadSpool,
    client_name: str | None,
    answer: Callable[[File], None] | None = None,
    file_id: str | None = None,
) -> File:
    """Moves spooled bytes into storage and records the file; `file.ready` commits with the ready row. `answer` runs
    inside that last transaction, so a caller builds (and may record) its whole answer before the commit and never
    needs the database after it: once committed, the upload is answered as stored. `file_id`: the id a spool stored
    its bytes under already (a resumable upload's parts)."""
    get_project(workspace_id, project_id)
    if spool.size == 0:
        raise DomainError("empty_file", "The file is empty.")
    spool.check_header()
    spool.flush()
    file = File(
        id=(file_id := file_id or new_id("fil")),
        workspace_id=workspace_id,
        project_id=project_id,
        name=safe_display_name(client_name),
        mime_type=sniff(spool.head[:SNIFF_BYTES]),
        size=spool.size,
        sha256=spool.sha256,
        storage_key=f"{workspace_id}/{file_id}",
        status="pending",
    )
    db.session.add(file)
    db.session.commit()
    try:
        spool.store(services.storage(), file.storage_key)
    except StorageError as exc:
        db.session.delete(file)
        db.session.commit()
        try:
            services.storage().delete(file.storage_key)
        except Exception:  # noqa: BLE001 - best effort; the sweeper and the failed row are gone either way
            log.warning("could not remove partial object %s", file.storage_key)
        if exc.full:
            raise DomainError("storage_full", "Storage is full; the file was not saved.", status=507) from exc
        raise DomainError("storage_unavailable", "Storage is unavailable; the file was not saved.", status=503) from exc
    file.status = "ready"
    emit(
        EventType.FILE_READY,
        workspace_id=workspace_id,
        subject_id=file.id,
        payload={"mimeType": file.mime_type, "size": file.size, "projectId": project_id},
    )
    if answer is not None:
        db.session.flush()
        answer(file)
    try:
        db.session.commit()
    except (OperationalError, IntegrityError):
        if _committed_after_all(file_id):
            return file  # the connection died after the commit: the file is stored, and so answered
        _undo_upload(file_id, file.storage_key)
        raise  # answered 503 by the app (nothing was changed); the client uploads again
    return file


def _committed_after_all(file_id: str) -> bool:
    """Whether a commit that raised had reached the database anyway (a connection killed after it, not before)."""
    db.session.rollback()
    try:
        status = db.session.scalar(select(File.status).where(File.id == file_id))
        db.session.rollback()
    except Exception:  # noqa: BLE001 - cannot tell: answer as not stored; an Idempotency-Key makes the retry safe
        db.session.rollback()
        return False
    return status == "ready"


def _undo_upload(file_id: str, storage_key: str) -> None:
    """The database failed after the bytes were stored: remove the pending row, then its bytes; or leave both to the
    sweeper. A row that is no longer pending keeps its bytes."""
    db.session.rollback()
    try:
        removed = db.session.execute(sql_delete(File).where(File.id == file_id, File.status == "pending")).rowcount
        db.session.commit()
        if removed:
            services.storage().delete(storage_key)
    except Exception:  # noqa: BLE001 - still busy: sweep_stale_uploads fails the row and removes bytes later
        db.session.rollback()
        log.warning("upload %s left pending after a database failure; the stale-upload sweep will clean it", file_id)


def get_file(workspace_id: str, file_id: str) -> File:
    file = db.session.get(File, file_id) if isinstance(file_id, str) and len(file_id) <= 32 else None
    if file is None or file.workspace_id != workspace_id or file.deleted_at is not None:
        raise NotFound("file_not_found", f"No file {file_id!r} in this workspace.")
    return file


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


def remove(file: File, event: str = EventType.FILE_DELETED) -> None:
    """Deletes a file row and everything that hangs off it, inside the caller's transaction (`file.purged` when it
    leaves the trash: it was announced as deleted when it went in)."""
    for hook in _delete_hooks:
        hook(file)
    emit(event, workspace_id=file.workspace_id, subject_id=file.id, payload={"storageKey": file.storage_key})
    # The bytes' removal is a row of this same transaction: it is retried from the database until done.
    removals.record(removals.STORED_OBJECT, subject_id=file.id, target=file.storage_key, workspace_id=file.workspace_id)
    db.session.delete(file)


@handles(EventType.FILE_DELETED)
@handles(EventType.FILE_PURGED)
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
            services.storage().delete(file.storage_key)
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
    with os.scandir(directory) as found:
        for entry in found:
            if not entry.name.startswith("upload-"):
                continue
            try:  # a spool listed a moment ago may be stored or discarded by now
                if entry.stat().st_mtime < cutoff.timestamp():
                    os.unlink(entry.path)
            except FileNotFoundError:
                continue
