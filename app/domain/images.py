"""Images: a file whose bytes are an image gets a copy in Cloudflare Images and a 1:1 row keyed by its file id."""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    delete,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, validates
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from app.adapters.cloudflare import (
    ImageIdTaken,
    ImageNotFound,
    ImagesError,
    PermanentImagesError,
    TransientImagesError,
)
from app.domain import durable, files, masters, photo_facts, removals, services
from app.domain.accounts import Workspace
from app.domain.common import UTCDateTime, chunks, utcnow
from app.domain.errors import NotFound
from app.domain.events import emit, emit_all, handles
from app.domain.files import File
from app.domain.images_account import NAMED_VARIANTS  # noqa: F401 - the API shows one URL per named variant
from app.domain.job_names import Job
from app.domain.pictures import (
    BAND_COUNT,
    Header,
    Looks,
    PictureError,
    PlaceholderTooCostly,
    bands,
    check_jpeg_length,
    check_limits,
    placeholder,
    read_header,
    to_signed,
)
from app.event_types import EventType
from app.extensions import db

log = logging.getLogger(__name__)

PROVISION_JOB = Job.PROVISION_IMAGE
MAX_IMAGE_BYTES = masters.MAX_BYTES
# A queued job still not started after this long is taken as lost and enqueued again (running it twice is harmless).
REQUEUE_AFTER = timedelta(seconds=60)
# Claims beyond IMAGES_MAX_ATTEMPTS allowed for jobs that died without a result (a deploy, an OOM kill) before a
# file is taken to be what kills them.
CRASH_ALLOWANCE = 5
NO_LOOKS = Looks(None, None, None)  # no placeholder, colour or hash: an SVG, or a decode that did not go
FACT_INDEXES = ("camera_make", "camera_model", "lens", "taken_at", "orientation", "colour", "format", "source")


class Image(db.Model):
    __tablename__ = "image"
    __table_args__ = (
        Index("ix_image_workspace_id_file_id", "workspace_id", "file_id"),
        # Near duplicates (app.domain.duplicates): one index per band of the perceptual hash, covering the hash and
        # the id, so a lookup reads four index ranges (index-only) and never the table.
        *(
            Index(f"ix_image_workspace_id_phash_band{i}", "workspace_id", f"phash_band{i}", "phash", "file_id")
            for i in range(BAND_COUNT)
        ),
        # The library's filters (app.domain.queries): a filtered page walks one of these in the id's order.
        *(Index(f"ix_image_workspace_id_{name}_file_id", "workspace_id", name, "file_id") for name in FACT_INDEXES),
    )

    file_id: Mapped[str] = mapped_column(ForeignKey("file.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    cf_image_id: Mapped[str] = mapped_column(String(1024))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(16))
    exif: Mapped[dict] = mapped_column(JSON, default=dict)
    placeholder: Mapped[str | None] = mapped_column(String(64), nullable=True)
    dominant_color: Mapped[str | None] = mapped_column(String(7), nullable=True)
    require_signed_urls: Mapped[bool] = mapped_column(Boolean, default=False)
    alt_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    decorative: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where crops keep their subject (0-1 from the top left); null is the centre.
    focal_x: Mapped[float | None] = mapped_column(Float, nullable=True)
    focal_y: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Per crop preset name, the stored rectangle {x, y, width, height} in displayed pixels (app/domain/crops.py).
    crops: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # The number of the version it shows (app.domain.versions): 1 until its bytes are first replaced.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What Images was sent: the original as uploaded, or a master derived from it (app.domain.masters).
    # width/height above are the image as Images has it; the original's own are kept beside them.
    source: Mapped[str] = mapped_column(String(8), default="original", server_default="original")
    original_width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    original_height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    master_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    master_width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    master_height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    master_format: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The perceptual hash (pictures.perceptual_hash, signed 64-bit) and its four 16-bit bands; null for an SVG, a
    # picture too costly to decode small, or one provisioned before hashes (the backfill fills those).
    phash: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    phash_band0: Mapped[int | None] = mapped_column(Integer, nullable=True)
    phash_band1: Mapped[int | None] = mapped_column(Integer, nullable=True)
    phash_band2: Mapped[int | None] = mapped_column(Integer, nullable=True)
    phash_band3: Mapped[int | None] = mapped_column(Integer, nullable=True)

    def set_phash(self, value: int | None) -> None:
        """Stores a perceptual hash (unsigned, as computed) with its bands; None clears them."""
        self.phash = None if value is None else to_signed(value)
        for i, band in enumerate(bands(value) if value is not None else (None,) * BAND_COUNT):
            setattr(self, f"phash_band{i}", band)

    # Facts the library filters on, extracted once at provisioning (photo_facts.facts) or by the backfill.
    camera_make: Mapped[str | None] = mapped_column(String(128), nullable=True)
    camera_model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lens: Mapped[str | None] = mapped_column(String(128), nullable=True)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    orientation: Mapped[str | None] = mapped_column(String(9), nullable=True)
    colour: Mapped[str | None] = mapped_column(String(8), nullable=True)
    alt_folded: Mapped[str | None] = mapped_column(Text, nullable=True)

    @validates("alt_text")
    def _fold_alt_text(self, _key, alt_text):
        self.alt_folded = photo_facts.fold(alt_text)
        return alt_text

    def extract_facts(self, file: File) -> None:
        """Sets the fact columns from the EXIF, the displayed size and the dominant colour, and the file's copy of
        the date taken (the sort `taken` walks the file's own index)."""
        found = photo_facts.facts(self.exif, self.width, self.height, self.dominant_color, file.created_at)
        for name, value in found.items():
            setattr(self, name, value)
        file.taken_at = self.taken_at


class FactsBackfill(db.Model):
    """The progress of the backfill of image facts (one row per run name): the last file id done, so a killed run
    continues where it stopped."""

    __tablename__ = "facts_backfill"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_file_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Provisioning(db.Model):
    """Where a file is on its way to becoming an image; the job's state lives here, never only in Redis."""

    __tablename__ = "image_provisioning"
    __table_args__ = (Index("ix_image_provisioning_state_next_attempt_at", "state", "next_attempt_at"),)

    file_id: Mapped[str] = mapped_column(ForeignKey("file.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    # queued | running | waiting (for the images service, retried from here) | done | failed
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cf_image_id: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Attempts the images service turned away for now (unreachable, timeout, 5xx, 429): they are not crashes.
    transient_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Past this, a transient failure fails the file; set at the first one, cleared by a retry.
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# Rows in these states still have work ahead of them.
IN_FLIGHT = ("queued", "running", "waiting")
RETRIED = durable.Retried(
    key=Provisioning.file_id,
    next_attempt_at=Provisioning.next_attempt_at,
    lease_until=Provisioning.lease_until,
    attempts=Provisioning.attempts,
)


@handles(EventType.FILE_READY)
def _request_provisioning(event) -> None:
    if not str(event.payload.get("mimeType", "")).startswith("image/"):
        return
    file = db.session.get(File, event.subject_id)
    if db.session.get(Provisioning, event.subject_id) is not None or file is None or file.deleted_at is not None:
        return  # already requested, or deleted (or put in the trash) before its event was dispatched
    now = utcnow()
    # enqueued_at is set now: the job is enqueued by the next handler, so the reconciler must not add a second.
    db.session.add(
        Provisioning(
            file_id=event.subject_id,
            workspace_id=event.workspace_id,
            state="queued",
            attempts=0,
            next_attempt_at=now,
            enqueued_at=now,
        )
    )
    emit(EventType.IMAGE_PROVISION_REQUESTED, workspace_id=event.workspace_id, subject_id=event.subject_id)


@handles(EventType.IMAGE_PROVISION_REQUESTED)
def _enqueue_provisioning(event) -> None:
    row = db.session.get(Provisioning, event.subject_id)
    if row is not None and row.state in IN_FLIGHT:
        _enqueue(row)


def _enqueue(row: Provisioning) -> None:
    services.queue().enqueue(
        "images", PROVISION_JOB, row.file_id, timeout=int(current_app.config["PROVISION_LEASE_SECONDS"]) * 2
    )
    row.enqueued_at = utcnow()


def provision_now(file_id: str) -> None:
    """A restored file whose provisioning waited for its old copy's removal to finish: that removal is done, so go."""
    row = db.session.get(Provisioning, file_id)
    if row is None or row.state != "queued" or row.next_attempt_at <= utcnow():
        return
    row.next_attempt_at = utcnow()
    services.queue().try_enqueue(
        "images", PROVISION_JOB, row.file_id, timeout=int(current_app.config["PROVISION_LEASE_SECONDS"]) * 2
    )
    row.enqueued_at = utcnow()
    db.session.commit()


def reconcile() -> int:
    """Enqueues provisioning that is due for a retry, whose job was lost, or whose worker died mid-way."""
    now = utcnow()
    due = or_(
        and_(
            Provisioning.state.in_(("queued", "waiting")),
            Provisioning.next_attempt_at <= now,
            or_(
                Provisioning.enqueued_at.is_(None),
                Provisioning.enqueued_at < Provisioning.next_attempt_at,
                Provisioning.enqueued_at < now - REQUEUE_AFTER,
            ),
        ),
        and_(
            Provisioning.state == "running",
            Provisioning.lease_until < now,
            or_(Provisioning.enqueued_at.is_(None), Provisioning.enqueued_at < Provisioning.lease_until),
        ),
    )
    rows = list(db.session.scalars(select(Provisioning).where(due).limit(200)))
    for row in rows:
        _enqueue(row)
    db.session.commit()
    return len(rows)


def provision(file_id: str) -> str:
    """Makes the Images copy and the image row for one file, at most once whatever runs twice or dies."""
    config = current_app.config
    now = utcnow()
    claimable = or_(
        and_(Provisioning.state.in_(("queued", "waiting")), Provisioning.next_attempt_at <= now),
        and_(Provisioning.state == "running", Provisioning.lease_until < now),
    )
    lease = timedelta(seconds=config["PROVISION_LEASE_SECONDS"])
    if not RETRIED.claim(file_id, claimable, lease=lease, values={"state": "running"}, when_due=False):
        return "not-due"
    row = db.session.get(Provisioning, file_id)
    file = db.session.get(File, file_id)
    if row is None or file is None:
        return "gone"
    if file.deleted_at is not None:
        db.session.delete(row)  # put in the trash while this was queued: nothing to make; a restore starts afresh
        db.session.commit()
        return "gone"
    if db.session.get(Image, file_id) is not None:
        row.state, row.lease_until = "done", None
        db.session.commit()
        return "exists"
    if row.attempts - (row.transient_failures or 0) > config["IMAGES_MAX_ATTEMPTS"] + CRASH_ALLOWANCE:
        # Attempts that ended without recording anything: the job died with its worker (killed, out of memory,
        # a crash in a decoder) each time. A file that keeps doing that is given up with a reason, never retried
        # for ever.
        return _fail(
            row,
            file,
            "processing_failed",
            f"Processing this image stopped {row.attempts - (row.transient_failures or 0) - 1} times without "
            "finishing; it was given up. "
            "Export the image again (as JPEG or PNG) and re-upload it.",
        )
    owner = (file.id, file.workspace_id)
    try:
        header = _inspect(file)
        master = _master(file, header)
        sent_key = master.key if master else file.storage_key
        # The placeholder decode runs while the images service fetches and checks its copy: two cores, one wait.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending_placeholder = pool.submit(_placeholder, services.storage(), sent_key, file.id, header.format)
            try:
                copy = _ensure_copy(row, file, sent_key)
            except PermanentImagesError:
                pending_placeholder.result()  # a damaged file is named as damaged, not by what the service said
                raise
            return _finish(row, file, header, copy, pending_placeholder.result(), master, owner)
    except TransientImagesError as exc:
        return _retry_later(row, file, exc)
    except PictureError as exc:
        return _fail(row, file, exc.code, exc.message)
    except ImagesError as exc:
        return _fail(row, file, "image_rejected", exc.message)


def examine(source) -> tuple[Header, masters.Master | None]:
    """Reads the header of the bytes under `source.storage_key` (a file, or a new version of one) and makes the master
    they need, as provisioning does; raises PictureError for bytes the product cannot take."""
    header = _inspect(source)
    return header, _master(source, header)


def placeholder_of(storage, storage_key: str, file_id: str, image_format: str) -> Looks:
    """The blurhash, dominant colour and perceptual hash of the bytes sent (thread-safe: it takes what it needs as arguments)."""
    return _placeholder(storage, storage_key, file_id, image_format)


def delete_copy_quietly(cf_image_id: str, file_id: str, workspace_id: str | None) -> None:
    """Takes back a copy the file does not keep; if the service is away, a removal row retries it."""
    _delete_copy_quietly(cf_image_id, file_id, workspace_id)


def _workspace_flag(workspace_id: str, name: str) -> bool:
    workspace = db.session.get(Workspace, workspace_id)
    return bool(workspace and workspace.setting(name, False))


def _inspect(file: File) -> Header:
    if file.mime_type == "image/svg+xml":
        if file.size > MAX_IMAGE_BYTES:
            raise PictureError(
                "image_too_large",
                f"The SVG is {file.size / 1_000_000:.1f} MB; the limit is {MAX_IMAGE_BYTES // (1024 * 1024)} MB.",
            )
        return _svg_header(file)
    with _open(file) as stream:
        header = read_header(stream, keep_gps=_workspace_flag(file.workspace_id, "keep_gps"))
        if header.format in ("JPEG", "MPO"):
            check_jpeg_length(stream, header.stored_width, header.stored_height)
        return header


def _master(file: File, header: Header) -> masters.Master | None:
    """A master when the original cannot go to Images as it is; None sends the original."""
    if header.format == "SVG":
        return None
    with _open(file) as stream:
        frames, mode = masters.inspect(stream)
        why = masters.reason(header.format, file.size, header.width, header.height, frames, mode)
        if why is None:
            return None
        log.info("making a master of %s: %s", file.id, why)
        return masters.build(services.storage(), file.storage_key, stream, current_app.config.get("UPLOAD_TMP_DIR"))


def _open(file: File):
    return _open_from(services.storage(), file.storage_key)


def _open_from(storage, storage_key: str):
    return storage.open_seekable(storage_key)  # a local file reads only its header; S3 bytes (at most 10 MB) are read


_SVG_LENGTH = re.compile(r'\b(width|height)\s*=\s*["\']\s*([0-9.]+)\s*(px)?\s*["\']')
_SVG_VIEWBOX = re.compile(r'\bviewBox\s*=\s*["\']\s*[-0-9.]+[\s,]+[-0-9.]+[\s,]+([0-9.]+)[\s,]+([0-9.]+)\s*["\']')


def _svg_header(file: File) -> Header:
    with _open(file) as stream:
        head = stream.read(16384).decode("utf-8", "replace")
    root = head[head.lower().find("<svg") :]
    root = root[: root.find(">") + 1]
    sizes = {name: float(value) for name, value, _ in _SVG_LENGTH.findall(root)}
    box = _SVG_VIEWBOX.search(root)
    width = sizes.get("width") or (float(box.group(1)) if box else 0)
    height = sizes.get("height") or (float(box.group(2)) if box else 0)
    width, height = round(width), round(height)
    if width <= 0 or height <= 0:
        raise PictureError(
            "svg_without_size",
            "The SVG states no width and height (nor a viewBox), so it has no "
            "size to show it at; add width and height and upload it again.",
        )
    check_limits(width, height)
    return Header(format="SVG", width=width, height=height, stored_width=width, stored_height=height)


def _ensure_copy(row: Provisioning, file: File, sent_key: str) -> dict:
    """The Images copy of this file: the one already made, or a new one; never a second."""
    client = services.images()
    if row.cf_image_id:
        try:
            return client.get(row.cf_image_id)
        except ImageNotFound:
            row.cf_image_id = None
    private = _workspace_flag(file.workspace_id, "private_images")
    storage = services.storage()
    url = storage.signed_url(sent_key, current_app.config["SIGNED_URL_TTL"])
    metadata = {"fileId": file.id, "workspaceId": file.workspace_id}
    if private:
        # Cloudflare forbids custom ids on private images, so earlier copies are found by `creator` instead.
        existing = client.list(creator=file.id).get("images") or [] if row.attempts > 1 else []
        copy = (
            existing[0]
            if existing
            else client.upload_url(url, metadata=metadata, require_signed_urls=True, creator=file.id)
        )
        for extra in existing[1:]:
            client.delete(extra["id"])
    else:
        try:
            copy = client.upload_url(url, image_id=file.id, metadata=metadata, creator=file.id)
        except ImageIdTaken:
            copy = client.get(file.id)  # an earlier attempt stored it and its answer was lost
    row.cf_image_id = copy["id"]
    db.session.commit()  # recorded before anything else can fail
    return copy


def _finish(
    row: Provisioning,
    file: File,
    header: Header,
    copy: dict,
    placeholder_: Looks = NO_LOOKS,
    master: masters.Master | None = None,
    owner: tuple[str, str] | None = None,
) -> str:
    """Inserts the image row and `image.created`; `owner` (file id, workspace id) is read before the copy's commit,
    since a delete landing after it leaves `file` unreadable."""
    owner = owner or (file.id, file.workspace_id)
    try:
        return _record_image(row, file, header, copy, placeholder_, master)
    except (IntegrityError, StaleDataError, ObjectDeletedError):
        # The file was deleted (or put in the trash, which drops this row) while the copy was being made: take the
        # copy back so nothing is orphaned or delivered.
        db.session.rollback()
        if db.session.get(Image, owner[0]) is not None:
            return "exists"
        _delete_copy_quietly(copy["id"], *owner)
        return "deleted-meanwhile"


def _record_image(row, file, header, copy, placeholder_, master) -> str:
    blur, colour, phash = placeholder_
    width, height = (master.width, master.height) if master else (header.width, header.height)
    image = Image(
        file_id=file.id,
        workspace_id=file.workspace_id,
        cf_image_id=copy["id"],
        width=width,
        height=height,
        size=file.size,
        format=header.format.lower(),
        exif=header.exif,
        placeholder=blur,
        dominant_color=colour,
        require_signed_urls=bool(copy.get("requireSignedURLs")),
        created_at=utcnow(),
        source="master" if master else "original",
        original_width=header.width,
        original_height=header.height,
        master_size=master and master.size,
        master_width=master and master.width,
        master_height=master and master.height,
        master_format=master and master.format,
    )
    image.set_phash(phash)
    image.extract_facts(file)
    db.session.add(image)
    row.state, row.lease_until, row.last_error = "done", None, None
    emit(
        EventType.IMAGE_CREATED,
        workspace_id=file.workspace_id,
        subject_id=file.id,
        payload={"cfImageId": copy["id"], "width": header.width, "height": header.height},
    )
    db.session.commit()
    _hurry_waiting()
    return "created"


def _hurry_waiting() -> None:
    """The service took an image: files waiting out an outage need not wait for their own backoff to end."""
    if RETRIED.pull_forward(Provisioning.state == "waiting"):
        db.session.commit()
    else:
        db.session.rollback()


def _placeholder(storage, storage_key: str, file_id: str, image_format: str) -> Looks:
    """Runs in a helper thread, so it takes what it needs as arguments instead of reading the app context."""
    if image_format == "SVG":
        return NO_LOOKS
    try:
        with _open_from(storage, storage_key) as stream:
            return placeholder(stream)
    except OSError as exc:
        if "truncated" in str(exc) or "broken data stream" in str(exc):
            raise PictureError(
                "image_damaged", f"The image is damaged: its data ends early ({exc}). Export it again and re-upload it."
            ) from exc
        log.warning("no placeholder for %s", file_id, exc_info=True)
        return NO_LOOKS
    except PlaceholderTooCostly as exc:
        log.info("no placeholder for %s: %s", file_id, exc)
        return NO_LOOKS
    except Exception:  # noqa: BLE001 - a placeholder is a nicety; the image stands without it
        log.warning("no placeholder for %s", file_id, exc_info=True)
        return NO_LOOKS


def _delete_copy_quietly(cf_image_id: str, file_id: str, workspace_id: str | None) -> None:
    try:
        services.images().delete(cf_image_id)
    except ImageNotFound:
        pass
    except ImagesError:
        # Recorded as a row, so it is retried from the database until done (Redis may forget a job).
        removals.record(
            removals.IMAGES_COPY,
            subject_id=file_id,
            target=file_id,
            workspace_id=workspace_id,
            payload={"cfImageIds": [cf_image_id], "only": True},
        )
        db.session.commit()


def _retry_later(row: Provisioning, file: File, exc: TransientImagesError) -> str:
    """Waits for the images service: retried from this row with backoff until the deadline, never failed before."""
    now = utcnow()
    row.deadline = row.deadline or durable.deadline(now, current_app.config["PROVISION_DEADLINE_SECONDS"])
    if now >= row.deadline:
        hours = current_app.config["PROVISION_DEADLINE_SECONDS"] / 3600
        return _fail(
            row,
            file,
            "images_unavailable",
            f"The images service could not take the image for {hours:g} hours ({row.attempts} attempts); "
            f"the last answer was: {exc.message} Retry it when the service is back.",
        )
    row.transient_failures = (row.transient_failures or 0) + 1
    row.state = "waiting"
    RETRIED.release(
        row, next_attempt_at=durable.next_attempt(row.transient_failures, exc.retry_after), error=exc.message
    )
    db.session.commit()
    delay = (row.next_attempt_at - now).total_seconds()
    log.info("provisioning %s failed for now (%s); retry %d in %.1fs", file.id, exc.message, row.attempts + 1, delay)
    return "retry"


def _fail(row: Provisioning, file: File, code: str, message: str) -> str:
    row.state, row.lease_until, row.last_error = "failed", None, message
    file.status, file.error_code, file.error_message = "error", code, message
    emit(
        EventType.IMAGE_PROVISION_FAILED,
        workspace_id=file.workspace_id,
        subject_id=file.id,
        payload={"code": code, "message": message},
    )
    db.session.commit()
    if row.cf_image_id:
        _delete_copy_quietly(row.cf_image_id, file.id, file.workspace_id)
    return "failed"


@files.on_delete
def _delete_with_file(file: File) -> None:
    take_down([file])


def take_down(doomed: list[File], trashed: bool = False) -> None:
    """Drops the image and provisioning rows of these files and records the removal of each Images copy, in the
    caller's transaction; `trashed` marks a removal that a restore may still call off (app.domain.trash). A few
    statements per IN_CHUNK files, whatever their number; each file gets its own event and removal row."""
    for chunk in chunks(doomed):
        ids = [file.id for file in chunk]
        with db.session.no_autoflush:
            found = {image.file_id: image for image in db.session.scalars(select(Image).where(Image.file_id.in_(ids)))}
            rows = {
                row.file_id: row
                for row in db.session.scalars(select(Provisioning).where(Provisioning.file_id.in_(ids)))
            }
        extra = {"trashed": True} if trashed else {}
        copies = {
            file.id: sorted({copy for copy in (image and image.cf_image_id, row and row.cf_image_id) if copy})
            for file, image, row in ((file, found.get(file.id), rows.get(file.id)) for file in chunk)
            if image is not None or row is not None
        }
        gone = [file for file in chunk if file.id in copies]
        payload = {file.id: {"cfImageIds": copies[file.id], **extra} for file in gone}
        emit_all(EventType.IMAGE_DELETED, [(file.workspace_id, file.id, payload[file.id]) for file in gone])
        # Each copy's removal is a row of this same transaction: it is retried from the database until done.
        removals.record_all(
            removals.IMAGES_COPY,
            [
                {
                    "subject_id": file.id,
                    "target": file.id,
                    "workspace_id": file.workspace_id,
                    "payload": payload[file.id],
                }
                for file in gone
            ],
        )
        # Deleted now, before the file rows, in the same transaction (the foreign keys would cascade them anyway).
        for model, held in ((Image, found), (Provisioning, rows)):
            if held:
                # No session sync: the rows are expunged next (a bulk delete holds thousands of rows otherwise).
                db.session.execute(
                    delete(model).where(model.file_id.in_(list(held))),
                    execution_options={"synchronize_session": False},
                )
                for loaded in held.values():
                    db.session.expunge(loaded)


@removals.performs(removals.IMAGES_COPY)
def _remove_copies(row: removals.PendingRemoval) -> None:
    delete_copies(row.target, list(row.payload.get("cfImageIds") or []), only=bool(row.payload.get("only")))


@removals.after_attempt(removals.IMAGES_COPY)
def _go_on_after_removal(file_id: str) -> None:
    provision_now(file_id)  # restored while its old copy's removal ran: its provisioning waited for that attempt


@handles(EventType.IMAGE_DELETED)
def _delete_copies(event) -> None:
    removals.enqueue_for(event.subject_id, removals.IMAGES_COPY)


def delete_copies(file_id: str, cf_image_ids: list[str], only: bool = False) -> int:
    """Removes every Images copy of a deleted file: the known ids, the custom id, and any found by `creator`
    (`only`: just the known ids, for a copy taken back from a file that stays)."""
    client = services.images()
    doomed = set(cf_image_ids)
    if not only:
        doomed |= {file_id}
        doomed |= {image["id"] for image in client.list(creator=file_id).get("images") or []}
    removed = 0
    for cf_image_id in sorted(doomed):
        try:
            client.delete(cf_image_id)
            removed += 1
        except ImageNotFound:
            continue
    return removed


def get_image(workspace_id: str, file_id: str) -> Image:
    image = db.session.get(Image, file_id) if isinstance(file_id, str) and len(file_id) <= 32 else None
    file = db.session.get(File, file_id) if image is not None else None
    if image is None or image.workspace_id != workspace_id or file is None or file.deleted_at is not None:
        raise NotFound("image_not_found", f"No image {file_id!r} in this workspace.")
    return image


def delivery_url(image: Image, variant: str = "public") -> str:
    """The URL browsers load: signed (and expiring) when the image is private."""
    return delivery_url_of(image.cf_image_id, variant, signed=image.require_signed_urls)


def delivery_url_of(cf_image_id: str, variant: str, *, signed: bool) -> str:
    """The images-service URL of one copy (one version): its pixels never change."""
    return services.images().delivery_url(cf_image_id, variant, signed=signed, ttl=current_app.config["SIGNED_URL_TTL"])


def stable_url(image: Image, variant: str = "public") -> str:
    """The URL that always shows the current version: the product's redirect (signed when the image is private)."""
    return services.stable_url(image.file_id, variant, signed=image.require_signed_urls)


def serving(file_id: str) -> Image | None:
    """The image a stable URL delivers now; None before its first copy is ready, and once deleted or in the trash."""
    image = db.session.get(Image, file_id) if len(file_id) <= 32 else None
    file = db.session.get(File, file_id) if image is not None else None
    return image if file is not None and file.deleted_at is None else None


BACKFILL = "facts"
BACKFILL_JOB = Job.BACKFILL_IMAGE_FACTS


def backfill_facts(batch_size: int = 500, max_batches: int | None = None) -> FactsBackfill:
    """Folds every file's name and extracts every image's facts, in file id order, a batch per transaction; the
    batch and the progress row commit together, so a killed run continues after the last id it recorded."""
    progress = db.session.get(FactsBackfill, BACKFILL) or FactsBackfill(name=BACKFILL, done=0)
    db.session.add(progress)
    batches = 0
    while max_batches is None or batches < max_batches:
        after = progress.last_file_id or ""
        found = db.session.execute(
            select(File, Image)
            .outerjoin(Image, Image.file_id == File.id)
            .where(File.id > after)
            .order_by(File.id)
            .limit(batch_size)
        ).all()
        if not found:
            progress.finished_at = utcnow()
            db.session.commit()
            return progress
        for file, image in found:
            file.name_folded = photo_facts.fold(file.name)
            if image is not None:
                image.alt_folded = photo_facts.fold(image.alt_text)
                image.extract_facts(file)
        progress.last_file_id, progress.done, progress.finished_at = found[-1][0].id, progress.done + len(found), None
        db.session.commit()
        batches += 1
    return progress


def restart_backfill() -> None:
    """Forgets the backfill's progress, so the next run starts from the first file again."""
    db.session.execute(delete(FactsBackfill).where(FactsBackfill.name == BACKFILL))
    db.session.commit()


def enqueue_backfill() -> None:
    """Has the worker run the backfill (it continues from the recorded progress)."""
    services.queue().enqueue("images", BACKFILL_JOB, timeout=6 * 3600, description="backfill image facts")
