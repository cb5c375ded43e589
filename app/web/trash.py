"""The project's Trash page and the gallery's Undo: restore, delete for good, empty; editors and owners only."""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, g, redirect, request, session, url_for
from werkzeug.exceptions import HTTPException

from app.domain import queries, trash
from app.domain.errors import DomainError, NotFound
from app.web import gallery as gallery_web
from app.web.auth import project_scoped
from app.web.render import render, render_fragment, wants_fragment

bp = Blueprint("trash", __name__, url_prefix="/w/<workspace_id>/p/<project_id>/trash")

PAGE_SIZE = 100
UNDO_KEY, MAX_UNDO = gallery_web.UNDO_KEY, gallery_web.MAX_UNDO


project_scoped(bp)


@bp.before_request
def editors_only():
    if not g.can_write:
        # Viewers never saw the delete; the trash is for undoing one's own changes, so it stays out of their way.
        abort(403, "The trash is for editors and owners; ask an owner for the editor role.")


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    return gallery_web.error_response(error.status, error.message)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    return gallery_web.http_error(error)  # the gallery's error page and fragment


@bp.app_template_global()
def delete_question(name: str) -> str:
    """The gallery's delete confirmation: none while the trash keeps deletions (Undo is there instead)."""
    if "workspace" in g and trash.trash_days(g.workspace.id) > 0:
        return ""
    return f"Delete {name}? This cannot be undone."


@bp.app_template_global()
def bulk_delete_question() -> str:
    """The bulk bar's confirmation, likewise: none while the trash keeps deletions."""
    if "workspace" in g and trash.trash_days(g.workspace.id) > 0:
        return ""
    return "Delete the selected files? This cannot be undone."


@bp.app_template_global()
def pending_undo() -> list:
    """The files a plain form delete just sent to the trash, shown once with an Undo button on the next page."""
    ids = session.pop(UNDO_KEY, None) or []
    if "workspace" not in g or not isinstance(ids, list):
        return []
    found = []
    for file_id in ids[:MAX_UNDO]:
        try:
            found.append(trash.get_trashed(g.workspace.id, str(file_id)))
        except DomainError:
            continue  # restored or purged since
    return found


def listing():
    """The project's trash, newest upload first, through the one query engine."""
    query = queries.parse(
        {"cursor": request.args.get("cursor") or None, "limit": PAGE_SIZE},
        workspace_id=g.workspace.id,
        project_id=g.project.id,
        scope="trash",
    )
    page = queries.run(query)
    return dict(
        trashed=[entry.file for entry in page.entries],
        next_cursor=page.next_cursor,
        days=trash.trash_days(g.workspace.id),
    )


@bp.get("")
def index():
    return render("trash/index.html", "trash/_list.html", **listing())


@bp.post("/files/<file_id>/restore")
def restore(file_id: str):
    _in_project(file_id)
    restored = trash.restore_files(g.workspace.id, [file_id])[0]
    if not wants_fragment():
        flash(f"Restored {restored.name}.", "info")
        return redirect(url_for(".index"))
    trigger = {"trash-row-done": {"id": file_id}}  # static/js/dialog.js: focus moves to the next row
    return render_fragment(
        "trash/_done.html", headers={"HX-Trigger": json.dumps(trigger)}, file=restored, restored=True
    )


@bp.post("/files/<file_id>/purge")
def purge(file_id: str):
    file = _in_project(file_id)
    name = file.name
    trash.purge_file(g.workspace.id, file_id)
    if not wants_fragment():
        flash(f"Deleted {name} for good.", "info")
        return redirect(url_for(".index"))
    trigger = {"trash-row-done": {"id": file_id}}
    return render_fragment(
        "trash/_done.html",
        headers={"HX-Trigger": json.dumps(trigger)},
        file_id=file_id,
        name=name,
        restored=False,
    )


@bp.post("/empty")
def empty():
    purged = trash.empty(g.workspace.id, g.project.id)
    message = f"Deleted {purged} file{'s' if purged != 1 else ''} for good." if purged else "The trash was empty."
    if not wants_fragment():
        flash(message, "info")
        return redirect(url_for(".index"))
    return render_fragment("trash/_list.html", emptied=message, **listing())


@bp.post("/undo")
def undo():
    """The gallery's Undo after a delete: the files come back and the grid shows them (processing again)."""
    ids = [file_id for file_id in request.form.getlist("file_id") if file_id][:MAX_UNDO]
    if not ids:
        raise DomainError("file_missing", "Nothing to undo.")
    for file_id in ids:
        _in_project(file_id)
    restored = trash.restore_files(g.workspace.id, ids)
    message = f"Restored {_count(restored)}."
    if not wants_fragment():
        flash(message, "info")
        return redirect(url_for("gallery.index"))
    args = gallery_web.query_args(request.form)
    trigger = {"files-restored": {"ids": [file.id for file in restored]}}  # focus: the first restored tile
    return render_fragment(
        "trash/_undo.html",
        headers={"HX-Trigger": json.dumps(trigger)},
        undone=message,
        oob_grid=True,
        undo_files=[],
        **gallery_web.grid_context(args),
    )


def _in_project(file_id: str):
    file = trash.get_trashed(g.workspace.id, file_id)
    if file.project_id != g.project.id:
        raise NotFound("not_in_trash", f"No file {file_id!r} in this project's trash.")
    return file


def _count(files_) -> str:
    noun = "image" if all(f.is_image for f in files_) else "file"
    return f"{len(files_)} {noun}{'s' if len(files_) != 1 else ''}"


@bp.app_template_filter("deleted_count")
def deleted_count(files_) -> str:
    return _count(files_)
