"""Acting on many files of a project at once: delete, retry the failed ones, download the originals as a ZIP."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field

from sqlalchemy import select

from app.domain import image_status, queries, services, trash
from app.domain.accounts import get_project
from app.domain.common import utcnow
from app.domain.errors import DomainError
from app.domain.files import File
from app.domain.images import Image, Provisioning
from app.extensions import db

MAX_SELECTION = 10_000
CHUNK = 256 * 1024


@dataclass(frozen=True)
class Outcome:
    done: list[str]
    skipped: list[str]  # not failed (retry)
    trashed: list[File] = field(default_factory=list)  # deleted into the trash: the gallery offers Undo
    permanent: list[str] = field(default_factory=list)  # failed for good (retry): remove, fix and upload again


def confirm_count(ids: list[str], expected) -> list[str]:
    """The selection of "all that match" as the editor confirmed it: when files arrived or went since the page
    counted them, nothing is done and the editor is told, so the number confirmed is the number acted on."""
    if expected in (None, ""):
        return ids
    try:
        confirmed = int(str(expected))
    except ValueError:
        raise DomainError("invalid_expected", "The confirmed number of files must be a whole number.") from None
    if confirmed != len(ids):
        raise DomainError(
            "selection_changed",
            f"The view now holds {len(ids):,} file{'s' if len(ids) != 1 else ''}, not the {confirmed:,} you "
            "confirmed (files arrived or went meanwhile); nothing was changed. Check the selection and try again.",
            status=409,
        )
    return ids


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
    """Deletes the selection in one transaction, through the same `trash.discard_all` as the per-tile Delete: into the
    workspace's trash (or for good when the trash is off); the Images copies go in removals retried from the
    database."""
    doomed = _files(workspace_id, project_id, file_ids)
    with db.session.no_autoflush:  # the events and removals of all files are written in one flush at commit
        until = trash.discard_all(doomed)  # a few statements per 500 files (app.domain.trash._trash)
    done = [file.id for file in doomed]
    trashed = [file for file, restorable in zip(doomed, until, strict=True) if restorable is not None]
    db.session.commit()
    return Outcome(done=done, skipped=[], trashed=trash.loaded_again(trashed))


def retry(workspace_id: str, project_id: str, file_ids: Iterable[str]) -> Outcome:
    """Queues every image of the selection that failed for a passing reason again; the others are left alone and
    reported as not failed, or as failed for good."""
    selected = _files(workspace_id, project_id, file_ids)
    loaded = _load_rows(selected)
    done, skipped, permanent = [], [], []
    for file in selected:
        entry = queries.Entry(file, db.session.get(Image, file.id), db.session.get(Provisioning, file.id))
        if not entry.can_retry:
            (permanent if entry.state == "failed" else skipped).append(file.id)
            continue
        image_status.retry(file)
        done.append(file.id)
    db.session.commit()
    del loaded
    return Outcome(done=done, skipped=skipped, permanent=permanent)


def retry_message(outcome: Outcome) -> str:
    """What a bulk retry did, in words the gallery shows: queued, failed for good, not failed."""
    parts = [f"Queued {_files_text(outcome.done, 'failed image')} again."] if outcome.done else []
    if outcome.permanent:
        parts.append(
            f"{_files_text(outcome.permanent, 'image')} failed for good and cannot be retried: remove, fix and "
            "upload again."
        )
    if outcome.skipped:
        were = "were" if len(outcome.skipped) != 1 else "was"
        parts.append(f"{_files_text(outcome.skipped, 'file')} had not failed and {were} left alone.")
    return " ".join(parts) or "Nothing to retry."


def _files_text(ids: list[str], noun: str) -> str:
    return f"{len(ids):,} {noun}{'s' if len(ids) != 1 else ''}"


def originals(workspace_id: str, project_id: str, file_ids: Iterable[str]) -> list[tuple[str, str]]:
    """(name in the ZIP, storage key) of each selected file: slashes become look-alikes that are no path, repeated
    names get " (2)", " (3)" before the extension."""
    seen: dict[str, int] = {}
    result = []
    for file in _files(workspace_id, project_id, file_ids):
        name = file.name.replace("/", "∕").replace("\\", "∖")  # a "/" typed into a name makes no folder (or "..")
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
    storage = storage or services.storage()
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
