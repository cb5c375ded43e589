"""`aeontel doctor`: reconcile the database, the file store and the Images account, both ways.

Finds, for every workspace at once:
- `missing_bytes`: a ready (or failed-but-stored) file row whose stored object is gone;
- `orphan_object`: a stored object that no file row names;
- `missing_copy`: an image row whose Images copy is gone;
- `orphan_copy`: an Images copy made for a file id (metadata `fileId` or `creator`) that has no image row and
  no provisioning in flight;
- `stuck_provisioning`: provisioning that is due (or whose lease ran out) but has not been enqueued for a while;
- `account_drift`: the Images account differs from what the product needs (flexible variants off, a named variant
  missing or any option it relies on different, `public`'s included, no usable signing key while a workspace keeps
  images private); see images_account.
- `overdue_removal`: an Images copy or stored bytes of a deleted file still pending removal long after the delete;
- `deleted_copy_delivered`: a deleted file whose Images copy the service still lists or delivers.
- `stale_spool`: an upload spool (`upload-*.part` in UPLOAD_TMP_DIR) that no process has open and nothing has written
  for SPOOL_IDLE: the request that wrote it died (a killed web process); `--fix` removes it.

Dry-run by default. `fix=True` repairs what is safe: orphan objects and orphan copies are deleted (nothing refers to
them; a file row is always committed before its bytes are stored, and a copy being made belongs to provisioning in
flight, which is skipped), stuck provisioning is enqueued again (the job claims its row, so a duplicate is harmless),
files whose bytes are missing are marked `error` so nobody waits for them, and the account setup is applied;
overdue removals and deleted copies still delivered are made due and carried out at once (the row stays if that
fails, and the worker keeps trying). A missing copy is reported only: the image row still names it and deciding
between re-provisioning and deleting is an editor's call.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.adapters.cloudflare import ImageNotFound, ImagesError
from app.adapters.storage import MASTER_SUFFIX
from app.domain import images_account, removals, services
from app.domain.accounts import Workspace
from app.domain.common import utcnow
from app.domain.files import File
from app.domain.images import IN_FLIGHT, PROVISION_JOB, Image, Provisioning
from app.extensions import db

log = logging.getLogger(__name__)

KINDS = (
    "missing_bytes",
    "orphan_object",
    "missing_copy",
    "orphan_copy",
    "stuck_provisioning",
    "account_drift",
    "overdue_removal",
    "deleted_copy_delivered",
    "stale_spool",
)
# A spool untouched this long and open in no process belongs to no upload in progress.
SPOOL_IDLE = timedelta(minutes=2)
# Provisioning is "stuck" when it has waited this long past being due without a job picking it up.
STUCK_AFTER = timedelta(minutes=5)
# A removal still pending this long after the delete is reported: the images service or storage is refusing it.
REMOVAL_OVERDUE_AFTER = timedelta(minutes=10)


@dataclass
class Finding:
    kind: str
    subject: str
    detail: str
    workspace_id: str | None = None
    action: str = ""  # what --fix does (dry run) or did
    fixed: bool = False


@dataclass
class Report:
    fix: bool
    findings: list[Finding] = field(default_factory=list)
    checked: dict = field(default_factory=dict)

    def add(self, kind: str, subject: str, detail: str, workspace_id: str | None = None, action: str = "") -> Finding:
        finding = Finding(kind, subject, detail, workspace_id, action)
        self.findings.append(finding)
        return finding

    @property
    def unresolved(self) -> list[Finding]:
        return [f for f in self.findings if not f.fixed]

    def as_dict(self) -> dict:
        counts = {kind: sum(1 for f in self.findings if f.kind == kind) for kind in KINDS}
        return {
            "fix": self.fix,
            "checked": self.checked,
            "found": counts,
            "fixed": sum(1 for f in self.findings if f.fixed),
            "unresolved": len(self.unresolved),
            "findings": [asdict(f) for f in self.findings],
        }


def run(fix: bool = False, stuck_after: timedelta = STUCK_AFTER, spool_idle: timedelta = SPOOL_IDLE) -> Report:
    report = Report(fix=fix)
    storage = services.storage()
    files = list(db.session.scalars(select(File)))
    _check_bytes(report, storage, files)
    _check_objects(report, storage, {f.storage_key for f in files})
    _check_account(report)
    copies = _check_copies(report)
    _check_provisioning(report, stuck_after)
    _check_removals(report, copies)
    _check_spools(report, spool_idle)
    _check_resumable(report)
    db.session.commit()
    return report


def open_files() -> set[str] | None:
    """Paths some process on this machine has open (from /proc), or None where that cannot be seen."""
    if not os.path.isdir("/proc/self/fd"):
        return None
    paths = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with os.scandir(f"/proc/{pid}/fd") as fds:
                for fd in fds:
                    try:
                        paths.add(os.readlink(fd.path))
                    except OSError:
                        continue  # closed meanwhile
        except OSError:
            continue  # gone meanwhile, or another user's
    return paths


def _check_spools(report: Report, idle: timedelta) -> None:
    directory = current_app.config["UPLOAD_TMP_DIR"]
    entries = []
    if os.path.isdir(directory):
        with os.scandir(directory) as found:
            entries = [entry for entry in found if entry.name.startswith("upload-")]
    report.checked["spools"] = len(entries)
    if not entries:
        return
    held = open_files() or set()
    cutoff = utcnow().timestamp() - idle.total_seconds()
    for entry in entries:
        try:
            info = entry.stat()
        except FileNotFoundError:
            continue  # stored or discarded meanwhile
        if info.st_mtime > cutoff or os.path.realpath(entry.path) in held:
            continue  # an upload still being received
        minutes = (utcnow().timestamp() - info.st_mtime) / 60
        finding = report.add(
            "stale_spool",
            entry.name,
            f"upload spool {entry.path} ({info.st_size:,} bytes, untouched "
            f"for {minutes:.0f} min) belongs to no upload in progress",
            None,
            "remove it",
        )
        if report.fix:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass
            finding.fixed, finding.action = True, "removed it"


def _check_resumable(report: Report) -> None:
    """Resumable uploads left unfinished past their expiry: their spools hold disk until removed."""
    from app.domain import resumable

    stale = resumable.expired(limit=10_000)
    report.checked["resumable_uploads"] = resumable.count()
    for row in stale:
        finding = report.add(
            "expired_resumable_upload",
            row.id,
            f"resumable upload {row.id} ({row.offset:,} of {row.length:,} bytes) expired at {row.expires_at:%Y-%m-%d %H:%M}",
            row.workspace_id,
            "remove its spool and row",
        )
        if report.fix:
            resumable.discard(row)
            finding.fixed, finding.action = True, "removed its spool and row"


def _check_bytes(report: Report, storage, files: list[File]) -> None:
    """Rows that promise stored bytes: ready files, and failed ones whose upload had finished."""
    checked = 0
    for file in files:
        if file.status == "pending" or file.error_code in ("upload_interrupted", "bytes_missing"):
            continue
        checked += 1
        if storage.exists(file.storage_key):
            continue
        finding = report.add(
            "missing_bytes",
            file.id,
            f"file row {file.id} ({file.name}) has no stored bytes at {file.storage_key}",
            file.workspace_id,
            "mark the file as error (bytes_missing)",
        )
        if report.fix:
            file.status, file.error_code = "error", "bytes_missing"
            file.error_message = "The stored bytes of this file are missing; upload it again."
            db.session.commit()
            finding.fixed, finding.action = True, "marked the file as error (bytes_missing)"
    report.checked["files"] = checked


def stored_keys(storage) -> list[str]:
    """Every object key in the store (the buckets of every workspace, where buckets are per workspace)."""
    return storage.keys(db.session.scalars(select(Workspace.id)))


def _check_objects(report: Report, storage, known: set[str]) -> None:
    keys = stored_keys(storage)
    report.checked["objects"] = len(keys)
    for key in keys:
        base = key[: -len(".partial")] if key.endswith(".partial") else key
        if base.endswith(MASTER_SUFFIX) and base[: -len(MASTER_SUFFIX)] in known:
            continue  # the master of a file's original: it goes with the file, and can be rebuilt from it
        if base in known and not key.endswith(".partial"):
            continue
        if key.endswith(".partial") and base in known:
            continue  # a copy across disks in progress (a local folder), or one the sweeper will clear
        finding = report.add(
            "orphan_object", key, f"stored object {key} has no file row", key.split("/", 1)[0], "delete the object"
        )
        if report.fix:
            storage.delete(base)  # the object and any partial copy of it
            finding.fixed, finding.action = True, "deleted the object"


def _check_account(report: Report) -> None:
    drift = images_account.run(fix=report.fix)
    report.checked["account_settings"] = len(images_account.ACCOUNT_CONFIG) + len(images_account.NAMED_VARIANTS)
    for item in drift:
        finding = report.add("account_drift", f"{item.kind}:{item.subject}", item.detail, None, item.action)
        finding.fixed = item.fixed
        if report.fix and item.fixed:
            finding.action = f"applied the account setup ({item.action})"


def list_copies(client) -> list[dict]:
    copies, token = [], None
    while True:
        page = client.list(per_page=1000, continuation_token=token) or {}
        copies.extend(page.get("images") or [])
        token = page.get("continuation_token")
        if not token:
            return copies


def _file_id_of(copy: dict) -> str | None:
    meta = copy.get("meta") or copy.get("metadata") or {}
    candidate = meta.get("fileId") if isinstance(meta, dict) else None
    candidate = candidate or copy.get("creator")
    return candidate if isinstance(candidate, str) and candidate.startswith("fil_") else None


def _check_copies(report: Report) -> list[dict]:
    client = services.images()
    copies = list_copies(client)
    report.checked["copies"] = len(copies)
    listed = {copy["id"] for copy in copies}
    images = list(db.session.scalars(select(Image)))
    report.checked["images"] = len(images)
    for image in images:
        if image.cf_image_id in listed:
            continue
        try:
            client.get(image.cf_image_id)  # listed a moment ago without it; ask once more before saying so
            continue
        except ImageNotFound:
            pass
        report.add(
            "missing_copy",
            image.file_id,
            f"image {image.file_id} names Images copy {image.cf_image_id}, which the images service does not have",
            image.workspace_id,
            "none (re-upload the file, or delete the image)",
        )
    owned = {image.cf_image_id for image in images}
    rows = {row.file_id: row for row in db.session.scalars(select(Provisioning))}
    removing = set(
        db.session.scalars(
            select(removals.PendingRemoval.subject_id).where(removals.PendingRemoval.kind == removals.IMAGES_COPY)
        )
    )
    for copy in copies:
        file_id = _file_id_of(copy)
        if copy["id"] in owned or file_id is None:
            continue  # in use, or not one of ours (the account may hold other applications' images)
        if file_id in removing:
            continue  # a pending removal owns it (reported below when the file is deleted and it is still there)
        row = rows.get(file_id)
        if row is not None and row.state in IN_FLIGHT:
            continue  # provisioning in flight will adopt or remove it
        meta = copy.get("meta") or {}
        finding = report.add(
            "orphan_copy",
            copy["id"],
            f"Images copy {copy['id']} was made for {file_id}, which has no image row and no provisioning in flight",
            meta.get("workspaceId"),
            "delete the copy",
        )
        if report.fix:
            try:
                client.delete(copy["id"])
            except ImageNotFound:
                pass
            except ImagesError as exc:
                finding.action = f"could not delete the copy: {exc.message}"
                continue
            finding.fixed, finding.action = True, "deleted the copy"
    return copies


def _check_provisioning(report: Report, stuck_after: timedelta) -> None:
    now = utcnow()
    rows = list(db.session.scalars(select(Provisioning).where(Provisioning.state.in_(IN_FLIGHT))))
    report.checked["provisioning_in_flight"] = len(rows)
    for row in rows:
        due = row.next_attempt_at if row.state in ("queued", "waiting") else row.lease_until
        if due is None or due > now - stuck_after:
            continue
        if row.enqueued_at is not None and row.enqueued_at > now - stuck_after:
            continue
        finding = report.add(
            "stuck_provisioning",
            row.file_id,
            f"provisioning of {row.file_id} is {row.state} and "
            f"was due at {due.isoformat()} with no job since "
            f"{row.enqueued_at.isoformat() if row.enqueued_at else 'ever'}",
            row.workspace_id,
            "enqueue the provisioning job again",
        )
        if report.fix:
            timeout = int(current_app.config["PROVISION_LEASE_SECONDS"]) * 2
            services.queue().enqueue("images", PROVISION_JOB, row.file_id, timeout=timeout)
            row.enqueued_at = utcnow()
            db.session.commit()
            finding.fixed, finding.action = True, "enqueued the provisioning job again"


def _still_delivered(client, cf_image_id: str) -> bool:
    return client.is_delivered(cf_image_id)


def _check_removals(report: Report, copies: list[dict]) -> None:
    """Deleted files whose copy is still listed or delivered, and removals pending for too long."""
    client = services.images()
    listed = {copy["id"] for copy in copies} | {file_id for copy in copies if (file_id := _file_id_of(copy))}
    pending = list(db.session.scalars(select(removals.PendingRemoval).order_by(removals.PendingRemoval.created_at)))
    report.checked["pending_removals"] = len(pending)
    overdue_before = utcnow() - REMOVAL_OVERDUE_AFTER
    for row in pending:
        finding = None
        if row.kind == removals.IMAGES_COPY:
            ids = set(row.payload.get("cfImageIds") or [])
            ids = sorted(ids if row.payload.get("only") else ids | {row.target})
            shown = [cf_id for cf_id in ids if cf_id in listed or _still_delivered(client, cf_id)]
            file = db.session.get(File, row.subject_id)
            if shown and (file is None or file.deleted_at is not None):  # deleted, or in the trash
                finding = report.add(
                    "deleted_copy_delivered",
                    row.subject_id,
                    f"file {row.subject_id} was deleted at {row.created_at.isoformat()} but the "
                    f"images service still lists or delivers {', '.join(shown)} ({row.attempts} removal "
                    f"attempts; last error: {row.last_error or 'none yet'})",
                    row.workspace_id,
                    "remove the copy now",
                )
        if finding is None and row.created_at < overdue_before:
            finding = report.add(
                "overdue_removal",
                row.target,
                f"{row.kind} {row.target} of deleted file {row.subject_id} is still pending after "
                f"{row.attempts} attempts (last error: {row.last_error or 'none'}; next attempt "
                f"{row.next_attempt_at.isoformat()})",
                row.workspace_id,
                "remove it now",
            )
        if finding is None or not report.fix:
            continue
        row.next_attempt_at, row.lease_until = utcnow(), None
        db.session.commit()
        outcome = removals.perform(row.id)
        finding.fixed = outcome in ("done", "gone")
        finding.action = "removed it" if finding.fixed else "could not remove it yet; the worker keeps trying"
