"""The details page's Versions: replace an image's bytes (a form, or a file dropped onto its tile), list its versions
and restore one; routes of the gallery blueprint, in a module of their own."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for

from app.domain import gallery, limits, shapes, versions
from app.domain.errors import DomainError, NotFound
from app.domain.files import UploadSpool
from app.web.gallery import VERSION_STATES, bp, details_context, error_response, require_write
from app.web.render import render_fragment, wants_fragment


def versions_context(file_id: str, in_dialog: bool) -> dict:
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if entry.image is None:
        raise NotFound("image_not_found", "This file is not an image (yet).")
    private = entry.image.require_signed_urls
    rows = [shapes.version_shape(row, private).dump() for row in versions.list_versions(g.workspace.id, file_id)]
    pending = next((row for row in rows if row["state"] == "pending"), None)
    return dict(file=entry.file, versions=rows, pending=pending, states=VERSION_STATES, in_dialog=in_dialog)


def _answer(file_id: str, said: str, error: str | None = None, status: int = 200):
    """The Versions section again (htmx), or back to the details page with the message (a plain form post)."""
    in_dialog = request.form.get("in_dialog") == "1"
    if not wants_fragment():
        flash(error or said, "error" if error else "info")
        return redirect(url_for(".details", file_id=file_id))
    context = versions_context(file_id, in_dialog)
    return render_fragment("gallery/_versions.html", status=status, said=said, replace_error=error, **context)


@bp.post("/files/<file_id>/replace")
def replace(file_id: str):
    """New bytes for the image, from the Replace form or a file dropped onto its tile."""
    require_write()
    try:
        limits.check_upload(user_id=g.user.id, address=request.remote_addr)
    except limits.RateLimited as limited:
        response = error_response(429, f"Too many uploads; wait {limited.retry_after} seconds and try again.")
        response.headers["Retry-After"] = str(limited.retry_after)
        return response
    part = request.files.get("file")
    if part is None or not isinstance(part.stream, UploadSpool) or (not part.filename and part.stream.size == 0):
        return _answer(file_id, "", "Choose the image file to replace it with.", 400)
    rename = part.filename if request.form.get("rename") == "1" else None
    try:
        version = versions.replace(g.workspace.id, file_id, part.stream, g.user.email, rename=rename)
    except DomainError as refusal:
        if refusal.status == 404:
            raise
        return _answer(file_id, "", refusal.message, refusal.status)
    return _answer(file_id, f"Version {version.number} is being processed; the current one shows until it is ready.")


@bp.post("/files/<file_id>/versions/<int:number>/restore")
def restore_version(file_id: str, number: int):
    require_write()
    try:
        version = versions.restore(g.workspace.id, file_id, number, g.user.email)
    except DomainError as refusal:
        if refusal.status == 404:
            raise
        return _answer(file_id, "", refusal.message, refusal.status)
    return _answer(file_id, f"Version {number} comes back as version {version.number} once it is processed.")


@bp.get("/files/<file_id>/versions")
def versions_section(file_id: str):
    """The Versions section, polled while a version is processed; once the watched one is done, the whole details
    are answered instead, so the new pixels, size and URLs show."""
    in_dialog = request.args.get("in_dialog") == "1"
    context = versions_context(file_id, in_dialog)
    if request.args.get("watching") and context["pending"] is None and wants_fragment():
        entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
        response = render_fragment("gallery/_details.html", in_dialog=in_dialog, **details_context(entry))
        response.headers["HX-Retarget"] = f"#details-{file_id}"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    return render_fragment("gallery/_versions.html", **context)
