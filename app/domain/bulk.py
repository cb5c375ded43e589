"""Acting on many files of a project at once: delete, retry the failed ones, download the originals as a ZIP."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from app.domain import gallery, image_status, trash
from app.domain.accounts import DomainError, get_project
from app.domain.common import utcnow
from app.domain.files import File
from app.domain.images import Image, Provisioning
from app.extensions import db

MAX_SELECTION = 10_000
CHUNK = 256 * 1024


@dataclass(frozen=True)
class Outcome:
    done: list[str]
    skipped: list[str]
    trashed: list[File] = field(default_factory=list)  # deleted into the trash: the gallery offers Undo


def _files(workspace_id: str, project_id: str, file_ids: Iterable[str]) -> list[File]:
    """This project's files among the ids, newest first; ids of other projects or workspaces are ignored."""
    get_project(workspace_id, project_id)
    ids = sorted({i for i in file_ids if isinstance(i, str) and 0 < len(i) <= 32})
    if not ids:
        raise DomainError("nothing_selected", "Select at least one file first.")
    if len(ids) > MAX_SELECTION:
        raise DomainError("too_many_selected", f"At most {MAX_SELECTION:,} files can be changed at once.")
    found: list[File] = []
    for start in range(0, len(ids), 500):  # bounded IN lists for every database
        found += db.session.scalars(
            select(File).where(
                File.workspace_id == workspace_id,
                File.live(),
                File.project_id == project_id,
                File.id.in_(ids[start : start + 500]),
            )
        )
    return sorted(found, key=lambda f: f.id, reverse=True)


def _load_rows(selected: list[File]) -> list:
    """Loads the image and provisioning rows of the selection in a few queries, so that the per-file work that
    follows (`session.get`) finds them in the session instead of asking the database once per file; the caller
    holds the returned list, since the session only keeps weak references."""
    ids = [file.id for file in selected]
    rows: list = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows += db.session.scalars(select(Image).where(Image.file_id.in_(chunk)))
        rows += db.session.scalars(select(Provisioning).where(Provisioning.file_id.in_(chunk)))
    return rows


def delete(workspace_id: str, project_id: str, file_ids: Iterable[str]) -> Outcome:
    """Deletes the selection in one transaction, as the per-tile Delete does: into the workspace's trash (or for good
    when the trash is off); the Images copies go in removals retried from the database."""
    doomed = _files(workspace_id, project_id, file_ids)
    loaded = _load_rows(doomed)
    with db.session.no_autoflush:  # the events and deletions of all files are written in one flush at commit
        for file in doomed:
            trash.discard(file)
    db.session.commit()
    del loaded
    return Outcome(done=[f.id for f in doomed], skipped=[], trashed=[f for f in doomed if f.deleted_at is not None])


def retry(workspace_id: str, project_id: str, file_ids: Iterable[str]) -> Outcome:
    """Queues every failed image of the selection again; others are left alone and reported as skipped."""
    selected = _files(workspace_id, project_id, file_ids)
    loaded = _load_rows(selected)
    done, skipped = [], []
    for file in selected:
        entry = gallery.Entry(file, db.session.get(Image, file.id), db.session.get(Provisioning, file.id))
        if not entry.can_retry:
            skipped.append(file.id)
            continue
        image_status.retry(file)
        done.append(file.id)
    db.session.commit()
    del loaded
    return Outcome(done=done, skipped=skipped)


def originals(workspace_id: str, project_id: str, file_ids: Iterable[str]) -> list[tuple[str, str]]:
    """(name in the ZIP, storage key) of each selected file; repeated names get " (2)", " (3)" before the extension."""
    seen: dict[str, int] = {}
    result = []
    for file in _files(workspace_id, project_id, file_ids):
        name = file.name
        count = seen.get(name.lower(), 0) + 1
        seen[name.lower()] = count
        if count > 1:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem} ({count}).{ext}" if dot and stem else f"{name} ({count})"
        result.append((name, file.storage_key))
    return result


class _Pipe:
    """A write-only, unseekable sink whose bytes the generator below takes away after every write."""

    def __init__(self):
        self.chunks: list[bytes] = []
        self.offset = 0

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def stream_zip(entries: list[tuple[str, str]], storage=None) -> Iterator[bytes]:
    """The ZIP of these stored files, produced while it is sent: one chunk of one file in memory at a time."""
    storage = storage or current_app.extensions["storage"]
    pipe = _Pipe()
    # Photos do not shrink under deflate, so they are stored; ZIP64 is allowed for big selections.
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, key in entries:
            info = zipfile.ZipInfo(name, date_time=utcnow().timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED
            with closing(storage.open(key)) as source, archive.open(info, "w", force_zip64=True) as target:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                    yield pipe.take()
            yield pipe.take()
    yield pipe.take()
