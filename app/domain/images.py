"""Images: a file whose bytes are an image gets a copy in Cloudflare Images and a 1:1 row keyed by its file id."""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import (
    JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, and_, delete, or_, select, update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.adapters.cloudflare import (
    CloudflareImages, ImageIdTaken, ImageNotFound, ImagesError, PermanentImagesError, TransientImagesError,
)
from app.domain import files
from app.domain.accounts import NotFound, Workspace
from app.domain.common import UTCDateTime, utcnow
from app.domain.events import emit, handles
from app.domain.files import File
from app.domain.pictures import (
    Header, PictureError, PlaceholderTooCostly, check_limits, placeholder, read_header,
)
from app.extensions import db

log = logging.getLogger(__name__)

PROVISION_JOB = "app.jobs.images.provision_image"
DELETE_COPIES_JOB = "app.jobs.images.delete_image_copies"
MAX_IMAGE_BYTES = 10 * 1024 * 1024
# A queued job still not started after this long is taken as lost and enqueued again (running it twice is harmless).
REQUEUE_AFTER = timedelta(seconds=60)
# Claims beyond IMAGES_MAX_ATTEMPTS allowed for jobs that died without a result (a deploy, an OOM kill) before a
# file is taken to be what kills them.
CRASH_ALLOWANCE = 5


class Image(db.Model):
    __tablename__ = "image"
    __table_args__ = (Index("ix_image_workspace_id_file_id", "workspace_id", "file_id"),)

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
    # Where crops keep their subject (0-1 across and down); None is the centre (see app.domain.edits).
    focal_x: Mapped[float | None] = mapped_column(Float, nullable=True)
    focal_y: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Provisioning(db.Model):
    """Where a file is on its way to becoming an image; the job's state lives here, never only in Redis."""

    __tablename__ = "image_provisioning"
    __table_args__ = (Index("ix_image_provisioning_state_next_attempt_at", "state", "next_attempt_at"),)

    file_id: Mapped[str] = mapped_column(ForeignKey("file.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued | running | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cf_image_id: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def images_client() -> CloudflareImages:
    return current_app.extensions["images"]


def queue():
    return current_app.extensions["queue"]


@handles("file.ready")
def _request_provisioning(event) -> None:
    if not str(event.payload.get("mimeType", "")).startswith("image/"):
        return
    if db.session.get(Provisioning, event.subject_id) is not None or db.session.get(File, event.subject_id) is None:
        return
    now = utcnow()
    # enqueued_at is set now: the job is enqueued by the next handler, so the reconciler must not add a second.
    db.session.add(Provisioning(file_id=event.subject_id, workspace_id=event.workspace_id, state="queued",
                                attempts=0, next_attempt_at=now, enqueued_at=now))
    emit("image.provision_requested", workspace_id=event.workspace_id, subject_id=event.subject_id)


@handles("image.provision_requested")
def _enqueue_provisioning(event) -> None:
    row = db.session.get(Provisioning, event.subject_id)
    if row is not None and row.state in ("queued", "running"):
        _enqueue(row)


def _enqueue(row: Provisioning) -> None:
    queue().enqueue("images", PROVISION_JOB, row.file_id, timeout=int(current_app.config["PROVISION_LEASE_SECONDS"]) * 2)
    row.enqueued_at = utcnow()


def reconcile() -> int:
    """Enqueues provisioning that is due for a retry, whose job was lost, or whose worker died mid-way."""
    now = utcnow()
    due = or_(
        and_(Provisioning.state == "queued", Provisioning.next_attempt_at <= now,
             or_(Provisioning.enqueued_at.is_(None), Provisioning.enqueued_at < Provisioning.next_attempt_at,
                 Provisioning.enqueued_at < now - REQUEUE_AFTER)),
        and_(Provisioning.state == "running", Provisioning.lease_until < now,
             or_(Provisioning.enqueued_at.is_(None), Provisioning.enqueued_at < Provisioning.lease_until)),
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
    claimed = db.session.execute(
        update(Provisioning)
        .where(Provisioning.file_id == file_id,
               or_(and_(Provisioning.state == "queued", Provisioning.next_attempt_at <= now),
                   and_(Provisioning.state == "running", Provisioning.lease_until < now)))
        .values(state="running", attempts=Provisioning.attempts + 1,
                lease_until=now + timedelta(seconds=config["PROVISION_LEASE_SECONDS"]))
    ).rowcount
    db.session.commit()
    if not claimed:
        return "not-due"
    row = db.session.get(Provisioning, file_id)
    file = db.session.get(File, file_id)
    if row is None or file is None:
        return "gone"
    if db.session.get(Image, file_id) is not None:
        row.state, row.lease_until = "done", None
        db.session.commit()
        return "exists"
    if row.attempts > config["IMAGES_MAX_ATTEMPTS"] + CRASH_ALLOWANCE:
        # Attempts that ended without recording anything: the job died with its worker (killed, out of memory,
        # a crash in a decoder) each time. A file that keeps doing that is given up with a reason, never retried
        # for ever.
        return _fail(row, file, "processing_failed",
                     f"Processing this image stopped {row.attempts - 1} times without finishing; it was given up. "
                     "Export the image again (as JPEG or PNG) and re-upload it.")
    try:
        header = _inspect(file)
        # The placeholder decode runs while the images service fetches and checks its copy: two cores, one wait.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending_placeholder = pool.submit(_placeholder, current_app.extensions["storage"], file.storage_key,
                                              file.id, header.format)
            copy = _ensure_copy(row, file)
            return _finish(row, file, header, copy, pending_placeholder.result())
    except TransientImagesError as exc:
        return _retry_later(row, file, exc)
    except PictureError as exc:
        return _fail(row, file, exc.code, exc.message)
    except ImagesError as exc:
        return _fail(row, file, "image_rejected", exc.message)


def _workspace_flag(workspace_id: str, name: str) -> bool:
    workspace = db.session.get(Workspace, workspace_id)
    return bool(workspace and workspace.setting(name, False))


def _inspect(file: File) -> Header:
    if file.size > MAX_IMAGE_BYTES:
        raise PictureError("image_too_large", f"The image is {file.size / 1_000_000:.1f} MB; "
                                              f"the limit is {MAX_IMAGE_BYTES // (1024 * 1024)} MB.")
    if file.mime_type == "image/svg+xml":
        return _svg_header(file)
    with _open(file) as stream:
        return read_header(stream, keep_gps=_workspace_flag(file.workspace_id, "keep_gps"))


def _open(file: File):
    return _open_from(current_app.extensions["storage"], file.storage_key)


def _open_from(storage, storage_key: str):
    return storage.open_seekable(storage_key)  # a local file reads only its header; S3 bytes (at most 10 MB) are read


_SVG_LENGTH = re.compile(r'\b(width|height)\s*=\s*["\']\s*([0-9.]+)\s*(px)?\s*["\']')
_SVG_VIEWBOX = re.compile(r'\bviewBox\s*=\s*["\']\s*[-0-9.]+[\s,]+[-0-9.]+[\s,]+([0-9.]+)[\s,]+([0-9.]+)\s*["\']')


def _svg_header(file: File) -> Header:
    with _open(file) as stream:
        head = stream.read(16384).decode("utf-8", "replace")
    root = head[head.lower().find("<svg"):]
    root = root[: root.find(">") + 1]
    sizes = {name: float(value) for name, value, _ in _SVG_LENGTH.findall(root)}
    box = _SVG_VIEWBOX.search(root)
    width = sizes.get("width") or (float(box.group(1)) if box else 0)
    height = sizes.get("height") or (float(box.group(2)) if box else 0)
    width, height = round(width), round(height)
    if width <= 0 or height <= 0:
        raise PictureError("svg_without_size", "The SVG states no width and height (nor a viewBox), so it has no "
                                               "size to show it at; add width and height and upload it again.")
    check_limits(width, height)
    return Header(format="SVG", width=width, height=height, stored_width=width, stored_height=height)


def _ensure_copy(row: Provisioning, file: File) -> dict:
    """The Images copy of this file: the one already made, or a new one; never a second."""
    client = images_client()
    if row.cf_image_id:
        try:
            return client.get(row.cf_image_id)
        except ImageNotFound:
            row.cf_image_id = None
    private = _workspace_flag(file.workspace_id, "private_images")
    storage = current_app.extensions["storage"]
    url = storage.signed_url(file.storage_key, current_app.config["SIGNED_URL_TTL"])
    metadata = {"fileId": file.id, "workspaceId": file.workspace_id}
    if private:
        # Cloudflare forbids custom ids on private images, so earlier copies are found by `creator` instead.
        existing = client.list(creator=file.id).get("images") or [] if row.attempts > 1 else []
        copy = existing[0] if existing else client.upload_url(url, metadata=metadata, require_signed_urls=True,
                                                               creator=file.id)
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


def _finish(row: Provisioning, file: File, header: Header, copy: dict,
            placeholder_: tuple[str | None, str | None] = (None, None)) -> str:
    blur, colour = placeholder_
    image = Image(
        file_id=file.id, workspace_id=file.workspace_id, cf_image_id=copy["id"], width=header.width,
        height=header.height, size=file.size, format=header.format.lower(), exif=header.exif, placeholder=blur,
        dominant_color=colour, require_signed_urls=bool(copy.get("requireSignedURLs")), created_at=utcnow(),
    )
    db.session.add(image)
    row.state, row.lease_until, row.last_error = "done", None, None
    emit("image.created", workspace_id=file.workspace_id, subject_id=file.id,
         payload={"cfImageId": copy["id"], "width": header.width, "height": header.height})
    try:
        db.session.commit()
    except IntegrityError:
        # The file was deleted while the copy was being made: take the copy back so nothing is orphaned.
        db.session.rollback()
        if db.session.get(Image, file.id) is not None:
            return "exists"
        _delete_copy_quietly(copy["id"])
        return "deleted-meanwhile"
    return "created"


def _placeholder(storage, storage_key: str, file_id: str, image_format: str) -> tuple[str | None, str | None]:
    """Runs in a helper thread, so it takes what it needs as arguments instead of reading the app context."""
    if image_format == "SVG":
        return None, None
    try:
        with _open_from(storage, storage_key) as stream:
            return placeholder(stream)
    except PlaceholderTooCostly as exc:
        log.info("no placeholder for %s: %s", file_id, exc)
        return None, None
    except Exception:  # noqa: BLE001 - a placeholder is a nicety; the image stands without it
        log.warning("no placeholder for %s", file_id, exc_info=True)
        return None, None


def _delete_copy_quietly(cf_image_id: str) -> None:
    try:
        images_client().delete(cf_image_id)
    except ImageNotFound:
        pass
    except ImagesError:
        queue().enqueue("images", DELETE_COPIES_JOB, cf_image_id, [cf_image_id])


def _retry_later(row: Provisioning, file: File, exc: TransientImagesError) -> str:
    attempts = row.attempts
    if attempts >= current_app.config["IMAGES_MAX_ATTEMPTS"]:
        return _fail(row, file, "images_unavailable",
                     f"The images service could not take the image after {attempts} attempts: {exc.message}")
    delay = exc.retry_after if exc.retry_after is not None else min(2 ** (attempts - 1), 60)
    row.state, row.lease_until, row.last_error = "queued", None, exc.message
    row.next_attempt_at = utcnow() + timedelta(seconds=min(max(delay, 0.5), 300))
    db.session.commit()
    log.info("provisioning %s failed for now (%s); retry %d in %.1fs", file.id, exc.message, attempts + 1, delay)
    return "retry"


def _fail(row: Provisioning, file: File, code: str, message: str) -> str:
    row.state, row.lease_until, row.last_error = "failed", None, message
    file.status, file.error_code, file.error_message = "error", code, message
    emit("image.provision_failed", workspace_id=file.workspace_id, subject_id=file.id,
         payload={"code": code, "message": message})
    db.session.commit()
    if row.cf_image_id:
        _delete_copy_quietly(row.cf_image_id)
    return "failed"


@files.on_delete
def _delete_with_file(file: File) -> None:
    image = db.session.get(Image, file.id)
    row = db.session.get(Provisioning, file.id)
    if image is None and row is None:
        return
    copies = sorted({copy for copy in (image and image.cf_image_id, row and row.cf_image_id) if copy})
    emit("image.deleted", workspace_id=file.workspace_id, subject_id=file.id, payload={"cfImageIds": copies})
    # Deleted now, before the file row, in the same transaction (the foreign keys would cascade them anyway).
    for doomed in (image, row):
        if doomed is not None:
            # No session sync: the row is expunged next (a bulk delete holds hundreds of rows in the session).
            db.session.execute(delete(type(doomed)).where(type(doomed).file_id == file.id),
                               execution_options={"synchronize_session": False})
            db.session.expunge(doomed)


@handles("image.deleted")
def _delete_copies(event) -> None:
    from rq import Retry

    queue().enqueue("images", DELETE_COPIES_JOB, event.subject_id, event.payload.get("cfImageIds", []),
                    retry=Retry(max=10, interval=[2, 10, 30, 120, 600]))


def delete_copies(file_id: str, cf_image_ids: list[str]) -> int:
    """Removes every Images copy of a deleted file: the known ids, the custom id, and any found by `creator`."""
    client = images_client()
    doomed = set(cf_image_ids) | {file_id}
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
    if image is None or image.workspace_id != workspace_id:
        raise NotFound("image_not_found", f"No image {file_id!r} in this workspace.")
    return image


def list_images(workspace_id: str, *, project_id: str | None = None, q: str | None = None, limit: int = 50,
                cursor: str | None = None) -> tuple[list[tuple[Image, File]], str | None]:
    """Newest first (file ids sort by upload time), keyset-paginated, with the file each image belongs to."""
    from app.domain.accounts import get_project

    query = select(Image, File).join(File, File.id == Image.file_id).where(Image.workspace_id == workspace_id)
    if project_id:
        get_project(workspace_id, project_id)
        query = query.where(File.project_id == project_id)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(File.name.ilike(f"%{escaped}%", escape="\\"))
    after = files.decode_cursor(cursor)
    if after:
        # Both sides of the join get the bound: PostgreSQL does not carry it across a merge join by itself.
        query = query.where(Image.file_id < after, File.id < after)
    rows = [tuple(row) for row in db.session.execute(query.order_by(Image.file_id.desc()).limit(limit + 1))]
    next_cursor = files.encode_cursor(rows[limit - 1][0].file_id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def delete_image(workspace_id: str, file_id: str) -> None:
    """The image row and its file row go at once; copies and stored bytes go in jobs that retry."""
    image = get_image(workspace_id, file_id)
    files.remove(db.session.get(File, image.file_id))
    db.session.commit()


def delivery_url(image: Image, variant: str = "public") -> str:
    """The URL browsers load: signed (and expiring) when the image is private."""
    return images_client().delivery_url(image.cf_image_id, variant, signed=image.require_signed_urls,
                                        ttl=current_app.config["SIGNED_URL_TTL"])


NAMED_VARIANTS = ("public", "thumbnail")
