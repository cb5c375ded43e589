"""The trash: a deleted file keeps its row and bytes for the workspace's retention period, so a mis-click can be
undone; reads treat it as gone, its Images copy goes at once, a restore provisions it again under the same id, and
a purge (by hand, or the worker's pass once `purge_after` is reached) removes rows and bytes for good."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.domain import files, grouping, images, removals
from app.domain.accounts import Workspace, get_project
from app.domain.common import isoformat, utcnow
from app.domain.errors import NotFound
from app.domain.events import emit, handles
from app.domain.files import File
from app.domain.images import Image, Provisioning
from app.event_types import EventType
from app.extensions import db

log = logging.getLogger(__name__)

DEFAULT_DAYS = 30
MAX_DAYS = 3650
# Error codes that mean the bytes never arrived: such a file comes back as it was, with nothing to provision.
_NO_BYTES = ("upload_interrupted", "bytes_missing")


def trash_days(workspace_id: str) -> int:
    """The workspace setting `trash_days` (default 30); 0 turns the trash off, so deleting removes for good."""
    workspace = db.session.get(Workspace, workspace_id)
    return parse_days(workspace.setting("trash_days", DEFAULT_DAYS) if workspace is not None else DEFAULT_DAYS)


def parse_days(raw) -> int:
    """Whatever the settings JSON holds becomes 0..MAX_DAYS: a number is clamped, anything unreadable is the default."""
    if isinstance(raw, bool) or (isinstance(raw, float) and not math.isfinite(raw)):
        return DEFAULT_DAYS
    try:
        days = int(raw)
    except (TypeError, ValueError):
        return DEFAULT_DAYS
    return max(0, min(days, MAX_DAYS))


def discard(file: File, permanent: bool = False) -> datetime | None:
    """Moves a file to the trash (or removes it for good: `permanent`, the trash off, or bytes never stored), in the
    caller's transaction; returns until when it can be restored, or None when it is gone for good."""
    if file.deleted_at is not None:
        if not permanent:
            raise NotFound("file_not_found", f"No file {file.id!r} in this workspace.")
        _purge(file, due_only=False)
        return None
    days = trash_days(file.workspace_id)
    if permanent or days == 0 or file.status == "pending":
        files.remove(file)
        return None
    now = utcnow()
    purge_after = now + timedelta(days=days)
    # Claimed with a condition, so two deletes racing put it in the trash once.
    claimed = db.session.execute(
        update(File)
        .where(File.id == file.id, File.deleted_at.is_(None))
        .values(deleted_at=now, purge_after=purge_after)
    ).rowcount
    if not claimed:
        raise NotFound("file_not_found", f"No file {file.id!r} in this workspace.")
    image = db.session.get(Image, file.id)
    if image is not None:
        file.kept_image = {
            "altText": image.alt_text,
            "decorative": image.decorative,
            "focalX": image.focal_x,
            "focalY": image.focal_y,
            "crops": image.crops,
        }
    grouping.left(file)  # it keeps its collections and tags; they stop counting it
    images.take_down(file, trashed=True)  # nothing is delivered from now on
    emit(
        EventType.FILE_DELETED,
        workspace_id=file.workspace_id,
        subject_id=file.id,
        payload={"storageKey": file.storage_key, "trashed": True, "purgeAfter": isoformat(purge_after)},
    )
    return purge_after


def delete_file(workspace_id: str, file_id: str, permanent: bool = False) -> datetime | None:
    """`DELETE /api/files/{id}`: a file in the trash answers 404 unless it is purged from there (`permanent`)."""
    file = _trashed_or_live(workspace_id, file_id, permanent)
    until = discard(file, permanent)
    db.session.commit()
    return until


def delete_image(workspace_id: str, file_id: str, permanent: bool = False) -> datetime | None:
    """`DELETE /api/images/{id}`: the image and its file go to the trash (or for good)."""
    file = _in_trash(workspace_id, file_id) if permanent else None
    if file is None or not file.is_image:
        try:
            file = files.get_file(workspace_id, images.get_image(workspace_id, file_id).file_id)
        except NotFound:
            # An image file still on its way is deleted too, so it never appears afterwards; a file that is no
            # image at all is no image to delete.
            candidate = db.session.get(File, file_id) if isinstance(file_id, str) and len(file_id) <= 32 else None
            if (
                candidate is None
                or candidate.workspace_id != workspace_id
                or candidate.deleted_at is not None
                or not candidate.is_image
            ):
                raise
            file = candidate
    until = discard(file, permanent)
    db.session.commit()
    return until


def _trashed_or_live(workspace_id: str, file_id: str, permanent: bool) -> File:
    if permanent:
        trashed = _in_trash(workspace_id, file_id)
        if trashed is not None:
            return trashed
    return files.get_file(workspace_id, file_id)


def _in_trash(workspace_id: str, file_id: str) -> File | None:
    file = db.session.get(File, file_id) if isinstance(file_id, str) and len(file_id) <= 32 else None
    if file is None or file.workspace_id != workspace_id or file.deleted_at is None:
        return None
    return file


def get_trashed(workspace_id: str, file_id: str) -> File:
    file = _in_trash(workspace_id, file_id)
    if file is None:
        raise NotFound("not_in_trash", f"No file {file_id!r} in this workspace's trash.")
    return file


def restore(workspace_id: str, file_id: str) -> File:
    """Brings a file back from the trash and provisions its image again under the same id (so a public image keeps
    its delivery URL); the caller commits."""
    file = get_trashed(workspace_id, file_id)
    claimed = db.session.execute(
        update(File).where(File.id == file.id, File.deleted_at.is_not(None)).values(deleted_at=None, purge_after=None)
    ).rowcount
    if not claimed:
        raise NotFound("not_in_trash", f"No file {file_id!r} in this workspace's trash.")
    grouping.came_back(file)  # its collections and tags, kept in the trash, count it again
    emit(
        EventType.FILE_RESTORED,
        workspace_id=file.workspace_id,
        subject_id=file.id,
        payload={"projectId": file.project_id, "name": file.name},
    )
    if file.is_image and file.status != "pending" and file.error_code not in _NO_BYTES:
        _provision_again(file)
    return file


def _provision_again(file: File) -> None:
    now = utcnow()
    # The trash decides the copy stays: its removal is called off. One under way (leased) is waited for, since it
    # may be deleting the copy right now; its end pulls the provisioning forward (images._go_on_after_removal), and
    # an attempt that starts later finds it called off and leaves the copy alone.
    known, not_before = [], now
    for row in removals.call_off(file.id, removals.IMAGES_COPY):
        if row.lease_until is not None and row.lease_until > now:
            not_before = max(not_before, row.lease_until)
        else:
            known.extend(row.payload.get("cfImageIds") or [])
    file.status, file.error_code, file.error_message = "ready", None, None
    # A copy still there is adopted (the custom id is the file id; a private copy is looked up by its id).
    db.session.add(
        Provisioning(
            file_id=file.id,
            workspace_id=file.workspace_id,
            state="queued",
            attempts=0,
            next_attempt_at=not_before,
            cf_image_id=known[0] if known else None,
            transient_failures=0,
            created_at=now,
        )
    )
    if file.kept_image is None:
        file.kept_image = {}  # marks the image as coming back: image.restored follows once it exists again
    emit(EventType.IMAGE_PROVISION_REQUESTED, workspace_id=file.workspace_id, subject_id=file.id)


def restore_files(workspace_id: str, file_ids: list[str]) -> list[File]:
    """`POST /api/files/{id}/restore`, `aeontel file restore`, the gallery's Undo and Restore, in one transaction."""
    restored = [restore(workspace_id, file_id) for file_id in dict.fromkeys(file_ids)]
    db.session.commit()
    return restored


@handles(EventType.IMAGE_CREATED)
def _give_back_kept(event) -> None:
    """What people gave the image before it went to the trash (alt text, decorative, focal point, crops) comes back
    with it, and `image.restored` is emitted now that there is an Image to carry (webhooks send it); a stored crop
    that no longer fits its preset is listed as automatic (crops.still_fits)."""
    file = db.session.get(File, event.subject_id)
    image = db.session.get(Image, event.subject_id)
    if file is None or image is None or file.kept_image is None:
        return
    kept = file.kept_image
    if kept:
        image.alt_text = kept.get("altText")
        image.decorative = bool(kept.get("decorative"))
        image.focal_x, image.focal_y = kept.get("focalX"), kept.get("focalY")
        image.crops = kept.get("crops")
    file.kept_image = None
    emit(
        EventType.IMAGE_RESTORED,
        workspace_id=file.workspace_id,
        subject_id=file.id,
        payload={"projectId": file.project_id},
    )


def _purge(file: File, due_only: bool) -> bool:
    """Removes a trashed file for good in the caller's transaction; the claim lets only one purger (and no restore)
    win; the bytes go as `stored_object` removals, retried from the database."""
    condition = [File.id == file.id, File.deleted_at.is_not(None)]
    if due_only:
        condition.append(File.purge_after <= utcnow())
    if not db.session.execute(update(File).where(*condition).values(purge_after=None)).rowcount:
        return False
    files.remove(file, event=EventType.FILE_PURGED)
    return True


def purge_file(workspace_id: str, file_id: str) -> None:
    _purge(get_trashed(workspace_id, file_id), due_only=False)
    db.session.commit()


def _trashed_query(workspace_id: str | None, project_id: str | None):
    query = select(File).where(File.deleted_at.is_not(None))
    if workspace_id is not None:
        query = query.where(File.workspace_id == workspace_id)
    if project_id:
        get_project(workspace_id, project_id)
        query = query.where(File.project_id == project_id)
    return query


def empty(workspace_id: str, project_id: str | None = None, batch: int = 200) -> int:
    """Empty trash: every trashed file of the workspace (or project) is purged now; returns how many."""
    purged = 0
    while True:
        doomed = list(db.session.scalars(_trashed_query(workspace_id, project_id).order_by(File.id).limit(batch)))
        if not doomed:
            return purged
        purged += sum(_purge(file, due_only=False) for file in doomed)
        db.session.commit()


def purge_due(limit: int = 200) -> int:
    """The worker's pass: files whose retention ran out are purged, each in its own transaction, from the database
    alone (no Redis), so it survives any outage and two workers never purge one file twice."""
    now = utcnow()
    ids = list(
        db.session.scalars(
            select(File.id)
            .where(File.deleted_at.is_not(None), File.purge_after <= now)
            .order_by(File.purge_after)
            .limit(limit)
        )
    )
    db.session.rollback()
    purged = 0
    for file_id in ids:
        file = db.session.get(File, file_id)
        try:
            done = file is not None and _purge(file, due_only=True)
            db.session.commit()
        except Exception:  # noqa: BLE001 - one file failing must not keep the others in the trash
            db.session.rollback()
            log.exception("could not purge %s from the trash", file_id)
            continue
        purged += done
    return purged
