"""Near duplicates: images whose perceptual hashes are within THRESHOLD bits, found through the hash's indexed bands
(never a scan), reviewed in groups and merged into the one an editor keeps (the others go to the trash)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Integer, String, and_, any_, bindparam, cast, func, select, union, update
from sqlalchemy.dialects.postgresql import ARRAY, BIT
from sqlalchemy.orm import Mapped, mapped_column

from app.domain import masters, organise, services, trash
from app.domain.common import UTCDateTime, utcnow
from app.domain.errors import DomainError, NotFound
from app.domain.events import emit
from app.domain.files import File
from app.domain.image_edits import snapshot
from app.domain.images import Image, get_image
from app.domain.job_names import Job
from app.domain.pictures import (
    BAND_COUNT,
    PlaceholderTooCostly,
    band_neighbours,
    bands,
    hamming,
    placeholder,
    to_signed,
)
from app.event_types import EventType
from app.extensions import db

log = logging.getLogger(__name__)

# Two images are near duplicates when their pHashes differ in at most THRESHOLD of 64 bits and one of their four
# 16-bit bands differs in at most RADIUS bits: the lookup asks each band's index for the 137 values within RADIUS bits
# of the hash's band, so it reads a few rows per band and never scans. Pigeonhole: hashes within
# 4 * (RADIUS + 1) - 1 = 11 bits always share such a band; at 12 most pairs do. Both chosen by
# bench/near_duplicates_eval.py, which measures this very rule (`is_near`): see bench/RESULTS.md.
THRESHOLD = 12
RADIUS = 2
MAX_SIMILAR = 50
MAX_MERGED = 50
GROUPS_SCANNED = 200  # images walked per page of groups: each is one indexed lookup


def is_near(a: int, b: int, threshold: int = THRESHOLD) -> bool:
    """The rule `near` applies in the database and in Python, for two hashes."""
    band_distance = min(hamming(x, y) for x, y in zip(bands(a), bands(b)))
    return band_distance <= min(RADIUS, threshold // BAND_COUNT) and hamming(a, b) <= threshold


@dataclass(frozen=True)
class Near:
    """An image near another, with its file and how many bits their hashes differ in."""

    image: Image
    file: File
    distance: int


def candidates(workspace_id: str, phash: int, radius: int, threshold: int):
    """(file id, hash) of images sharing a band within `radius` bits: one index-only range read per band
    (`ix_image_workspace_id_phash_bandN` covers the hash and the id), never the table. PostgreSQL also measures
    the distance (`bit_count`), so only the near rows come back; elsewhere Python does."""
    postgresql = db.session.get_bind().dialect.name == "postgresql"

    def one_of(column, values: list[int]):
        # PostgreSQL: one array parameter (= ANY), not 137 placeholders to convert and plan on every call.
        return column == any_(bindparam(None, values, type_=ARRAY(Integer))) if postgresql else column.in_(values)

    parts = [
        select(Image.file_id.label("file_id"), Image.phash.label("phash")).where(
            Image.workspace_id == workspace_id, one_of(getattr(Image, f"phash_band{i}"), band_neighbours(band, radius))
        )
        for i, band in enumerate(bands(phash))
    ]
    found = union(*parts).subquery()
    statement = select(found.c.file_id, found.c.phash)
    if postgresql:
        distance = func.bit_count(cast(found.c.phash.op("#")(to_signed(phash)), BIT(64)))
        statement = statement.where(distance <= threshold)
    return statement


def near(workspace_id: str, phash: int, threshold: int = THRESHOLD, project_id: str | None = None) -> list[Near]:
    """Live images of the workspace within `threshold` bits of `phash` (and a band within RADIUS bits), nearest
    first (then oldest): candidates from the bands' indexes, then the exact distance, then the few rows read."""
    if not 0 <= threshold <= THRESHOLD:
        raise DomainError("invalid_threshold", f"threshold must be from 0 to {THRESHOLD}.", parameter="threshold")
    radius = min(RADIUS, threshold // BAND_COUNT)
    distances = {
        file_id: hamming(value, phash)
        for file_id, value in db.session.execute(candidates(workspace_id, phash, radius, threshold))
    }
    close = [file_id for file_id, distance in distances.items() if distance <= threshold]
    if not close:
        return []
    statement = (
        select(Image, File).join(File, and_(File.id == Image.file_id, File.live())).where(Image.file_id.in_(close))
    )
    if project_id:
        statement = statement.where(File.project_id == project_id)
    found = [Near(image, file, distances[file.id]) for image, file in db.session.execute(statement)]
    return sorted(found, key=lambda n: (n.distance, n.file.id))


def similar(workspace_id: str, file_id: str, threshold: int = THRESHOLD, limit: int = MAX_SIMILAR) -> list[Near]:
    """`GET /api/images/{id}/similar`: the workspace's other images near this one (none when it has no hash yet)."""
    image = get_image(workspace_id, file_id)
    if image.phash is None:
        return []
    return [n for n in near(workspace_id, image.phash, threshold) if n.image.file_id != file_id][:limit]


@dataclass(frozen=True)
class Group:
    """Near duplicates of `members[0]`, the oldest of them (the one a review suggests keeping)."""

    members: list[Near]


_CURSOR_SALT = "aeontel.duplicate-groups-cursor.v1"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_CURSOR_SALT)


def sign_cursor(workspace_id: str, project_id: str | None, after: str) -> str:
    """Where the next page of groups starts, bound to the workspace and project it walks."""
    return _serializer().dumps([workspace_id, project_id or "", after])


def read_cursor(workspace_id: str, project_id: str | None, cursor: str | None) -> str | None:
    """The file id a page starts after; a made-up, tampered or other walk's cursor is `invalid_cursor`."""
    if not cursor:
        return None
    try:
        data = _serializer().loads(cursor)
    except (BadSignature, ValueError, UnicodeDecodeError):
        data = None
    if not (isinstance(data, list) and len(data) == 3 and data[:2] == [workspace_id, project_id or ""]):
        raise DomainError(
            "invalid_cursor",
            "That cursor (page link) was not given out for this review; start again from the first page.",
            parameter="cursor",
        )
    return str(data[2])


def groups(
    workspace_id: str, project_id: str | None = None, cursor: str | None = None
) -> tuple[list[Group], str | None]:
    """Groups of near duplicates, walking up to GROUPS_SCANNED hashed images in upload order from `cursor`; an image
    opens a group when it has near images and none of them is older (so a group is listed once). Returns the groups
    and the signed cursor of the next page (None at the end)."""
    after = read_cursor(workspace_id, project_id, cursor)
    statement = (
        select(Image.file_id, Image.phash)
        .join(File, and_(File.id == Image.file_id, File.live()))
        .where(Image.workspace_id == workspace_id, Image.phash.is_not(None))
        .order_by(Image.file_id)
        .limit(GROUPS_SCANNED + 1)
    )
    if project_id:
        statement = statement.where(File.project_id == project_id)
    if after:
        statement = statement.where(Image.file_id > after)
    rows = list(db.session.execute(statement))
    found = []
    for file_id, phash in rows[:GROUPS_SCANNED]:
        members = near(workspace_id, phash, project_id=project_id)
        if len(members) > 1 and min(m.file.id for m in members) == file_id:
            anchor = next(m for m in members if m.file.id == file_id)
            found.append(Group([anchor] + [m for m in members if m.file.id != file_id]))
    if len(rows) > GROUPS_SCANNED:
        return found, sign_cursor(workspace_id, project_id, rows[GROUPS_SCANNED - 1][0])
    return found, None


# What else a merge carries from each discarded image to the kept one: `merger(kept, other)` runs in the merge's
# transaction after alt text and focal point and answers what the kept image gained ({"tags": {"added": [...]}}),
# which image.updated names. Tags and collections register theirs (app.domain.organise).
_MERGERS: list[Callable[[Image, Image], dict | None]] = []


def merges(merger: Callable[[Image, Image], dict | None]) -> Callable[[Image, Image], dict | None]:
    _MERGERS.append(merger)
    return merger


merges(organise.merge_labels)  # tags, and collections within the kept image's project


@dataclass(frozen=True)
class Merged:
    kept: Image
    file: File
    trashed: dict[str, object]  # file id -> restorable until (None: removed for good, the trash being off)
    changed: dict


def merge(workspace_id: str, keep_id: str, other_ids: list[str]) -> Merged:
    """Keeps one image and puts the others in the trash (restorable, as any delete), in one transaction: the kept
    image takes a discarded one's alt text and focal point where it has none, and whatever `_MERGERS` carry;
    `image.updated` names what the kept one gained, `file.deleted`/`image.deleted` announce the others."""
    others = list(dict.fromkeys(other_ids))
    if not others or len(others) > MAX_MERGED:
        raise DomainError(
            "invalid_merge", f"Name 1 to {MAX_MERGED} images to merge into the kept one.", parameter="merge"
        )
    if keep_id in others:
        raise DomainError("invalid_merge", "The kept image cannot also be merged away.", parameter="merge")
    kept = get_image(workspace_id, keep_id)
    kept_file = db.session.get(File, keep_id)
    discarded = []
    for other_id in others:
        try:
            discarded.append((get_image(workspace_id, other_id), db.session.get(File, other_id)))
        except NotFound:
            raise NotFound("image_not_found", f"No image {other_id!r} in this workspace.", parameter="merge") from None
    before = snapshot(kept, kept_file)
    gained: dict[str, dict[str, list]] = {}
    for image, _ in discarded:
        _carry(kept, image)
        for merger in _MERGERS:
            for key, hows in (merger(kept, image) or {}).items():
                for how, values in hows.items():
                    gained.setdefault(key, {}).setdefault(how, []).extend(values)
    changed = {key: value for key, value in snapshot(kept, kept_file).items() if before[key] != value} | gained
    if changed:
        emit(EventType.IMAGE_UPDATED, workspace_id=workspace_id, subject_id=keep_id, payload={"changed": changed})
    trashed = {file.id: trash.discard(file) for _, file in discarded}
    db.session.commit()
    return Merged(kept, kept_file, trashed, changed)


def _carry(kept: Image, other: Image) -> None:
    """What people gave the discarded image that the kept one lacks: alt text (or being decorative), focal point."""
    if not (kept.alt_text or "").strip() and not kept.decorative:
        if (other.alt_text or "").strip():
            kept.alt_text = other.alt_text
        elif other.decorative:
            kept.decorative = True
    if kept.focal_x is None and other.focal_x is not None:
        kept.focal_x, kept.focal_y = other.focal_x, other.focal_y


class Backfill(db.Model):
    """The hash backfill's progress, one row: images before `after_file_id` (in id order) have been visited, so a
    killed run started again continues there. State lives here, never in Redis."""

    __tablename__ = "phash_backfill"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="running")  # running | done
    after_file_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


BACKFILL_ID = "phash"
BACKFILL_BATCH = 50


def backfill_progress() -> Backfill | None:
    return db.session.get(Backfill, BACKFILL_ID)


def start_backfill(restart: bool = False) -> Backfill:
    """The progress row, made if missing; `restart` walks every image again from the first (new hashes only fill
    images that have none)."""
    row = backfill_progress()
    if row is None:
        row = Backfill(id=BACKFILL_ID, state="running", done=0, failed=0, started_at=utcnow(), updated_at=utcnow())
        db.session.add(row)
    elif restart or row.state == "done":
        row.state, row.after_file_id, row.done, row.failed = "running", None, 0, 0
        row.started_at, row.updated_at, row.finished_at = utcnow(), utcnow(), None
    db.session.commit()
    return row


def enqueue_backfill() -> Backfill:
    """Starts (or continues) the backfill in the worker."""
    row = start_backfill()
    services.queue().enqueue("images", Job.BACKFILL_PHASHES, timeout=6 * 3600)
    return row


def backfill(batches: int | None = None, batch: int = BACKFILL_BATCH) -> Backfill:
    """Hashes images made before hashes existed, `batch` at a time from where the progress row says, committing the
    hashes and the new position together; `batches` stops early (None: until the end)."""
    row = start_backfill()
    walked = 0
    while row.state == "running" and (batches is None or walked < batches):
        statement = select(Image, File).join(File, File.id == Image.file_id).order_by(Image.file_id).limit(batch)
        if row.after_file_id:
            statement = statement.where(Image.file_id > row.after_file_id)
        found = list(db.session.execute(statement.where(Image.phash.is_(None), Image.format != "svg")))
        if not found:
            row.state, row.finished_at = "done", utcnow()
        for image, file in found:
            value = _hash_stored(image, file)
            if value is None:
                row.failed += 1
            else:
                # Only a row still without a hash: provisioning (a restore) may have written one meanwhile.
                db.session.execute(
                    update(Image)
                    .where(Image.file_id == image.file_id, Image.phash.is_(None))
                    .values(**_hash_columns(value))
                )
                row.done += 1
        if found:
            row.after_file_id = found[-1][0].file_id
        row.updated_at = utcnow()
        db.session.commit()
        walked += 1
    return row


def _hash_columns(value: int) -> dict:
    scratch = Image()
    scratch.set_phash(value)
    return {"phash": scratch.phash, **{f"phash_band{i}": getattr(scratch, f"phash_band{i}") for i in range(BAND_COUNT)}}


def _hash_stored(image: Image, file: File) -> int | None:
    """The hash of what the images service was sent (the master when one was made), as provisioning computes it."""
    key = masters.master_key(file.storage_key) if image.source == "master" else file.storage_key
    try:
        with services.storage().open_seekable(key) as stream:
            return placeholder(stream).phash
    except PlaceholderTooCostly as exc:
        log.info("no perceptual hash for %s: %s", image.file_id, exc)
        return None
    except Exception as exc:  # noqa: BLE001 - a damaged or missing original is counted as failed; the walk goes on
        log.warning("no perceptual hash for %s: %s", image.file_id, exc)
        return None
