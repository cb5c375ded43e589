"""The set-based trash (`trash.discard_all`, `trash.restore_all`) against the per-file path it replaced: for a mixed
selection (images with alt text, focal point and crops, a non-image file, failed files, files in collections and
with tags, a processing one, one whose upload never finished, an id already in the trash) both leave the same rows
(files, kept image facts, image and provisioning rows, removals, collection and tag counts, the tally) and emit the
same events per file, and a file trashed by another transaction meanwhile fails both the same way."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from app.domain import accounts, bulk, files, removals, trash
from app.domain.common import isoformat, utcnow
from app.domain.errors import NotFound
from app.domain.events import Event, emit
from app.domain.files import File, FileTally
from app.domain.grouping import Collection, CollectionImage, ImageTag, Tag
from app.domain.images import Image, Provisioning
from app.event_types import EventType
from app.extensions import db

OLD, NEW = "O_", "N_"  # the two libraries' id prefixes: no other id or name holds them
CROPS = {"square": {"x": 0.1, "y": 0.2, "width": 0.5, "height": 0.5}}


# --- the per-file path as it stood before the set-based one (main at 1c073c7), kept here as the oracle ----------


def _old_recount(file_id: str, step: int) -> None:
    of_file = select(CollectionImage.collection_id).where(CollectionImage.file_id == file_id)
    db.session.execute(
        update(Collection)
        .where(Collection.id.in_(of_file))
        .values(image_count=Collection.image_count + step)
        .execution_options(synchronize_session=False)
    )
    tags_of = select(ImageTag.tag_id).where(ImageTag.file_id == file_id)
    db.session.execute(
        update(Tag)
        .where(Tag.id.in_(tags_of))
        .values(use_count=Tag.use_count + step)
        .execution_options(synchronize_session=False)
    )


def _old_take_down(file: File) -> None:
    image = db.session.get(Image, file.id)
    row = db.session.get(Provisioning, file.id)
    if image is None and row is None:
        return
    copies = sorted({copy for copy in (image and image.cf_image_id, row and row.cf_image_id) if copy})
    payload = {"cfImageIds": copies, "trashed": True}
    emit(EventType.IMAGE_DELETED, workspace_id=file.workspace_id, subject_id=file.id, payload=payload)
    removals.record(
        removals.IMAGES_COPY, subject_id=file.id, target=file.id, workspace_id=file.workspace_id, payload=payload
    )
    for doomed in (image, row):
        if doomed is not None:
            db.session.execute(
                delete(type(doomed)).where(type(doomed).file_id == file.id),
                execution_options={"synchronize_session": False},
            )
            db.session.expunge(doomed)


def old_discard(file: File) -> datetime | None:
    if file.deleted_at is not None:
        raise NotFound("file_not_found", f"No file {file.id!r} in this workspace.")
    days = trash.trash_days(file.workspace_id)
    if days == 0 or file.status == "pending":
        files.remove(file)
        return None
    now = utcnow()
    purge_after = now + timedelta(days=days)
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
    _old_recount(file.id, -1)
    _old_take_down(file)
    emit(
        EventType.FILE_DELETED,
        workspace_id=file.workspace_id,
        subject_id=file.id,
        payload={"storageKey": file.storage_key, "trashed": True, "purgeAfter": isoformat(purge_after)},
    )
    return purge_after


def old_restore(workspace_id: str, file_id: str) -> File:
    file = trash.get_trashed(workspace_id, file_id)
    claimed = db.session.execute(
        update(File).where(File.id == file.id, File.deleted_at.is_not(None)).values(deleted_at=None, purge_after=None)
    ).rowcount
    if not claimed:
        raise NotFound("not_in_trash", f"No file {file_id!r} in this workspace's trash.")
    _old_recount(file.id, +1)
    emit(
        EventType.FILE_RESTORED,
        workspace_id=file.workspace_id,
        subject_id=file.id,
        payload={"projectId": file.project_id, "name": file.name},
    )
    if file.is_image and file.status != "pending" and file.error_code not in ("upload_interrupted", "bytes_missing"):
        now = utcnow()
        rows = list(
            db.session.scalars(
                select(removals.PendingRemoval).where(
                    removals.PendingRemoval.subject_id == file.id, removals.PendingRemoval.kind == removals.IMAGES_COPY
                )
            )
        )
        known, not_before = [], now
        for row in rows:
            if row.lease_until is not None and row.lease_until > now:
                row.payload = {**(row.payload or {}), removals.CALLED_OFF: True}
                not_before = max(not_before, row.lease_until)
            else:
                db.session.execute(delete(removals.PendingRemoval).where(removals.PendingRemoval.id == row.id))
                known.extend(row.payload.get("cfImageIds") or [])
        file.status, file.error_code, file.error_message = "ready", None, None
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
            file.kept_image = {}
        emit(EventType.IMAGE_PROVISION_REQUESTED, workspace_id=file.workspace_id, subject_id=file.id)
    return file


# --- the library both paths act on ------------------------------------------------------------------------------


def _file(ws: str, prj: str, prefix: str, name: str, mime="image/jpeg", status="ready", **extra) -> File:
    file = File(
        id=f"{prefix}{name}",
        workspace_id=ws,
        project_id=prj,
        name=f"{name}.bin",
        mime_type=mime,
        size=10,
        sha256="0" * 64,
        storage_key=f"{ws}/{prefix}{name}",
        status=status,
        **extra,
    )
    db.session.add(file)
    return file


def _image(file: File, **extra) -> None:
    values = dict(cf_image_id=file.id, width=40, height=30, size=10, format="jpeg", exif={}, decorative=False)
    db.session.add(Image(file_id=file.id, workspace_id=file.workspace_id, **{**values, **extra}))


def _provisioning(file: File, state: str, cf_image_id=None) -> None:
    db.session.add(
        Provisioning(file_id=file.id, workspace_id=file.workspace_id, state=state, attempts=1, cf_image_id=cf_image_id)
    )


def build(prefix: str) -> tuple[str, str, list[str]]:
    """One workspace with the mixed library; file ids start with `prefix`. Returns (workspace, project, ids)."""
    ws = accounts.create_workspace(f"Library {prefix}")
    prj = accounts.create_project(ws.id, "Website")
    db.session.flush()
    w, p = ws.id, prj.id
    cols = [
        Collection(id=f"{prefix}col{i}", workspace_id=w, project_id=p, name=f"C{i}", name_key=f"c{i}") for i in (1, 2)
    ]
    tags = [Tag(id=f"{prefix}tag{i}", workspace_id=w, key=f"t{i}", name=f"T{i}") for i in (1, 2, 3)]
    db.session.add_all(cols + tags)
    db.session.flush()  # the file_tally triggers count the files as they are inserted
    alt = _file(w, p, prefix, "alt")
    _image(alt, alt_text="A beach at dusk", focal_x=0.25, focal_y=0.75, crops=CROPS)
    deco = _file(w, p, prefix, "deco")
    _image(deco, decorative=True, cf_image_id=f"{prefix}deco-private")
    _provisioning(deco, "done", cf_image_id=f"{prefix}deco-private")
    _file(w, p, prefix, "pdf", mime="application/pdf")
    failed = _file(w, p, prefix, "failed", status="error", error_code="decode_failed", error_message="broken")
    _provisioning(failed, "failed", cf_image_id=f"{prefix}failed-copy")
    _file(w, p, prefix, "missing", status="error", error_code="bytes_missing", error_message="no bytes")
    processing = _file(w, p, prefix, "processing", status="processing")
    _provisioning(processing, "queued")
    _file(w, p, prefix, "pending", status="pending")
    back = _file(w, p, prefix, "back", status="processing", kept_image={})  # restored once, deleted again
    _provisioning(back, "queued")
    _file(w, p, prefix, "gone", deleted_at=utcnow() - timedelta(days=1), purge_after=utcnow() + timedelta(days=29))
    db.session.flush()
    members = {
        "alt": ("col1", "tag1"),
        "deco": ("col1", "col2", "tag1", "tag2"),
        "pdf": ("col2",),
        "gone": ("col1", "tag1"),
    }
    members |= {"failed": ("tag2",), "processing": ("col2", "tag3")}
    for name, groups in members.items():
        for group in groups:
            row = CollectionImage if group.startswith("col") else ImageTag
            key = {"collection_id": f"{prefix}{group}"} if group.startswith("col") else {"tag_id": f"{prefix}{group}"}
            db.session.add(row(file_id=f"{prefix}{name}", **key))
    db.session.flush()
    for col in cols:  # the counts of files that are not in the trash, as organise keeps them
        col.image_count = sum(1 for n, g in members.items() if col.id[len(prefix) :] in g and n != "gone")
    for tag in tags:
        tag.use_count = sum(1 for n, g in members.items() if tag.id[len(prefix) :] in g and n != "gone")
    db.session.commit()
    ids = list(db.session.scalars(select(File.id).where(File.workspace_id == w).order_by(File.id)))
    return w, p, ids


def snapshot(ws: str, prj: str, prefix: str) -> dict:
    """Every row the trash writes, with the prefix taken out of ids and times made relative."""

    def plain(value):
        if isinstance(value, str):
            return value.replace(prefix, "<>").replace(ws, "<ws>").replace(prj, "<prj>")
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    db.session.expire_all()
    found = {}
    for file in db.session.scalars(select(File).where(File.workspace_id == ws)):
        trashed_for = file.purge_after - file.deleted_at if file.deleted_at and file.purge_after else None
        found[plain(file.id)] = (
            file.status,
            file.error_code,
            file.error_message,
            file.deleted_at is not None,
            trashed_for and round(trashed_for.total_seconds() / 86400),
            file.kept_image,
            file.updated_at >= file.created_at,
        )
    images = {
        plain(i.file_id): (i.alt_text, i.decorative, i.focal_x, i.focal_y, i.crops, plain(i.cf_image_id))
        for i in db.session.scalars(select(Image).where(Image.workspace_id == ws))
    }
    now = utcnow()
    provisioning = {
        plain(r.file_id): (r.state, r.attempts, plain(r.cf_image_id), r.next_attempt_at > now + timedelta(seconds=60))
        for r in db.session.scalars(select(Provisioning).where(Provisioning.workspace_id == ws))
    }
    pending = sorted(
        (r.kind, plain(r.subject_id), plain(r.target), str(sorted(plain(r.payload).items())), r.lease_until is not None)
        for r in db.session.scalars(select(removals.PendingRemoval).where(removals.PendingRemoval.workspace_id == ws))
    )
    events = defaultdict(list)
    for event in db.session.scalars(select(Event).where(Event.workspace_id == ws).order_by(Event.created_at, Event.id)):
        payload = dict(event.payload)
        if "purgeAfter" in payload:  # 30 days after the delete
            payload["purgeAfter"] = round((datetime.fromisoformat(payload["purgeAfter"]) - event.created_at).days)
        events[plain(event.subject_id)].append((event.type, plain(payload)))
    return {
        "files": found,
        "images": images,
        "provisioning": provisioning,
        "removals": pending,
        "events": dict(events),
        "collections": {
            c.name: c.image_count for c in db.session.scalars(select(Collection).where(Collection.workspace_id == ws))
        },
        "tags": {t.name: t.use_count for t in db.session.scalars(select(Tag).where(Tag.workspace_id == ws))},
        "tally": sorted(
            (t.live, t.kind, t.status, t.n)
            for t in db.session.scalars(select(FileTally).where(FileTally.project_id == prj, FileTally.n != 0))
        ),
        "members": sorted(
            plain(f"{m.collection_id}:{m.file_id}")
            for m in db.session.scalars(select(CollectionImage))
            if m.file_id.startswith(prefix)
        )
        + sorted(
            plain(f"{m.tag_id}:{m.file_id}")
            for m in db.session.scalars(select(ImageTag))
            if m.file_id.startswith(prefix)
        ),
    }


def _lease(ws: str, name: str) -> None:
    """Another worker is removing this file's Images copy right now: a restore waits for that attempt."""
    db.session.execute(
        update(removals.PendingRemoval)
        .where(removals.PendingRemoval.workspace_id == ws, removals.PendingRemoval.subject_id.like(f"%{name}"))
        .values(lease_until=utcnow() + timedelta(minutes=2))
    )
    db.session.commit()


def _error(call) -> tuple[str, str]:
    with pytest.raises(NotFound) as caught:
        call()
    db.session.rollback()
    return caught.value.code, str(caught.value)


def test_set_based_trash_and_restore_leave_what_the_per_file_path_left(ctx):
    old_ws, old_prj, old_ids = build(OLD)
    new_ws, new_prj, new_ids = build(NEW)
    assert snapshot(old_ws, old_prj, OLD) == snapshot(new_ws, new_prj, NEW)

    # Delete the whole selection (the id already in the trash among it) as bulk.delete did, file by file.
    live = list(
        db.session.scalars(select(File).where(File.workspace_id == old_ws, File.live()).order_by(File.id.desc()))
    )
    old_until = {file.id[2:]: old_discard(file) for file in live}
    db.session.commit()
    outcome = bulk.delete(new_ws, new_prj, new_ids)
    new_until = {file.id[2:]: file.purge_after for file in outcome.trashed}
    assert sorted(i[2:] for i in outcome.done) == sorted(old_until)
    assert sorted(new_until) == sorted(k for k, v in old_until.items() if v is not None)
    deleted = snapshot(old_ws, old_prj, OLD)
    assert deleted == snapshot(new_ws, new_prj, NEW)
    assert deleted["files"]["<>alt"][5] == {
        "altText": "A beach at dusk",
        "decorative": False,
        "focalX": 0.25,
        "focalY": 0.75,
        "crops": CROPS,
    }
    assert "<>pending" not in deleted["files"] and not deleted["images"] and not deleted["provisioning"]
    assert deleted["collections"] == {"C1": 0, "C2": 0} and deleted["tags"] == {"T1": 0, "T2": 0, "T3": 0}

    # The Images copy of one is being removed right now: its provisioning waits for that attempt.
    _lease(old_ws, "deco")
    _lease(new_ws, "deco")
    # Restore everything in the trash, as restore_files did, one id after the other.
    trashed = sorted(
        db.session.scalars(select(File.id).where(File.workspace_id == old_ws, File.deleted_at.is_not(None)))
    )
    old_back = [old_restore(old_ws, file_id).id[2:] for file_id in trashed]
    db.session.commit()
    new_back = [file.id[2:] for file in trash.restore_files(new_ws, [NEW + i for i in old_back])]
    assert new_back == old_back
    restored = snapshot(old_ws, old_prj, OLD)
    assert restored == snapshot(new_ws, new_prj, NEW)
    assert restored["collections"] == {"C1": 3, "C2": 3} and restored["tags"] == {"T1": 3, "T2": 2, "T3": 1}
    assert restored["provisioning"]["<>deco"][3] is True  # waits for the removal under way

    # An id not in the trash (back already) fails the restore of the whole list the same way.
    old = _error(lambda: old_restore(old_ws, OLD + "pdf"))
    new = _error(lambda: trash.restore_files(new_ws, [NEW + "pdf", NEW + "alt"]))
    assert old[0] == new[0] == "not_in_trash" and old[1].replace(OLD, "") == new[1].replace(NEW, "")
    assert snapshot(old_ws, old_prj, OLD) == snapshot(new_ws, new_prj, NEW)


def test_a_file_trashed_by_another_transaction_meanwhile_fails_both_paths_alike(ctx):
    old_ws, old_prj, _ = build(OLD)
    new_ws, new_prj, _ = build(NEW)
    before = snapshot(new_ws, new_prj, NEW)
    errors = []
    paths = ((old_ws, lambda doomed: [old_discard(f) for f in doomed]), (new_ws, trash.discard_all))
    for ws, discard in paths:
        doomed = list(
            db.session.scalars(
                select(File).where(File.workspace_id == ws, File.live(), File.status != "pending").order_by(File.id)
            )
        )
        # The session still holds them as live; the row says another delete won the claim.
        db.session.execute(
            update(File)
            .where(File.id == doomed[2].id)
            .values(deleted_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        errors.append(_error(lambda doomed=doomed, discard=discard: discard(doomed)))
    assert errors[0][0] == errors[1][0] == "file_not_found"
    assert errors[0][1].replace(OLD, "") == errors[1][1].replace(NEW, "")
    assert snapshot(new_ws, new_prj, NEW) == before  # rolled back: nothing half done


def test_one_file_and_many_take_the_same_path(ctx):
    """The API's single delete and restore are the set-based path with one id: the same rows as a bulk of two."""
    one_ws, one_prj, one_ids = build(OLD)
    two_ws, two_prj, two_ids = build(NEW)
    for file_id in one_ids:
        file = db.session.get(File, file_id)
        if file.deleted_at is None:
            trash.discard(file)
            db.session.commit()
    bulk.delete(two_ws, two_prj, two_ids)
    assert snapshot(one_ws, one_prj, OLD) == snapshot(two_ws, two_prj, NEW)
    for file_id in one_ids:
        if file_id != OLD + "pending":
            trash.restore(one_ws, file_id)
            db.session.commit()
    trash.restore_files(two_ws, [i for i in two_ids if i != NEW + "pending"])
    assert snapshot(one_ws, one_prj, OLD) == snapshot(two_ws, two_prj, NEW)


def _many(prefix: str, count: int) -> tuple[str, str, list[str]]:
    """A library of `count` images, each in a collection and with a tag."""
    ws, prj, _ = build(prefix)
    for n in range(count):
        file = _file(ws, prj, prefix, f"many{n:04d}")
        _image(file, alt_text=f"photo {n}")
    db.session.flush()
    for n in range(count):
        db.session.add(CollectionImage(collection_id=f"{prefix}col1", file_id=f"{prefix}many{n:04d}"))
        db.session.add(ImageTag(tag_id=f"{prefix}tag{n % 3 + 1}", file_id=f"{prefix}many{n:04d}"))
    db.session.get(Collection, f"{prefix}col1").image_count += count
    for n in range(3):
        db.session.get(Tag, f"{prefix}tag{n + 1}").use_count += len(range(n, count, 3))
    db.session.commit()
    ids = list(db.session.scalars(select(File.id).where(File.workspace_id == ws, File.id.like(f"{prefix}many%"))))
    return ws, prj, ids


def _statements(call) -> list[str]:
    """The statements other than INSERTs (the events' and removals' rows go in batches at commit) a call runs."""
    from sqlalchemy import event

    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith("INSERT"):
            seen.append(" ".join(statement.split()[:3]))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return sorted(seen)


def test_trash_and_restore_of_many_files_take_as_many_statements_as_of_a_few(ctx):
    """Within one chunk the statements do not grow with the files (the per-file path ran a few per file)."""
    few_ws, few_prj, few = _many(OLD, 20)
    many_ws, many_prj, many = _many(NEW, 200)
    assert _statements(lambda: bulk.delete(few_ws, few_prj, few)) == _statements(
        lambda: bulk.delete(many_ws, many_prj, many)
    )
    counts = {
        c.name: c.image_count for c in db.session.scalars(select(Collection).where(Collection.workspace_id == many_ws))
    }
    assert counts == {"C1": 2, "C2": 3}
    assert _statements(lambda: trash.restore_files(few_ws, few)) == _statements(
        lambda: trash.restore_files(many_ws, many)
    )
    assert {
        c.name: c.image_count for c in db.session.scalars(select(Collection).where(Collection.workspace_id == many_ws))
    } == {"C1": 202, "C2": 3}
