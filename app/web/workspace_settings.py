"""The workspace settings page: owners change private images, GPS and trash retention, and see who changed what."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from werkzeug.exceptions import HTTPException

from app.domain import accounts, crops, workspace_settings
from app.domain.errors import DomainError
from app.web.auth import login_required, require_role
from app.web.render import render, wants_fragment

bp = Blueprint("workspace_settings", __name__, url_prefix="/w/<workspace_id>/settings")


@bp.before_request
@login_required
def load_workspace():
    workspace_id = request.view_args.get("workspace_id") if request.view_args else None
    if require_role(workspace_id) != "owner":
        abort(403, "Only owners of a workspace change its settings.")
    g.workspace = accounts.get_workspace(workspace_id)


# Empty rows under the presets, so an owner can add a preset without any script.
BLANK_PRESET_ROWS = 2


def page(
    status: int = 200,
    error: str | None = None,
    saved: list | None = None,
    presets_rows: list | None = None,
    preset_error: str | None = None,
):
    return render(
        "settings/index.html",
        "settings/_form.html",
        status=status,
        error=error,
        saved=saved,
        values=workspace_settings.current(g.workspace.id),
        settings=workspace_settings.SETTINGS,
        history=workspace_settings.history(g.workspace.id),
        projects=accounts.projects_of(g.workspace.id),
        presets=presets_rows or [preset.as_json() for preset in crops.workspace_presets(g.workspace)],
        preset_error=preset_error,
        blank_rows=BLANK_PRESET_ROWS,
    )


@bp.get("")
def show(workspace_id: str):
    return page()


@bp.post("")
def update(workspace_id: str):
    form = request.form
    # A number the form does not carry (a page from before the setting existed) is left as it is.
    changes = {
        s.name: (form.get(s.name) if s.kind is int else form.get(s.name) == "on")
        for s in workspace_settings.SETTINGS
        if s.kind is not int or s.name in form
    }
    try:
        saved = workspace_settings.update(g.workspace.id, g.user.email, changes)
    except DomainError as error:
        return page(status=400, error=error.message)
    if not wants_fragment():
        flash(f"Saved {len(saved)} change{'s' if len(saved) != 1 else ''}." if saved else "Nothing changed.", "info")
        return redirect(url_for(".show", workspace_id=g.workspace.id))
    return page(saved=saved)


@bp.post("/crop-presets")
def update_crop_presets(workspace_id: str):
    """Rows of name, ratio and minimum width; a row with neither name nor ratio is left out (that removes it)."""
    rows = []
    for index in range(crops.MAX_PRESETS + BLANK_PRESET_ROWS):
        name, ratio = (request.form.get(f"preset-{index}-{key}", "").strip() for key in ("name", "ratio"))
        min_width = request.form.get(f"preset-{index}-min", "").strip()
        if name or ratio:
            rows.append({"name": name, "ratio": ratio, "minWidth": int(min_width) if min_width.isdigit() else None})
            if min_width and not min_width.isdigit():
                return page(status=400, presets_rows=rows, preset_error=f"Minimum width of {name!r} is whole pixels.")
    try:
        crops.update_presets(g.workspace.id, g.user.email, rows)
    except DomainError as error:
        return page(status=400, presets_rows=rows, preset_error=error.message)
    if not wants_fragment():
        flash("Crop presets saved.", "info")
        return redirect(url_for(".show", workspace_id=g.workspace.id))
    return page()


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    return render(
        "error.html", "gallery/_error.html", status=error.status, message=error.message, status_code=error.status
    )


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    if error.code in (301, 302, 303, 307, 308) or error.code is None:
        return error
    return render(
        "error.html",
        "gallery/_error.html",
        status=error.code,
        status_code=error.code,
        message=error.description or "That did not work.",
    )
