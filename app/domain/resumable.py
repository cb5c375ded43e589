"""Resumable uploads (tus 1.0): an upload that arrives in pieces over many requests, survives a dropped connection
and, once whole, becomes a file through the same `files.store_upload` as a one-request upload.

The bytes are appended to a spool of their own in UPLOAD_TMP_DIR (`tus-<id>.part`, never in memory); the row keeps
how many have arrived, so any web process that sees the same folder can take the next piece. When the store takes
parts (S3/R2: `Storage.part_size()`), the spool only stages the next part: each time it holds a part's worth it is
sent as the next part of the file's multipart object and emptied, so at most one part (plus the piece arriving) waits
on disk, and the last piece joins the parts into the file's object.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import logging
import os
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from app.adapters.storage import StorageError
from app.domain import files, services, upload_urls
from app.domain.accounts import DomainError, NotFound, get_project
from app.domain.common import UTCDateTime, new_id, utcnow
from app.domain.pictures import HEADER_BYTES
from app.extensions import db

log = logging.getLogger(__name__)

READ_PIECE = 1024 * 1024
MAX_METADATA = 4096
CHECKSUM_ALGORITHMS = ("sha256",)


class ResumableUpload(db.Model):
    __tablename__ = "resumable_upload"
    __table_args__ = (Index("ix_resumable_upload_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    creator: Mapped[str] = mapped_column(String(64))  # token:<id> or user:<id>
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column("upload_offset", BigInteger, default=0)
    upload_metadata: Mapped[dict] = mapped_column(JSON, default=dict)
    storage: Mapped[str] = mapped_column(String(16), default="spool")  # "spool", or "parts" (a multipart object)
    spool_name: Mapped[str] = mapped_column(String(64))
    # "parts": the file id the object is made for, the store's multipart upload id, the parts' ETags in order and
    # how many bytes they hold (the spool holds the bytes after them).
    parts_file_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    multipart_id: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    part_etags: Mapped[list] = mapped_column(JSON, default=list)
    parts_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    file_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # once complete
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def spool_path(self) -> str:
        return os.path.join(current_app.config["UPLOAD_TMP_DIR"], self.spool_name)

    @property
    def parts_key(self) -> str:
        return f"{self.workspace_id}/{self.parts_file_id}"

    @property
    def filename(self) -> str | None:
        return self.upload_metadata.get("filename")


def ttl() -> timedelta:
    return timedelta(seconds=current_app.config["RESUMABLE_UPLOAD_SECONDS"])


def parse_metadata(header: str | None) -> dict[str, str]:
    """`Upload-Metadata`: comma-separated `key base64value` pairs (tus 1.0); malformed ones answer 400."""
    result: dict[str, str] = {}
    if not header:
        return result
    if len(header) > MAX_METADATA:
        raise DomainError("invalid_metadata", f"Upload-Metadata is longer than {MAX_METADATA} characters.")
    for pair in header.split(","):
        key, _, value = pair.strip().partition(" ")
        if not key or key in result:
            raise DomainError("invalid_metadata", "Upload-Metadata must hold distinct 'key base64value' pairs.")
        try:
            result[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value.strip() else ""
        except (binascii.Error, UnicodeDecodeError):
            raise DomainError("invalid_metadata", f"The Upload-Metadata value of {key!r} is not base64 text.") from None
    return result


def check_length(length: int, limit: int) -> None:
    """A declared size over the limit is refused before a byte is read."""
    if length > limit:
        raise files.UploadTooLarge(
            "file_too_large",
            f"The file is larger than the limit of {limit:,} bytes.",
            limit="file_size",
            value=limit,
        )
    if length <= 0:
        raise DomainError("empty_file", "The file is empty.")


UPLOAD_URL_CREATOR = "upload_url:"


def create(
    workspace_id: str, project_id: str | None, length: int, metadata: dict, creator: str, limit: int | None = None
) -> ResumableUpload:
    """Records a new upload and its empty spool; nothing is stored until its last byte has arrived. `creator` is
    `token:<id>`, `user:<id>` or `upload_url:<id>` (a one-time upload URL, whose own `limit` applies)."""
    check_length(length, limit or current_app.config["MAX_UPLOAD_BYTES"])
    if not project_id:
        raise DomainError(
            "project_id_missing",
            "Say which project the file belongs to with 'project_id' in Upload-Metadata.",
            parameter="project_id",
        )
    get_project(workspace_id, project_id)
    upload_id = new_id("tus")
    row = ResumableUpload(
        id=upload_id,
        workspace_id=workspace_id,
        project_id=project_id,
        creator=creator,
        length=length,
        offset=0,
        upload_metadata={key: metadata[key] for key in ("filename", "project_id") if key in metadata},
        spool_name=f"tus-{upload_id.lower()}.part",
        expires_at=utcnow() + ttl(),
    )
    try:
        os.makedirs(current_app.config["UPLOAD_TMP_DIR"], exist_ok=True)
        with open(row.spool_path, "xb"):
            pass
    except OSError as exc:
        raise files.spool_error(exc) from exc
    if services.storage().part_size():
        row.storage, row.parts_file_id, row.part_etags, row.parts_bytes = "parts", new_id("fil"), [], 0
        try:
            row.multipart_id = _stored(lambda: services.storage().start_parts(row.parts_key))
        except DomainError:
            os.unlink(row.spool_path)
            raise
    db.session.add(row)
    db.session.commit()
    return row


def get(workspace_id: str, upload_id: str) -> ResumableUpload:
    """Another workspace's upload answers like one that never was; an expired one answers 410 and is removed."""
    row = db.session.get(ResumableUpload, upload_id) if isinstance(upload_id, str) and len(upload_id) <= 32 else None
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("upload_not_found", f"No upload {upload_id!r} in this workspace.")
    if row.file_id is None and row.expires_at <= utcnow():
        discard(row)
        raise DomainError("upload_expired", "This upload expired before it was finished; start it again.", status=410)
    return row


def get_for_upload_url(upload_url, upload_id: str) -> ResumableUpload:
    """A resumable upload made through this one-time upload URL; any other answers like one that never was."""
    row = get(upload_url.workspace_id, upload_id)
    if row.creator != UPLOAD_URL_CREATOR + upload_url.id:
        raise NotFound("upload_not_found", f"No upload {upload_id!r} in this workspace.")
    return row


def workspace_of(upload_id) -> str | None:
    if not isinstance(upload_id, str) or not 0 < len(upload_id) <= 32 or "\x00" in upload_id:
        return None
    row = db.session.get(ResumableUpload, upload_id)
    return row.workspace_id if row else None


class Checksum:
    """`Upload-Checksum: sha256 <base64 digest>` for one PATCH; a mismatch answers 460 and the piece is dropped."""

    def __init__(self, header: str | None):
        self.expected = None
        self.hash = hashlib.sha256()
        if not header:
            return
        algorithm, _, digest = header.strip().partition(" ")
        if algorithm.lower() not in CHECKSUM_ALGORITHMS:
            raise DomainError(
                "checksum_algorithm_unsupported", "Upload-Checksum must use sha256.", parameter="Upload-Checksum"
            )
        try:
            self.expected = base64.b64decode(digest.strip(), validate=True)
        except binascii.Error:
            raise DomainError("invalid_checksum", "The Upload-Checksum digest is not base64.") from None

    def update(self, data: bytes) -> None:
        if self.expected is not None:
            self.hash.update(data)

    def check(self) -> None:
        if self.expected is not None and self.hash.digest() != self.expected:
            raise DomainError(
                "checksum_mismatch", "The piece's sha256 is not the Upload-Checksum sent; send it again.", status=460
            )


def append(row: ResumableUpload, offset: int, stream, checksum: Checksum) -> ResumableUpload:
    """Appends one PATCH body at `offset`; bytes received before a dropped connection are kept (when no checksum
    asks for the whole piece), so the client resends only what is missing. The last byte makes the file."""
    if row.file_id is not None or offset != row.offset:
        raise DomainError(
            "offset_mismatch", f"The upload is at offset {row.offset:,}, not {offset:,}.", status=409, offset=row.offset
        )
    path, start, length, upload_id = row.spool_path, row.offset, row.length, row.id
    staged = _Staged(upload_id, row.parts_bytes, services.storage().part_size() if row.storage == "parts" else None)
    db.session.commit()  # no transaction is held while the body trickles in
    try:
        handle = open(path, "r+b")
    except FileNotFoundError:
        discard(row)
        raise NotFound("upload_not_found", f"No upload {upload_id!r} in this workspace.") from None
    with handle:
        _lock(handle)
        received = _receive(handle, (start, length), stream, checksum, staged)
        row = db.session.get(ResumableUpload, upload_id)
        row.offset = start + received
        row.expires_at = utcnow() + ttl()
        db.session.commit()
        if row.offset == row.length:
            if staged.part_size and staged.size:
                staged.ship(handle)  # the last part (S3 takes a last part under its least size)
            return finish(db.session.get(ResumableUpload, upload_id))
    return row


def _lock(handle) -> None:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise DomainError(
            "upload_locked", "Another request is sending bytes of this upload; try again shortly.", status=423
        ) from None


class _Staged:
    """Where the spool's bytes start in the file (`base`: the bytes already sent as parts) and, for a store that takes
    parts, sending the spool as the next part once it holds `part_size` bytes."""

    def __init__(self, upload_id: str, base: int, part_size: int | None):
        self.upload_id, self.base, self.part_size, self.size = upload_id, base, part_size, 0

    def at(self, handle, offset: int) -> None:
        """The spool holds the bytes up to `offset` (never fewer than were sent as parts)."""
        handle.truncate(max(offset - self.base, 0))
        handle.seek(max(offset - self.base, 0))
        self.size = max(offset - self.base, 0)

    def full(self) -> bool:
        return self.part_size is not None and self.size >= self.part_size

    def ship(self, handle) -> None:
        """Sends the whole spool as the next part, records it (the offset is then exactly the parts' bytes) and
        empties the spool."""
        handle.flush()
        row = db.session.get(ResumableUpload, self.upload_id)
        number, size = len(row.part_etags) + 1, self.size
        key, multipart_id = row.parts_key, row.multipart_id
        etag = _stored(lambda: services.storage().put_part(key, multipart_id, number, handle.name, size))
        row.part_etags = [*row.part_etags, etag]
        row.parts_bytes = row.offset = self.base + size
        row.expires_at = utcnow() + ttl()
        db.session.commit()
        self.base += size
        self.at(handle, self.base)


def _stored(call):
    """A store's failure as the API's: 507 when it is full, 503 otherwise (the client sends the piece again)."""
    try:
        return call()
    except StorageError as exc:
        if exc.full:
            raise DomainError("storage_full", "Storage is full; the file was not saved.", status=507) from exc
        raise DomainError("storage_unavailable", "Storage is unavailable; the file was not saved.", status=503) from exc


def _receive(handle, span: tuple[int, int], stream, checksum: Checksum, staged: _Staged) -> int:
    """Copies the body into the spool at `start`; on a broken body, keeps what arrived unless a checksum forbids it.
    Without a checksum, a full spool goes as a part at once; with one, only once the whole piece matched."""
    start, length = span
    staged.at(handle, start)
    received = 0
    try:
        while True:
            piece = stream.read(min(READ_PIECE, length - start - received + 1))
            if not piece:
                break
            if start + received + len(piece) > length:
                raise files.UploadTooLarge("upload_length_exceeded", "The bytes sent go past the Upload-Length.")
            handle.write(piece)
            staged.size += len(piece)
            checksum.update(piece)
            if start + received < min(HEADER_BYTES, length) <= start + received + len(piece):
                _check_header(handle, staged)
            received += len(piece)
            if checksum.expected is None and staged.full():
                staged.ship(handle)
        checksum.check()
        if staged.full():
            staged.ship(handle)
    except DomainError:
        staged.at(handle, start)  # the parts already sent stay: the offset is theirs
        raise
    except Exception:
        if checksum.expected is not None:
            staged.at(handle, start)
            raise
        handle.flush()
        _keep(staged.upload_id, start + received)
        raise
    handle.flush()
    return received


def _check_header(handle, staged: _Staged) -> None:
    """Once the first HEADER_BYTES (or the whole file) are in, an image the product refuses ends the upload (they are
    still in the spool: a part is far larger)."""
    handle.flush()
    with open(handle.name, "rb") as reader:
        refusal = files.image_refused(reader.read(HEADER_BYTES))
    if refusal is not None:
        discard(db.session.get(ResumableUpload, staged.upload_id))
        raise refusal


def _keep(upload_id: str, offset: int) -> None:
    """What arrived before the connection broke counts: the client's HEAD will resume from here."""
    try:
        db.session.rollback()
        row = db.session.get(ResumableUpload, upload_id)
        if row is not None and row.file_id is None:
            row.offset = offset
            row.expires_at = utcnow() + ttl()
            db.session.commit()
    except Exception:  # noqa: BLE001 - the offset stays where it was: the client resends a little more
        db.session.rollback()
        log.warning("could not record the offset of upload %s", upload_id)


class _FinishedSpool:
    """The spool `files.store_upload` expects, made from a resumable upload's finished bytes (hashed once here): its
    spool file, or the object its parts made (read back from the store, a piece at a time)."""

    def __init__(self, path: str | None, key: str | None = None):
        self.path, self.key, self.checked = path, key, False
        digest = hashlib.sha256()
        self.size, self.head = 0, b""
        with open(path, "rb") if path else contextlib.closing(services.storage().open(key)) as reader:
            while piece := reader.read(READ_PIECE):
                if len(self.head) < HEADER_BYTES:
                    self.head += piece[: HEADER_BYTES - len(self.head)]
                digest.update(piece)
                self.size += len(piece)
        self.sha256 = digest.hexdigest()

    def check_header(self) -> None:
        if not self.checked:
            self.checked = True
            refusal = files.image_refused(self.head)
            if refusal is not None:
                raise refusal

    def store(self, storage, key: str) -> None:
        if self.path is not None:
            storage.put_file(key, self.path)  # the object made of parts is in place already

    def flush(self) -> None:
        pass


def finish(row: ResumableUpload) -> ResumableUpload:
    """The last byte is in: the upload becomes a file like any other (sniffed, stored, `file.ready`); its parts, if
    the store took them, are joined into the file's object first."""
    try:
        if row.storage == "parts":
            key, multipart_id, etags = row.parts_key, row.multipart_id, list(row.part_etags)
            _stored(lambda: services.storage().finish_parts(key, multipart_id, etags))
            spool = _FinishedSpool(None, key)
        else:
            spool = _FinishedSpool(row.spool_path)
        file = files.store_upload(row.workspace_id, row.project_id, spool, row.filename, file_id=row.parts_file_id)
    except DomainError:
        discard(row)
        raise
    with contextlib.suppress(FileNotFoundError):
        os.unlink(row.spool_path)  # emptied into parts, or moved into storage: nothing waits in it any more
    row = db.session.get(ResumableUpload, row.id)
    row.file_id = file.id
    if row.creator.startswith(UPLOAD_URL_CREATOR):
        upload_urls.record_file(row.creator.removeprefix(UPLOAD_URL_CREATOR), file.id)
    row.expires_at = utcnow() + ttl()  # the finished row answers HEAD until then, so a client learns it is done
    db.session.commit()
    return row


def discard(row: ResumableUpload | None) -> None:
    """Terminates an upload: its spool, its parts (or the object they made, unless it is a file now) and its row go."""
    if row is None:
        return
    try:
        os.unlink(row.spool_path)
    except FileNotFoundError:
        pass
    if row.storage == "parts" and row.file_id is None:
        _drop_parts(row.parts_key, row.multipart_id)
    db.session.delete(row)
    db.session.commit()


def _drop_parts(key: str, multipart_id: str | None) -> None:
    storage = services.storage()
    try:
        if multipart_id:
            storage.abort_parts(key, multipart_id)
        storage.delete(key)  # joined already (a refusal after the last part): the object goes too
    except Exception:  # noqa: BLE001 - the store cleans unfinished multipart uploads by its own lifecycle rules
        log.warning("could not drop the parts of %s", key)


def expired(limit: int = 200) -> list[ResumableUpload]:
    return list(
        db.session.scalars(
            select(ResumableUpload)
            .where(ResumableUpload.expires_at <= utcnow())
            .order_by(ResumableUpload.id)
            .limit(limit)
        )
    )


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(ResumableUpload)) or 0


def purge_expired() -> int:
    """The maintenance pass (and `doctor --fix`): unfinished uploads past their expiry lose their spool and row."""
    rows = expired()
    for row in rows:
        discard(row)
    return len(rows)
