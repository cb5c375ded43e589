"""Versions: an image's bytes replaced under the same file id. Cloudflare Images cannot change the bytes of an image
id, so each version is its own images-service copy (`<file id>` for the first, `<file id>.v<n>` after); the one that
serves changes in a single transaction once the next copy is ready, and the stable URL follows it."""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.adapters.cloudflare import ImageIdTaken, ImageNotFound, ImagesError, PermanentImagesError, TransientImagesError
from app.adapters.storage import StorageError
from app.domain import durable, files, images, removals, services
from app.domain.accounts import Workspace
from app.domain.common import UTCDateTime, utcnow
from app.domain.errors import DomainError, NotFound
from app.domain.events import emit, handles
from app.domain.files import File, UploadSpool, safe_display_name, sniff
from app.domain.images import Image
from app.domain.job_names import Job
from app.domain.pictures import Looks, PictureError
from app.event_types import EventType
from app.extensions import db

log = logging.getLogger(__name__)

PROVISION_JOB = Job.PROVISION_VERSION
# How long an old version's images-service copy stays (its versioned URLs keep working) unless the workspace says.
DEFAULT_COPY_DAYS = 7
MAX_COPY_DAYS = 365
# A queued replace whose job is not running after this long is enqueued again (running it twice is harmless).
REQUEUE_AFTER = timedelta(seconds=60)
STATES = ("pending", "current", "previous", "failed")


def _only(state: str):
    return {"sqlite_where": text(f"state = '{state}'"), "postgresql_where": text(f"state = '{state}'")}


class FileVersion(db.Model):
    """One version of a file's bytes; the image row mirrors the current one."""

    __tablename__ = "file_version"
    __table_args__ = (
        # Never two current versions, never two replaces under way: the database refuses the second.
        Index("ux_file_version_current", "file_id", unique=True, **_only("current")),
        Index("ux_file_version_pending", "file_id", unique=True, **_only("pending")),
        Index("ix_file_version_state_next_attempt_at", "state", "next_attempt_at"),
    )

    file_id: Mapped[str] = mapped_column(ForeignKey("file.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    workspace_id: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    storage_key: Mapped[str] = mapped_column(String(200))
    mime_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # The file's name once this version is current: the uploaded file's name when the caller asked for it.
    name: Mapped[str | None] = mapped_column(String(files.MAX_NAME_LENGTH), nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    format: Mapped[str | None] = mapped_column(String(16), nullable=True)
    cf_image_id: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    restored_from: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When it stopped being current, and until when its images-service copy (its versioned URLs) stays.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    copy_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The worker's retries (app.domain.durable), as for a first upload's provisioning.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    transient_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


RETRIED = durable.Retried(
    key=FileVersion.number,
    next_attempt_at=FileVersion.next_attempt_at,
    lease_until=FileVersion.lease_until,
    attempts=FileVersion.attempts,
)


def versioned_id(file_id: str, number: int) -> str:
    """The images-service id of a version: the file id for the first (as every upload had), `.v<n>` after."""
    return file_id if number == 1 else f"{file_id}.v{number}"


def copy_days(workspace_id: str) -> int:
    workspace = db.session.get(Workspace, workspace_id)
    return parse_copy_days(workspace.setting("version_copy_days") if workspace is not None else None)


def parse_copy_days(raw) -> int:
    """The workspace's `version_copy_days` as stored (JSON): a whole number kept within 0..MAX_COPY_DAYS; anything
    unreadable is the default, so a bad value never stops a replace."""
    if isinstance(raw, bool):
        return DEFAULT_COPY_DAYS
    try:
        days = int(str(raw).strip()) if isinstance(raw, (int, str)) else None
    except ValueError:
        days = None
    return DEFAULT_COPY_DAYS if days is None else max(0, min(MAX_COPY_DAYS, days))


def _first(file: File, image: Image) -> FileVersion:
    """The version every image had before its first replace, made from its rows."""
    return FileVersion(
        file_id=file.id,
        number=1,
        workspace_id=file.workspace_id,
        state="current",
        storage_key=file.storage_key,
        mime_type=file.mime_type,
        size=file.size,
        sha256=file.sha256,
        width=image.width,
        height=image.height,
        format=image.format,
        cf_image_id=image.cf_image_id,
        created_at=file.created_at,
        ready_at=image.created_at,
    )


def _rows(file_id: str) -> list[FileVersion]:
    return list(
        db.session.scalars(select(FileVersion).where(FileVersion.file_id == file_id).order_by(FileVersion.number))
    )


def _replaceable(workspace_id: str, file_id: str) -> tuple[File, Image]:
    file = files.get_file(workspace_id, file_id)
    image = db.session.get(Image, file.id) if file.is_image else None
    if image is None:
        if not file.is_image:
            raise DomainError("not_an_image", "Only an image's bytes can be replaced; this file is not one.", 409)
        raise DomainError(
            "image_not_ready", "The image is not ready yet: replace it once its first version is delivered.", 409
        )
    return file, image


def list_versions(workspace_id: str, file_id: str) -> list[FileVersion]:
    """Newest first; an image never replaced has its one version, read from its rows (nothing is written)."""
    file, image = _replaceable(workspace_id, file_id)
    rows = _rows(file.id)
    return list(reversed(rows)) if rows else [_first(file, image)]


def get_version(workspace_id: str, file_id: str, number: int) -> FileVersion:
    for version in list_versions(workspace_id, file_id):
        if version.number == number:
            return version
    raise NotFound("version_not_found", f"The file {file_id!r} has no version {number}.")


def replace(workspace_id: str, file_id: str, spool: UploadSpool, by: str, *, rename: str | None = None) -> FileVersion:
    """Stores new bytes as the next version and queues it; the current version serves until the new one is ready.
    `rename` is the uploaded file's name when the caller asked for it (else the file keeps its name)."""
    file, image = _replaceable(workspace_id, file_id)
    if spool.size == 0:
        raise DomainError("empty_file", "The file is empty.")
    mime_type = sniff(spool.head)
    if not mime_type.startswith("image/"):
        raise DomainError(
            "replacement_not_an_image",
            f"The new bytes are {mime_type}, not an image the product reads; an image is replaced by an image.",
            415,
        )
    spool.flush()
    number = _next_number(file, image)
    db.session.commit()  # the first version's row, written from the image's rows if this is the first replace
    key = f"{file.workspace_id}/{file.id}-v{number}-{secrets.token_hex(4)}"  # never a key another request writes
    try:
        services.storage().put_file(key, spool.path)
    except StorageError as exc:
        if exc.full:
            raise DomainError("storage_full", "Storage is full; the new version was not saved.", 507) from exc
        raise DomainError("storage_unavailable", "Storage is unavailable; the new version was not saved.", 503) from exc
    name = safe_display_name(rename) if rename is not None else None
    return _start(file, number, key, mime_type, spool.size, spool.sha256, by, name=name)


def restore(workspace_id: str, file_id: str, number: int, by: str) -> FileVersion:
    """An old version becomes current again as a new version (its stored bytes, a new images-service copy), so
    nothing in the history is lost."""
    file, image = _replaceable(workspace_id, file_id)
    old = get_version(workspace_id, file_id, number)
    if old.state == "current":
        raise DomainError("version_current", f"Version {number} is already the current one.", 409)
    if old.state in ("pending", "failed"):
        raise DomainError("version_not_restorable", f"Version {number} never became ready; it cannot be restored.", 409)
    return _start(
        file, _next_number(file, image), old.storage_key, old.mime_type, old.size, old.sha256, by, restored_from=number
    )


def _next_number(file: File, image: Image) -> int:
    if db.session.scalar(select(FileVersion.number).where(FileVersion.file_id == file.id).limit(1)) is None:
        db.session.add(_first(file, image))
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()  # a replace at the same moment wrote it first: the same row
    return int(db.session.scalar(select(func.max(FileVersion.number)).where(FileVersion.file_id == file.id))) + 1


def _start(file, number, key, mime_type, size, sha256, by, *, name=None, restored_from=None) -> FileVersion:
    now = utcnow()
    version = FileVersion(
        file_id=file.id,
        number=number,
        workspace_id=file.workspace_id,
        state="pending",
        storage_key=key,
        mime_type=mime_type,
        size=size,
        sha256=sha256,
        name=name,
        restored_from=restored_from,
        created_by=by,
        created_at=now,
        attempts=0,
        transient_failures=0,
        next_attempt_at=now,
        enqueued_at=now,
    )
    db.session.add(version)
    emit(
        EventType.IMAGE_REPLACE_REQUESTED,
        workspace_id=file.workspace_id,
        subject_id=file.id,
        payload={"version": number},
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if restored_from is None:
            _forget_bytes(key)
        raise DomainError(
            "replace_in_progress",
            "A new version of this image is still being processed; wait for it before replacing it again.",
            409,
        ) from None
    return version


def _forget_bytes(key: str) -> None:
    try:
        services.storage().delete(key)
    except Exception:  # noqa: BLE001 - best effort: the bytes of a refused replace belong to no row
        log.warning("could not remove the refused version's bytes %s", key)


@handles(EventType.IMAGE_REPLACE_REQUESTED)
def _enqueue_version(event) -> None:
    version = db.session.get(FileVersion, (event.subject_id, int(event.payload["version"])))
    if version is not None and version.state == "pending":
        _enqueue(version)


def _enqueue(version: FileVersion) -> None:
    timeout = int(current_app.config["PROVISION_LEASE_SECONDS"]) * 2
    services.queue().enqueue("images", PROVISION_JOB, version.file_id, version.number, timeout=timeout)
    version.enqueued_at = utcnow()


def reconcile() -> int:
    """Enqueues replaces due for a retry, whose job was lost, or whose worker died mid-way (its lease ran out)."""
    now = utcnow()
    due = and_(
        FileVersion.state == "pending",
        or_(
            and_(
                FileVersion.lease_until.is_(None),
                FileVersion.next_attempt_at <= now,
                or_(
                    FileVersion.enqueued_at.is_(None),
                    FileVersion.enqueued_at < FileVersion.next_attempt_at,
                    FileVersion.enqueued_at < now - REQUEUE_AFTER,
                ),
            ),
            and_(FileVersion.lease_until < now, FileVersion.enqueued_at < FileVersion.lease_until),
        ),
    )
    rows = list(db.session.scalars(select(FileVersion).where(due).limit(200)))
    for row in rows:
        _enqueue(row)
    db.session.commit()
    return len(rows)


def provision(file_id: str, number: int) -> str:
    """Makes the new version's images-service copy, then makes it current in one transaction; at most once whatever
    runs twice or dies, and the current version serves throughout."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["PROVISION_LEASE_SECONDS"])
    claimable = and_(
        FileVersion.file_id == file_id,
        FileVersion.state == "pending",
        FileVersion.next_attempt_at <= now,
        or_(FileVersion.lease_until.is_(None), FileVersion.lease_until < now),
    )
    if not RETRIED.claim(number, claimable, lease=lease, when_due=False):
        return "not-due"
    version = db.session.get(FileVersion, (file_id, number))
    file = db.session.get(File, file_id)
    image = db.session.get(Image, file_id)
    if file is None or file.deleted_at is not None or image is None:
        return _fail(version, "file_deleted", "The file was deleted before its new version was ready.")
    if (
        version.attempts - version.transient_failures
        > current_app.config["IMAGES_MAX_ATTEMPTS"] + images.CRASH_ALLOWANCE
    ):
        return _fail(version, "processing_failed", "Processing the new version kept stopping before it finished.")
    try:
        return _make_current(version, file, image)
    except TransientImagesError as exc:
        return _retry_later(version, exc)
    except PictureError as exc:
        return _fail(version, exc.code, exc.message)
    except ImagesError as exc:
        return _fail(version, "image_rejected", exc.message)


def _make_current(version: FileVersion, file: File, image: Image) -> str:
    source = SimpleNamespace(
        id=file.id, workspace_id=file.workspace_id, storage_key=version.storage_key, mime_type=version.mime_type,
        size=version.size,
    )  # fmt: skip
    header, master = images.examine(source)
    sent_key = master.key if master else version.storage_key
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending_placeholder = pool.submit(images.placeholder_of, services.storage(), sent_key, file.id, header.format)
        try:
            copy = _ensure_copy(version, sent_key, private=image.require_signed_urls)
        except PermanentImagesError:
            pending_placeholder.result()
            raise
        looks = pending_placeholder.result()
    return _promote(version, header, master, copy, looks)


def _ensure_copy(version: FileVersion, sent_key: str, *, private: bool) -> dict:
    """The version's own images-service copy: the one an earlier attempt made, or a new one; never a second."""
    client = services.images()
    if version.cf_image_id:
        try:
            return client.get(version.cf_image_id)
        except ImageNotFound:
            version.cf_image_id = None
    url = services.storage().signed_url(sent_key, current_app.config["SIGNED_URL_TTL"])
    file_id, number = version.file_id, version.number
    metadata = {"fileId": file_id, "workspaceId": version.workspace_id, "version": number}
    if private:
        # No custom ids for private images: an earlier attempt's copy is found by creator and version instead.
        found = client.list(creator=file_id).get("images") or [] if version.attempts > 1 else []
        mine = [one for one in found if (one.get("meta") or one.get("metadata") or {}).get("version") == number]
        copy = mine[0] if mine else client.upload_url(url, metadata=metadata, require_signed_urls=True, creator=file_id)
    else:
        try:
            copy = client.upload_url(url, image_id=versioned_id(file_id, number), metadata=metadata, creator=file_id)
        except ImageIdTaken:
            copy = client.get(versioned_id(file_id, number))  # an earlier attempt stored it and its answer was lost
    version.cf_image_id = copy["id"]
    db.session.commit()  # recorded before anything else can fail, so a retry finds it
    return copy


def _promote(version, header, master, copy, looks: Looks) -> str:
    """One transaction: the old version retires, the new one is current, the image and file rows describe it, its
    old copy's removal is scheduled and `image.replaced` is written; a crash before the commit changes nothing."""
    now = utcnow()
    file = db.session.get(File, version.file_id)
    image = db.session.get(Image, version.file_id)
    if file is None or image is None or file.deleted_at is not None:
        return _fail(version, "file_deleted", "The file was deleted before its new version was ready.")
    old = db.session.scalar(select(FileVersion).where(FileVersion.file_id == file.id, FileVersion.state == "current"))
    # Conditional updates: of two workers that both got this far (a lease ran out), one promotes and one stops.
    old_retired = db.session.execute(
        update(FileVersion)
        .where(FileVersion.file_id == file.id, FileVersion.number == old.number, FileVersion.state == "current")
        .values(state="previous", retired_at=now)
    ).rowcount
    made_current = db.session.execute(
        update(FileVersion)
        .where(FileVersion.file_id == file.id, FileVersion.number == version.number, FileVersion.state == "pending")
        .values(state="current", ready_at=now, lease_until=None, last_error=None)
    ).rowcount  # the old one stopped being current first: the unique index allows one at a time
    if not (old_retired and made_current):
        db.session.rollback()
        return "exists"
    db.session.refresh(old)
    db.session.refresh(version)
    width, height = (master.width, master.height) if master else (header.width, header.height)
    version.width, version.height, version.format = width, height, header.format.lower()
    file.storage_key, file.mime_type, file.size, file.sha256 = (
        version.storage_key, version.mime_type, version.size, version.sha256,
    )  # fmt: skip
    file.name = version.name or file.name
    image.cf_image_id, image.width, image.height, image.size = copy["id"], width, height, version.size
    image.format, image.exif, image.placeholder, image.dominant_color = (
        header.format.lower(), header.exif, looks.blurhash, looks.dominant_color,
    )  # fmt: skip
    image.source, image.version = ("master" if master else "original"), version.number
    image.original_width, image.original_height = header.width, header.height
    image.master_size = master and master.size
    image.master_width, image.master_height = master and master.width, master and master.height
    image.master_format = master and master.format
    image.set_phash(looks.phash)  # similar images and duplicates follow the new pixels
    image.extract_facts(file)  # camera, lens, taken, orientation, colour: the new bytes' facts filter now
    _schedule_copy_removal(old, now)
    emit(
        EventType.IMAGE_REPLACED,
        workspace_id=file.workspace_id,
        subject_id=file.id,
        payload={
            "previousVersion": {"number": old.number, "cfImageId": old.cf_image_id},
            "version": {"number": version.number, "cfImageId": version.cf_image_id},
        },
    )
    db.session.commit()
    return "replaced"


def _schedule_copy_removal(old: FileVersion, now: datetime) -> None:
    """The retired version's copy goes after the workspace's `version_copy_days` (its versioned URLs work until
    then), as a removal row retried from the database; its stored original and master stay with the file."""
    if not old.cf_image_id:
        return
    old.copy_until = now + timedelta(days=copy_days(old.workspace_id))
    row = removals.record(
        removals.IMAGES_COPY,
        subject_id=old.file_id,
        target=old.file_id,
        workspace_id=old.workspace_id,
        payload={"cfImageIds": [old.cf_image_id], "only": True, "version": old.number},
    )
    row.next_attempt_at = old.copy_until


def _retry_later(version: FileVersion, exc: TransientImagesError) -> str:
    """The images service is away: retried with backoff until the deadline; the current version serves meanwhile."""
    now = utcnow()
    version.deadline = version.deadline or durable.deadline(now, current_app.config["PROVISION_DEADLINE_SECONDS"])
    if now >= version.deadline:
        hours = current_app.config["PROVISION_DEADLINE_SECONDS"] / 3600
        return _fail(
            version,
            "images_unavailable",
            f"The images service could not take the new version for {hours:g} hours; the last answer was: "
            f"{exc.message} The current version still serves; replace it again when the service is back.",
        )
    version.transient_failures += 1
    RETRIED.release(
        version, next_attempt_at=durable.next_attempt(version.transient_failures, exc.retry_after), error=exc.message
    )
    db.session.commit()
    return "retry"


def _fail(version: FileVersion, code: str, message: str) -> str:
    """The replace is given up with a reason; the current version keeps serving."""
    version.state, version.lease_until = "failed", None
    version.error_code, version.error_message, version.last_error = code, message, message
    emit(
        EventType.IMAGE_REPLACE_FAILED,
        workspace_id=version.workspace_id,
        subject_id=version.file_id,
        payload={"version": version.number, "code": code, "message": message},
    )
    cf_image_id = version.cf_image_id
    db.session.commit()
    if cf_image_id:
        images.delete_copy_quietly(cf_image_id, version.file_id, version.workspace_id)
    return "failed"


@handles(EventType.IMAGE_CREATED)
def _follow_remade_image(event) -> None:
    """A file back from the trash has its image made again, from the current version's bytes under the file id: the
    image says which version it shows, and that version which copy delivers it now."""
    image = db.session.get(Image, event.subject_id)
    current = db.session.scalar(
        select(FileVersion).where(FileVersion.file_id == event.subject_id, FileVersion.state == "current")
    )
    if image is None or current is None:
        return
    image.version = current.number
    current.cf_image_id = image.cf_image_id


@handles(EventType.IMAGE_DELETED)
def _copies_gone(event) -> None:
    """A delete (into the trash or for good) removes every copy of the file, the replaced versions' too."""
    db.session.execute(
        update(FileVersion)
        .where(FileVersion.file_id == event.subject_id, FileVersion.state == "previous")
        .where(or_(FileVersion.copy_until.is_(None), FileVersion.copy_until > event.created_at))
        .values(copy_until=event.created_at)
    )


def copy_kept(version: FileVersion, now: datetime | None = None) -> bool:
    """Whether the version's images-service copy is there, so its versioned URL delivers."""
    if version.state == "current":
        return True
    return version.state == "previous" and version.copy_until is not None and version.copy_until > (now or utcnow())


@files.on_delete
def _purge_with_file(file: File) -> None:
    """Every older version's original and master go with the file (as removal rows), and so do the rows."""
    keys = set(db.session.scalars(select(FileVersion.storage_key).where(FileVersion.file_id == file.id)))
    for key in sorted(keys - {file.storage_key}):
        removals.record(removals.STORED_OBJECT, subject_id=file.id, target=key, workspace_id=file.workspace_id)
    db.session.execute(
        delete(FileVersion).where(FileVersion.file_id == file.id), execution_options={"synchronize_session": False}
    )
