"""The project's Content gallery: the grid, uploads, self-refreshing tiles, details, edits, bulk actions."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, request, url_for
from markupsafe import escape
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.domain import accounts, bulk, edits, files, gallery, limits, photo_facts
from app.domain.accounts import DomainError
from app.domain.files import UploadSpool
from app.domain.image_edits import with_focus
from app.domain.images import Image, delivery_url
from app.domain.shapes import image_json
from app.web.auth import project_scoped, remember_project
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
    """A flexible variant where the image allows one (crops keep the focal point); private images only have signed
    named variants."""
    return delivery_url(image, "thumbnail" if image.require_signed_urls else with_focus(image, options))


def tile_of(entry: gallery.Entry) -> Tile:
    if entry.image is None:
        return Tile(entry, None, None, None)
    one = variant(entry.image, f"w={TILE_PX},h={TILE_PX},fit=cover")
    two = variant(entry.image, f"w={2 * TILE_PX},h={2 * TILE_PX},fit=cover")
    return Tile(entry, image_json(entry.image, entry.file), one, f"{one} 1x, {two} 2x")


project_scoped(bp)


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


def query_args(source=None) -> dict:
    """The view (filter, search, sort) from the query string or a form; unknown values fall back to the default."""
    source = source if source is not None else request.args
    status, sort = source.get("status", "all"), source.get("sort", "newest")
    return {
        "status": status if status in gallery.FILTERS else "all",
        "q": (source.get("q") or "").strip(),
        "sort": sort if sort in gallery.SORTS else "newest",
    }


def url_args(args: dict) -> dict:
    """The view's arguments as they go into URLs: defaults are left out, so plain URLs stay plain."""
    return {
        key: value for key, value in args.items() if value and value != {"status": "all", "sort": "newest"}.get(key)
    }


def matching_count(args: dict, counts: gallery.Counts) -> int:
    """How many files the view holds; the project's counts answer it for the unsearched views."""
    known = {"all": counts.images, "files": counts.files, "failed": counts.failed}
    if not args["q"] and args["status"] in known:
        return known[args["status"]]
    return gallery.count_matching(g.workspace.id, g.project.id, status=args["status"], q=args["q"])


def grid_context(args: dict, cursor: str | None = None) -> dict:
    entries, next_cursor = gallery.list_entries(g.workspace.id, g.project.id, limit=PAGE_SIZE, cursor=cursor, **args)
    counts = gallery.counts(g.workspace.id, g.project.id)
    return dict(
        tiles=[tile_of(e) for e in entries],
        next_cursor=next_cursor,
        args=args,
        cursor=cursor,
        counts=counts,
        url_args=url_args(args),
        matching=matching_count(args, counts),
        newest_id=entries[0].file.id if entries and args["sort"] == "newest" else "",
    )


@bp.get("")
def index():
    args = query_args()
    cursor = request.args.get("cursor") or None
    remember_project(g.workspace.id, g.project.id)
    context = grid_context(args, cursor)
    return render(
        "gallery/index.html",
        "gallery/_tiles.html" if cursor else "gallery/_grid.html",
        max_upload_bytes=current_app.config["MAX_UPLOAD_BYTES"],
        sorts=gallery.SORTS,
        **context,
    )


@bp.get("/newer")
def newer():
    """New files of this view since the newest tile the page shows (uploaded anywhere); 204 when there are none."""
    after = request.args.get("after") or ""
    if not after or len(after) > 32:
        return Response(status=204)
    args = query_args()
    entries = gallery.newer_than(g.workspace.id, g.project.id, after, status=args["status"], q=args["q"])
    if not entries:
        return Response(status=204)
    return render_fragment("gallery/_tiles.html", tiles=[tile_of(e) for e in entries], next_cursor=None, args=args)


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
    return render_fragment(
        "gallery/_tiles.html", status=201, tiles=tiles, next_cursor=None, args=query_args(), uploaded=True
    )


@bp.get("/files/<file_id>")
def tile(file_id: str):
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if not wants_fragment():
        return redirect(url_for(".details", file_id=file_id) if entry.image else url_for(".index"))
    return render_fragment("gallery/_tile.html", tile=tile_of(entry))


@bp.get("/tiles")
def tiles():
    """One refresh for every processing tile of a page (`?ids=…`, at most 100): the tiles whose state is no longer
    `processing`, each swapped in by id; 204 while all are still processing."""
    entries = gallery.get_entries(g.workspace.id, g.project.id, request.args.getlist("ids"))
    done = [tile_of(entry) for entry in entries if entry.state != "processing"]
    if not done:
        return Response(status=204)
    return render_fragment("gallery/_tiles.html", tiles=done, next_cursor=None, args=query_args())


@bp.post("/files/<file_id>/retry")
def retry(file_id: str):
    require_write()
    entry = gallery.retry_provisioning(g.workspace.id, g.project.id, file_id)
    if not wants_fragment():
        flash(f"{entry.file.name} is queued again.", "info")
        return redirect(url_for(".index", **url_args(query_args(request.form))))
    trigger = {"file-retried": {"id": file_id, "name": entry.file.name}}
    return render_fragment("gallery/_tile.html", headers={"HX-Trigger": json.dumps(trigger)}, tile=tile_of(entry))


@bp.post("/retry-failed")
def retry_failed():
    """Every failed image of the project goes back in the queue; the grid comes back with their tiles processing."""
    require_write()
    count = gallery.retry_all_failed(g.workspace.id, g.project.id)
    message = f"{count} failed image{'s' if count != 1 else ''} queued again." if count else "Nothing had failed."
    args = query_args()
    if not wants_fragment():
        flash(message, "info")
        return redirect(url_for(".index", **url_args(args)))
    return render_fragment("gallery/_grid.html", retried=message, **grid_context(args))


@bp.delete("/files/<file_id>")
def delete(file_id: str):
    require_write()
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    until = gallery.delete_entry(g.workspace.id, g.project.id, file_id)
    trigger = {"file-deleted": {"id": file_id, "name": entry.file.name}}
    return render_fragment(
        "gallery/_deleted.html",
        headers={"HX-Trigger": json.dumps(trigger)},
        file=entry.file,
        undo_files=[entry.file] if until else [],
    )


@bp.post("/files/<file_id>/delete")
def delete_form(file_id: str):
    """The same delete for a plain form post (no JavaScript): redirect after success."""
    require_write()
    from app.web.trash import remember_undo

    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if gallery.delete_entry(g.workspace.id, g.project.id, file_id):
        remember_undo([file_id])  # the next page offers Undo
    flash(f"Deleted {entry.file.name}.", "info")
    return redirect(url_for(".index", **url_args(query_args(request.form))))


def details_context(entry: gallery.Entry) -> dict:
    image = entry.image
    data = image_json(image, entry.file)
    large = variant(image, f"w={PREVIEW_PX},fit=scale-down")
    large2x = variant(image, f"w={2 * PREVIEW_PX},fit=scale-down")
    scale = min(1.0, PREVIEW_PX / max(image.width, 1))
    previews = [("public", data["url"]), ("thumbnail", data["variants"]["thumbnail"])]
    if not image.require_signed_urls:
        previews.append((FLEXIBLE_SAMPLE, variant(image, FLEXIBLE_SAMPLE)))
    exif = sorted(
        (key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for key, value in (data["exif"] or {}).items()
    )
    return dict(
        tile=tile_of(entry),
        data=data,
        file=entry.file,
        large=large,
        large_srcset=f"{large} 1x, {large2x} 2x",
        large_width=max(1, round(image.width * scale)),
        large_height=max(1, round(image.height * scale)),
        previews=previews,
        exif=exif,
        summary=photo_facts.summary(data["exif"], image.width, image.height),
        taken=photo_facts.taken(data["exif"] or {}),
        snippets=snippets(image, data),
        focal={"x": image.focal_x, "y": image.focal_y} if image.focal_x is not None else None,
    )


def snippets(image: Image, data: dict) -> list[tuple[str, str]]:
    """What the copy buttons copy: the URL, an <img> with srcset and its size, and Markdown."""
    alt = "" if data["decorative"] else (data["altText"] or "")
    width = min(image.width, 800)
    height = max(1, round(image.height * width / max(image.width, 1)))
    if image.require_signed_urls:
        src, srcset = data["url"], ""
    else:
        widths = sorted({w for w in (400, 800, 1600) if w <= image.width} or {image.width})
        src = delivery_url(image, f"w={width},fit=scale-down")
        srcset = ", ".join(f"{delivery_url(image, f'w={w},fit=scale-down')} {w}w" for w in widths)
    attrs = [f'src="{escape(src)}"']
    if srcset:
        attrs += [f'srcset="{escape(srcset)}"', f'sizes="(max-width: {width}px) 100vw, {width}px"']
    attrs += [f'width="{width}"', f'height="{height}"', f'alt="{escape(alt)}"', 'loading="lazy"']
    markdown_alt = alt.replace("[", "\\[").replace("]", "\\]")
    return [
        ("URL", data["url"]),
        ("HTML", f"<img {' '.join(attrs)}>"),
        ("Markdown", f"![{markdown_alt}]({data['url']})"),
    ]


@bp.get("/files/<file_id>/details")
def details(file_id: str):
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if entry.image is None:
        raise accounts.NotFound("image_not_found", "This file is not an image (yet).")
    return render("gallery/details.html", "gallery/_details.html", in_dialog=wants_fragment(), **details_context(entry))


@bp.post("/files/<file_id>/alt")
def alt_text(file_id: str):
    require_write()
    decorative = request.form.get("decorative") in ("on", "1", "true")
    gallery.set_alt_text(g.workspace.id, g.project.id, file_id, request.form.get("alt_text"), decorative)
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if not wants_fragment():
        flash("Alt text saved.", "info")
        return redirect(url_for(".details", file_id=file_id))
    return render_fragment(
        "gallery/_alt.html", saved=True, oob_tile=request.form.get("in_dialog") == "1", **details_context(entry)
    )


@bp.post("/files/<file_id>/name")
def rename(file_id: str):
    require_write()
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    edits.rename_file(entry.file, request.form.get("name"))
    if not wants_fragment():
        flash(f"Renamed to {entry.file.name}.", "info")
        return redirect(url_for(".details", file_id=file_id) if entry.image else url_for(".index"))
    return render_fragment(
        "gallery/_name.html",
        saved=True,
        in_dialog=request.form.get("in_dialog") == "1",
        oob_tile=request.form.get("in_dialog") == "1",
        **details_context(entry),
    )


def _fraction(raw: str | None) -> float | None:
    try:
        return float(raw) if raw not in (None, "") else None
    except ValueError:
        raise accounts.DomainError(
            "invalid_focal_point", "The focal point's x and y must be numbers from 0 to 1."
        ) from None


@bp.post("/files/<file_id>/focal")
def focal_point(file_id: str):
    require_write()
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if entry.image is None:
        raise accounts.NotFound("image_not_found", "This file is not an image yet.")
    if request.form.get("op") == "reset":
        edits.set_focal_point(entry.image, None, None)
    else:
        edits.set_focal_point(entry.image, _fraction(request.form.get("x")), _fraction(request.form.get("y")))
    if not wants_fragment():
        flash("Focal point reset to the centre." if entry.image.focal_x is None else "Focal point saved.", "info")
        return redirect(url_for(".details", file_id=file_id))
    return render_fragment(
        "gallery/_focal.html",
        saved=True,
        in_dialog=request.form.get("in_dialog") == "1",
        oob_tile=request.form.get("in_dialog") == "1",
        **details_context(entry),
    )


def selection(form) -> list[str]:
    """The ids ticked, or every id of the view when "all that match" was chosen."""
    if form.get("scope") == "matching":
        args = query_args(form)
        return gallery.matching_ids(
            g.workspace.id, g.project.id, status=args["status"], q=args["q"], limit=bulk.MAX_SELECTION
        )
    return form.getlist("ids")


def attachment(name: str) -> str:
    """An attachment header any browser reads: a plain ASCII name, and the real one in RFC 5987 form."""
    name = re.sub(r'["\\/\x00-\x1f]', "-", name)
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or "originals.zip"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


@bp.post("/bulk")
def bulk_action():
    """Delete, retry or download a selection; htmx gets the grid back, a plain form a redirect or the ZIP."""
    action, args = request.form.get("action"), query_args(request.form)
    ids = selection(request.form)
    if action == "download":
        entries = bulk.originals(g.workspace.id, g.project.id, ids)
        response = Response(bulk.stream_zip(entries, current_app.extensions["storage"]), mimetype="application/zip")
        response.headers["Content-Disposition"] = attachment(f"{g.project.name[:60]} originals.zip")
        response.headers["Cache-Control"] = "no-store"
        return response
    require_write()
    undo_files = []
    if action == "delete":
        from app.web.trash import remember_undo

        outcome = bulk.delete(g.workspace.id, g.project.id, ids)
        message = f"Deleted {len(outcome.done):,} file{'s' if len(outcome.done) != 1 else ''}."
        undo_files = outcome.trashed  # in the trash: Undo brings them back
        if undo_files and not wants_fragment():
            remember_undo([file.id for file in undo_files])
    elif action == "retry":
        outcome = bulk.retry(g.workspace.id, g.project.id, ids)
        message = f"Queued {len(outcome.done):,} failed image{'s' if len(outcome.done) != 1 else ''} again."
        if outcome.skipped:
            message += f" {len(outcome.skipped):,} had not failed and were left alone."
    else:
        raise accounts.DomainError("invalid_action", "Choose Delete, Retry or Download.")
    if not wants_fragment():
        flash(message, "info")
        return redirect(url_for(".index", **url_args(args)))
    trigger = {"bulk-done": {"action": action, "count": len(outcome.done), "message": message}}
    return render_fragment(
        "gallery/_grid_undo.html",
        headers={"HX-Trigger": json.dumps(trigger)},
        undo_files=undo_files,
        **grid_context(args),
    )
