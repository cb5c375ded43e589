"""The project's Content gallery: the grid, uploads, self-refreshing tiles, details, alt text and delete."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.domain import accounts, files, gallery, image_edits, limits
from app.domain.accounts import DomainError
from app.domain.files import UploadSpool
from app.domain.image_edits import with_focus
from app.domain.images import Image, delivery_url
from app.domain.shapes import image_json
from app.web.auth import login_required, remember_project, require_role
from app.web.render import render, render_fragment, wants_fragment

bp = Blueprint("gallery", __name__, url_prefix="/w/<workspace_id>/p/<project_id>/content")

PAGE_SIZE = 30
TILE_PX = 200
PREVIEW_PX = 960
FLEXIBLE_SAMPLE = "w=400,h=300,fit=cover"


@dataclass(frozen=True)
class Tile:
    """What a tile template needs: the entry, the image as the API shows it, and its thumbnail URLs."""

    entry: gallery.Entry
    data: dict | None
    src: str | None
    srcset: str | None

    @property
    def id(self) -> str:
        return self.entry.file.id

    @property
    def alt(self) -> str:
        if self.data is None or self.data["decorative"]:
            return ""
        return self.data["altText"] or ""


def variant(image: Image, options: str) -> str:
    """A flexible variant where the image allows one; private images only have signed named variants."""
    return delivery_url(image, "thumbnail" if image.require_signed_urls else with_focus(image, options))


def tile_of(entry: gallery.Entry) -> Tile:
    if entry.image is None:
        return Tile(entry, None, None, None)
    one = variant(entry.image, f"w={TILE_PX},h={TILE_PX},fit=cover")
    two = variant(entry.image, f"w={2 * TILE_PX},h={2 * TILE_PX},fit=cover")
    return Tile(entry, image_json(entry.image, entry.file), one, f"{one} 1x, {two} 2x")


@bp.url_defaults
def keep_project(endpoint, values) -> None:
    if "project" in g:
        values.setdefault("workspace_id", g.project.workspace_id)
        values.setdefault("project_id", g.project.id)


@bp.url_value_preprocessor
def pull_project(endpoint, values) -> None:
    g.workspace_id = values.pop("workspace_id", None)
    g.project_id = values.pop("project_id", None)


@bp.before_request
@login_required
def load_project():
    g.role = require_role(g.workspace_id)
    g.project = accounts.get_project(g.workspace_id, g.project_id)
    g.workspace = accounts.get_workspace(g.workspace_id)
    g.can_write = accounts.can_write(g.role)


def require_write() -> None:
    if not g.can_write:
        abort(403, "Viewers can look but not change anything; ask an owner for the editor role.")


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    return error_response(error.status, error.message)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    if getattr(error, "limit", None) == "max_form_parts":
        return error_response(413, f"The form has more than {error.value:,} fields and files.")
    if getattr(error, "limit", None) == "max_form_memory_size":
        return error_response(413, f"A form field is larger than {error.value:,} bytes.")
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    return error_response(413, f"The file is larger than the limit of {limit / 1_000_000:.1f} MB.")


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    if error.code in (301, 302, 303, 307, 308) or error.code is None:
        return error
    return error_response(error.code, error.description or "That did not work.")


def error_response(status: int, message: str):
    return render("error.html", "gallery/_error.html", status=status, message=message, status_code=status)


def query_args() -> dict:
    status = request.args.get("status", "all")
    return {"status": status if status in gallery.FILTERS else "all", "q": (request.args.get("q") or "").strip()}


@bp.get("")
def index():
    args = query_args()
    cursor = request.args.get("cursor") or None
    entries, next_cursor = gallery.list_entries(g.workspace.id, g.project.id, limit=PAGE_SIZE, cursor=cursor, **args)
    remember_project(g.workspace.id, g.project.id)
    context = dict(tiles=[tile_of(e) for e in entries], next_cursor=next_cursor, args=args, cursor=cursor,
                   max_upload_bytes=current_app.config["MAX_UPLOAD_BYTES"])
    return render("gallery/index.html", "gallery/_tiles.html" if cursor else "gallery/_grid.html", **context)


@bp.post("/files")
def upload():
    require_write()
    try:
        limits.check_upload(user_id=g.user.id, address=request.remote_addr)
    except limits.RateLimited as limited:
        response = error_response(429, f"Too many uploads; wait {limited.retry_after} seconds and try again.")
        response.headers["Retry-After"] = str(limited.retry_after)
        return response
    uploads = [part for part in request.files.getlist("file") if part.filename or isinstance(part.stream, UploadSpool)]
    spools = [part.stream for part in uploads if isinstance(part.stream, UploadSpool)]
    if not spools or all(not part.filename and spool.size == 0 for part, spool in zip(uploads, spools)):
        raise DomainError("file_missing", "Choose at least one file to upload.")
    stored = [files.store_upload(g.workspace.id, g.project.id, part.stream, part.filename) for part in uploads]
    if not wants_fragment():
        flash(f"Uploaded {len(stored)} file{'s' if len(stored) != 1 else ''}.", "info")
        return redirect(url_for(".index"))
    tiles = [tile_of(gallery.get_entry(g.workspace.id, g.project.id, file.id)) for file in stored]
    return render_fragment("gallery/_tiles.html", status=201, tiles=tiles, next_cursor=None, args=query_args(),
                           uploaded=True)


@bp.get("/files/<file_id>")
def tile(file_id: str):
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if not wants_fragment():
        return redirect(url_for(".details", file_id=file_id) if entry.image else url_for(".index"))
    return render_fragment("gallery/_tile.html", tile=tile_of(entry))


@bp.post("/files/<file_id>/retry")
def retry(file_id: str):
    require_write()
    entry = gallery.retry_provisioning(g.workspace.id, g.project.id, file_id)
    if not wants_fragment():
        flash(f"{entry.file.name} is queued again.", "info")
        return redirect(url_for(".index"))
    return render_fragment("gallery/_tile.html", tile=tile_of(entry))


@bp.post("/retry-failed")
def retry_failed():
    """Every failed image of the project goes back in the queue; the grid comes back with their tiles processing."""
    require_write()
    count = gallery.retry_all_failed(g.workspace.id, g.project.id)
    message = f"{count} failed image{'s' if count != 1 else ''} queued again." if count else "Nothing had failed."
    if not wants_fragment():
        flash(message, "info")
        return redirect(url_for(".index"))
    args = query_args()
    entries, next_cursor = gallery.list_entries(g.workspace.id, g.project.id, limit=PAGE_SIZE, **args)
    return render_fragment("gallery/_grid.html", tiles=[tile_of(e) for e in entries], next_cursor=next_cursor,
                           args=args, cursor=None, retried=message)


@bp.delete("/files/<file_id>")
def delete(file_id: str):
    require_write()
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    until = gallery.delete_entry(g.workspace.id, g.project.id, file_id)
    trigger = {"file-deleted": {"id": file_id, "name": entry.file.name}}
    return render_fragment("gallery/_deleted.html", headers={"HX-Trigger": json.dumps(trigger)}, file=entry.file,
                           undo_files=[entry.file] if until else [])


@bp.post("/files/<file_id>/delete")
def delete_form(file_id: str):
    """The same delete for a plain form post (no JavaScript): redirect after success."""
    require_write()
    from app.web.trash import remember_undo

    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if gallery.delete_entry(g.workspace.id, g.project.id, file_id):
        remember_undo([file_id])  # the next page offers Undo
    flash(f"Deleted {entry.file.name}.", "info")
    return redirect(url_for(".index"))


def details_context(entry: gallery.Entry) -> dict:
    image = entry.image
    data = image_json(image, entry.file)
    large = variant(image, f"w={PREVIEW_PX},fit=scale-down")
    large2x = variant(image, f"w={2 * PREVIEW_PX},fit=scale-down")
    scale = min(1.0, PREVIEW_PX / max(image.width, 1))
    previews = [("public", data["url"]), ("thumbnail", data["variants"]["thumbnail"])]
    if not image.require_signed_urls:
        previews.append((with_focus(image, FLEXIBLE_SAMPLE), delivery_url(image, with_focus(image, FLEXIBLE_SAMPLE))))
    exif = sorted((key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
                  for key, value in (data["exif"] or {}).items())
    return dict(tile=tile_of(entry), data=data, file=entry.file, large=large, large_srcset=f"{large} 1x, {large2x} 2x",
                large_width=max(1, round(image.width * scale)), large_height=max(1, round(image.height * scale)),
                previews=previews, exif=exif)


@bp.get("/files/<file_id>/details")
def details(file_id: str):
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if entry.image is None:
        raise accounts.NotFound("image_not_found", "This file is not an image (yet).")
    return render("gallery/details.html", "gallery/_details.html", in_dialog=wants_fragment(),
                  **details_context(entry))


@bp.post("/files/<file_id>/focus")
def focus(file_id: str):
    """The file's name and the image's focal point, through the same edit as PATCH /api/images/{id}."""
    require_write()
    gallery.get_entry(g.workspace.id, g.project.id, file_id)  # this project's file, or 404
    raw_x, raw_y = (request.form.get(name, "").strip() for name in ("focal_x", "focal_y"))
    if bool(raw_x) != bool(raw_y):
        raise DomainError("invalid_field", "Give the focal point's two numbers, or leave both empty to centre it.")
    try:
        point = {"x": float(raw_x), "y": float(raw_y)} if raw_x else None
    except ValueError:
        raise DomainError("invalid_field", "The focal point is two numbers from 0 to 1.") from None
    image_edits.update_image(g.workspace.id, file_id, {"name": request.form.get("name", ""), "focalPoint": point})
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if not wants_fragment():
        flash("Name and focal point saved.", "info")
        return redirect(url_for(".details", file_id=file_id))
    return render_fragment("gallery/_focus.html", saved=True, oob_tile=request.form.get("in_dialog") == "1",
                           **details_context(entry))


@bp.post("/files/<file_id>/alt")
def alt_text(file_id: str):
    require_write()
    decorative = request.form.get("decorative") in ("on", "1", "true")
    gallery.set_alt_text(g.workspace.id, g.project.id, file_id, request.form.get("alt_text"), decorative)
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if not wants_fragment():
        flash("Alt text saved.", "info")
        return redirect(url_for(".details", file_id=file_id))
    return render_fragment("gallery/_alt.html", saved=True, oob_tile=request.form.get("in_dialog") == "1",
                           **details_context(entry))
