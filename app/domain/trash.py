"""The trash: a deleted file keeps its row and bytes for the workspace's retention period, so a mis-click can be
undone; reads treat it as gone, its Images copy goes at once, a restore provisions it again under the same id, and
a purge (by hand, or the worker's pass once `purge_after` is reached) removes rows and bytes for good."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from sqlalchemy import case, insert, inspect, literal, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.domain import files, grouping, images, removals
from app.domain.accounts import Workspace, get_project
from app.domain.common import chunks, isoformat, utcnow
from app.domain.errors import NotFound
from app.domain.events import emit, emit_all, handles
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
    return discard_all([file], permanent)[0]


def discard_all(doomed: list[File], permanent: bool = False) -> list[datetime | None]:
    """`discard` of several distinct files, in the caller's transaction and in their order; returns, per file, until
    when it can be restored (None: gone for good). The ones that go to the trash take a few statements per IN_CHUNK
    files, however many there are (`_trash`); removals for good (`permanent`, the trash off, bytes never stored)
    and purges stay one file at a time. The first file in order that is already in the trash (without
    `permanent`), or that another transaction trashed meanwhile, raises NotFound."""
    until: list[datetime | None] = []
    days: dict[str, int] = {}
    for chunk in chunks(doomed):
        for file in chunk:
            if file.workspace_id not in days:
                days[file.workspace_id] = trash_days(file.workspace_id)
        trashable = [
            file
            for file in chunk
            if file.deleted_at is None and not permanent and file.status != "pending" and days[file.workspace_id]
        ]
        candidates = {file.id for file in trashable}
        trashed = _trash(trashable, days)
        for file in chunk:
            if file.id in trashed:
                until.append(trashed[file.id])
            elif file.id in candidates or (file.deleted_at is not None and not permanent):
                raise NotFound("file_not_found", f"No file {file.id!r} in this workspace.")
            elif file.deleted_at is not None:
                _purge(file, due_only=False)
                until.append(None)
            else:
                files.remove(file)
                until.append(None)
    return until


def _trash(chosen: list[File], days: dict[str, int]) -> dict[str, datetime]:
    """Puts live files in the trash, in statements per IN_CHUNK files: one conditional UPDATE claims them (so two
    deletes racing put a file in the trash once) and keeps what people gave each image (`kept_image`), then their
    collections and tags stop counting them (they keep them), their image rows go with a removal of each copy
    (`images.take_down`), and each gets its `file.deleted`. Returns until when each claimed file can be restored."""
    if not chosen:
        return {}
    now = utcnow()
    purge_after = {workspace_id: now + timedelta(days=n) for workspace_id, n in days.items()}
    ids = [file.id for file in chosen]
    kept = _kept(ids)
    values = {
        "deleted_at": now,
        "purge_after": _by_workspace({file.workspace_id: purge_after[file.workspace_id] for file in chosen}),
    }
    if kept:
        kept_type = File.__table__.c.kept_image.type
        values["kept_image"] = case(
            *((File.id == file_id, literal(value, kept_type)) for file_id, value in kept.items()),
            else_=File.kept_image,
        )
    claimed = set(
        db.session.scalars(
            update(File)
            .where(File.id.in_(ids), File.deleted_at.is_(None))
            .values(values)
            .returning(File.id)
            .execution_options(synchronize_session=False)
        )
    )
    done = [file for file in chosen if file.id in claimed]
    for file in done:
        _committed(file, deleted_at=now, purge_after=purge_after[file.workspace_id])
        if file.id in kept:
            _committed(file, kept_image=kept[file.id])
    grouping.left([file.id for file in done])  # they keep their collections and tags; these stop counting them
    images.take_down(done, trashed=True)  # nothing is delivered from now on
    announced = {"trashed": True}
    emit_all(
        EventType.FILE_DELETED,
        [
            (
                file.workspace_id,
                file.id,
                {"storageKey": file.storage_key, **announced, "purgeAfter": isoformat(purge_after[file.workspace_id])},
            )
            for file in done
        ],
    )
    return {file.id: purge_after[file.workspace_id] for file in done}


def _kept(file_ids: list[str]) -> dict[str, dict]:
    """Per file with an image: what people gave it (alt text, decorative, focal point, crops), kept in the trash."""
    with db.session.no_autoflush:
        found = db.session.scalars(select(Image).where(Image.file_id.in_(file_ids)))
        return {
            image.file_id: {
                "altText": image.alt_text,
                "decorative": image.decorative,
                "focalX": image.focal_x,
                "focalY": image.focal_y,
                "crops": image.crops,
            }
            for image in found
        }


def _by_workspace(value_of: dict[str, datetime]):
    """One value for a statement's files, or a CASE over their workspaces when they span several."""
    if len(set(value_of.values())) == 1:
        return next(iter(value_of.values()))
    return case(*((File.workspace_id == workspace_id, value) for workspace_id, value in value_of.items()))


def _committed(file: File, **values) -> None:
    """What a set-based UPDATE wrote, put on the session's object as loaded (nothing left to flush); its
    `updated_at` is read again when asked."""
    for name, value in values.items():
        set_committed_value(file, name, value)
    db.session.expire(file, ["updated_at"])


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
    return restore_all(workspace_id, [file_id])[0]


def restore_all(workspace_id: str, file_ids: list) -> list[File]:
    """`restore` of several distinct ids, in their order, a few statements per IN_CHUNK files (`_bring_back`);
    the first id in order that is not in this workspace's trash (or that another transaction restored or purged
    meanwhile) raises NotFound `not_in_trash`. The caller commits."""
    restored: list[File] = []
    for chunk in chunks(file_ids):
        wanted = [file_id for file_id in chunk if isinstance(file_id, str) and len(file_id) <= 32]
        found = (
            {file.id: file for file in db.session.scalars(select(File).where(File.id.in_(wanted)))} if wanted else {}
        )
        trashed = [
            found[file_id]
            for file_id in wanted
            if file_id in found
            and found[file_id].workspace_id == workspace_id
            and found[file_id].deleted_at is not None
        ]
        back = _bring_back(trashed)
        for file_id in chunk:
            if not isinstance(file_id, str) or file_id not in back:
                raise NotFound("not_in_trash", f"No file {file_id!r} in this workspace's trash.")
            restored.append(found[file_id])
    return restored


def _bring_back(chosen: list[File]) -> set[str]:
    """Brings trashed files back: conditional UPDATEs per IN_CHUNK files claim them (so a restore racing a purge or
    another restore wins once) and mark an image that is provisioned again ready; their collections and tags count
    them again, each gets `file.restored` and, if its image comes back, a provisioning row and
    `image.provision_requested`. Returns the ids claimed."""
    if not chosen:
        return set()
    # An image whose bytes were stored comes back through provisioning; one whose bytes never arrived, as it was.
    again = {
        file.id for file in chosen if file.is_image and file.status != "pending" and file.error_code not in _NO_BYTES
    }
    # An empty kept_image marks the image as coming back: image.restored follows once it exists again.
    marked = {file.id for file in chosen if file.id in again and file.kept_image is None}
    back_values = {"deleted_at": None, "purge_after": None}
    ready = {**back_values, "status": "ready", "error_code": None, "error_message": None}
    groups = (
        ([file.id for file in chosen if file.id not in again], back_values),
        ([file.id for file in chosen if file.id in again and file.id not in marked], ready),
        ([file.id for file in chosen if file.id in marked], {**ready, "kept_image": {}}),
    )
    claimed: set[str] = set()
    for ids, values in groups:  # one statement per kind of change, each with plain values
        if ids:
            claimed |= set(
                db.session.scalars(
                    update(File)
                    .where(File.id.in_(ids), File.deleted_at.is_not(None))
                    .values(values)
                    .returning(File.id)
                    .execution_options(synchronize_session=False)
                )
            )
    back = [file for file in chosen if file.id in claimed]
    for file in back:
        _committed(file, **(ready if file.id in again else back_values))
        if file.id in marked:
            _committed(file, kept_image={})
    grouping.came_back([file.id for file in back])  # their collections and tags, kept in the trash, count them again
    emit_all(
        EventType.FILE_RESTORED,
        [(file.workspace_id, file.id, {"projectId": file.project_id, "name": file.name}) for file in back],
    )
    _provision_again([file for file in back if file.id in again])
    return claimed


def _provision_again(coming: list[File]) -> None:
    """The trash decides the copies stay: their removals are called off. One under way (leased) is waited for,
    since it may be deleting the copy right now; its end pulls the provisioning forward
    (images._go_on_after_removal), and an attempt that starts later finds it called off and leaves the copy alone.
    A copy still there is adopted (the custom id is the file id; a private copy is looked up by its id)."""
    if not coming:
        return
    called_off = removals.call_off([file.id for file in coming], removals.IMAGES_COPY)
    now = utcnow()
    rows = []
    for file in coming:
        known, not_before = [], now
        for row in called_off.get(file.id, []):
            if row.lease_until is not None and row.lease_until > now:
                not_before = max(not_before, row.lease_until)
            else:
                known.extend(row.payload.get("cfImageIds") or [])
        rows.append(
            {
                "file_id": file.id,
                "workspace_id": file.workspace_id,
                "state": "queued",
                "attempts": 0,
                "next_attempt_at": not_before,
                "cf_image_id": known[0] if known else None,
                "transient_failures": 0,
                "created_at": now,
            }
        )
    db.session.execute(insert(Provisioning.__table__), rows)  # one executemany, no ORM object per row
    emit_all(EventType.IMAGE_PROVISION_REQUESTED, [(file.workspace_id, file.id, None) for file in coming])


def restore_files(workspace_id: str, file_ids: list[str]) -> list[File]:
    """`POST /api/files/{id}/restore`, `aeontel file restore`, the gallery's Undo and Restore, in one transaction."""
    restored = restore_all(workspace_id, list(dict.fromkeys(file_ids)))
    db.session.commit()
    return loaded_again(restored)


def loaded_again(found: list[File]) -> list[File]:
    """Files a commit expired, read again in one query per IN_CHUNK files, so that the caller's reads of them (the
    gallery's Undo lists every id) do not load them one SELECT each."""
    for chunk in chunks([inspect(file).identity[0] for file in found]):  # the id without loading the file
        db.session.scalars(select(File).where(File.id.in_(chunk)).execution_options(populate_existing=True)).all()
    return found


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
