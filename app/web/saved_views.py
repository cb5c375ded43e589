"""Saved views in the gallery: save the current view, open one (also someone else's, by its shared URL), rename and
delete one's own. Viewers save views too: a view is a person's way of looking, not a change to the project."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, flash, g, redirect, request, url_for
from werkzeug.exceptions import HTTPException

from app.domain import saved_views
from app.domain.errors import DomainError
from app.web import gallery as gallery_web
from app.web.auth import project_scoped

bp = Blueprint("saved_views", __name__, url_prefix="/w/<workspace_id>/p/<project_id>/views")

project_scoped(bp)


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    return gallery_web.error_response(error.status, error.message)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    return gallery_web.http_error(error)


def _owner() -> saved_views.Owner:
    return saved_views.Owner(user_id=g.user.id)


def _back(args: dict, view_id: str | None = None):
    """Back to the gallery showing `args` (and which saved view is open)."""
    extra = {"saved": view_id} if view_id else {}
    return redirect(url_for("gallery.index", **gallery_web.url_args(args), **extra))


@bp.post("")
def create():
    """Saves the view the form carries (the gallery's own arguments, checked by the query engine) under a name."""
    args = gallery_web.query_args(request.form)
    try:
        query = urlencode(gallery_web.engine_values(args))
        view = saved_views.create_view(
            g.workspace.id, _owner(), g.project.id, request.form.get("name"), query, args["layout"]
        )
    except DomainError as refused:
        flash(f"The view was not saved: {refused.message}", "error")
        return _back(args)
    flash(f"Saved the view “{view.name}”.", "info")
    return _back(args, view.id)


@bp.get("/<view_id>")
def open_view(view_id: str):
    """A saved view's address, for anyone in the workspace: the gallery with its filters, sort and layout."""
    view = saved_views.get_view(g.workspace.id, view_id, g.project.id)
    args, unshown = gallery_web.args_of(view.values, view.layout)
    if unshown:
        flash(
            f"This view also filters by {', '.join(unshown)}, which the gallery cannot show; the API, the CLI and MCP "
            "apply it.",
            "info",
        )
    return _back(args, view.id)


@bp.post("/<view_id>/rename")
def rename(view_id: str):
    saved_views.get_view(g.workspace.id, view_id, g.project.id)
    saved_views.own_view(g.workspace.id, view_id, _owner())  # someone else's view: 403, nothing changes
    try:
        view = saved_views.rename_view(g.workspace.id, _owner(), view_id, request.form.get("name"))
    except DomainError as refused:
        flash(f"The view was not renamed: {refused.message}", "error")
        return redirect(url_for(".open_view", view_id=view_id))
    flash(f"Renamed the view to “{view.name}”.", "info")
    return redirect(url_for(".open_view", view_id=view.id))


@bp.post("/<view_id>/delete")
def delete(view_id: str):
    view = saved_views.get_view(g.workspace.id, view_id, g.project.id)
    saved_views.delete_view(g.workspace.id, _owner(), view_id)
    flash(f"Deleted the view “{view.name}”; the images it showed are untouched.", "info")
    return redirect(url_for("gallery.index"))
