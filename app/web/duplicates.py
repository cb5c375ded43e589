"""The project's Duplicates review: groups of near-duplicate images, where an editor keeps one and the others go to
the trash (Undo as for any delete) with their alt text, focal point, tags and collections carried to the kept one."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, request, url_for
from werkzeug.exceptions import HTTPException

from app.domain import duplicates, gallery, queries
from app.domain.errors import DomainError
from app.web import gallery as gallery_web
from app.web.auth import project_scoped
from app.web.render import render, render_fragment, wants_fragment

bp = Blueprint("duplicates", __name__, url_prefix="/w/<workspace_id>/p/<project_id>/duplicates")

project_scoped(bp)


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    return gallery_web.error_response(error.status, error.message)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    return gallery_web.http_error(error)


def member(near: duplicates.Near) -> dict:
    return {"near": near, "tile": gallery_web.tile_of(queries.Entry(near.file, near.image, None))}


def review(cursor: str | None) -> dict:
    """One page of the project's groups (the walk goes on from `cursor`)."""
    found, next_cursor = duplicates.groups(g.workspace.id, g.project.id, cursor or None)
    groups = [[member(near) for near in group.members] for group in found]
    return dict(groups=groups, next_cursor=next_cursor, cursor=cursor)


@bp.get("")
def index():
    return render("duplicates/index.html", "duplicates/_groups.html", **review(request.args.get("cursor")))


@bp.post("/merge")
def merge():
    """Keeps the chosen image; the group's others go to the trash, their alt text, focal point, tags and collections carried over."""
    gallery_web.require_write()
    keep = request.form.get("keep") or ""
    others = [i for i in request.form.getlist("member") if i and i != keep]
    if not keep or not others:
        raise DomainError("invalid_merge", "Choose the image to keep in a group of at least two.")
    for file_id in [keep, *others]:
        gallery.get_entry(g.workspace.id, g.project.id, file_id)  # this project's images only
    merged = duplicates.merge(g.workspace.id, keep, others)
    message = f"Kept {merged.file.name}; moved {len(merged.trashed)} to the trash"
    message += f" (it took their {', '.join(_gained(merged.changed))})." if merged.changed else "."
    gallery_web.remember_undo(list(merged.trashed))
    if not wants_fragment():
        flash(message, "info")
        return redirect(url_for(".index", cursor=request.form.get("cursor") or None))
    return render_fragment("duplicates/_groups.html", merged=message, **review(request.form.get("cursor")))


def _gained(changed: dict) -> list[str]:
    names = {"altText": "alt text", "decorative": "decorative mark", "focalPoint": "focal point"}
    return [names.get(key, key) for key in changed]
