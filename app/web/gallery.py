"""The project's Content gallery: the grid, uploads, self-refreshing tiles, details, edits, bulk actions."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, request, session, url_for
from markupsafe import escape
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.domain import (
    bulk,
    crops,
    duplicates,
    files,
    gallery,
    grouping,
    image_edits,
    image_status,
    limits,
    organise,
    photo_facts,
    queries,
    saved_views,
    services,
    shapes,
    url_import,
    versions,
)
from app.domain.errors import DomainError, NotFound
from app.domain.files import UploadSpool
from app.domain.image_edits import with_focus
from app.domain.images import Image, delivery_url
from app.domain.shapes import image_json
from app.web.auth import project_scoped, remember_project
from app.web.render import binary_size, render, render_fragment, wants_fragment

bp = Blueprint("gallery", __name__, url_prefix="/w/<workspace_id>/p/<project_id>/content")
# A plain form delete (no JavaScript) remembers what it sent to the trash; the next page offers Undo
# (app.web.trash's `pending_undo`).
UNDO_KEY = "trash_undo"
MAX_UNDO = 100


def remember_undo(file_ids: list[str]) -> None:
    """Called by the gallery's and the duplicates page's form deletes: the next page offers Undo."""
    session[UNDO_KEY] = list(file_ids)[:MAX_UNDO]


PAGE_SIZE = 30
TILE_PX = 200
# How wide a tile's picture is shown (static/app.css: two columns on a phone, else at most --tile): the `sizes` of
# its srcset.
TILE_SIZES = f"(max-width: 560px) calc(50vw - 2rem), {TILE_PX}px"
PREVIEW_PX = 960
SIMILAR_SHOWN = 12
FLEXIBLE_SAMPLE = "w=400,h=300,fit=cover"


@dataclass(frozen=True)
class Tile:
    """What a tile template needs: the entry, the image as the API shows it, and its thumbnail URLs."""

    entry: queries.Entry
    data: dict | None
    src: str | None
    srcset: str | None

    @property
    def id(self) -> str:
        return self.entry.file.id

    @property
    def sizes(self) -> str:
        return TILE_SIZES

    @property
    def alt(self) -> str:
        if self.data is None or self.data["decorative"]:
            return ""
        return self.data["altText"] or ""


def variant(image: Image, options: str) -> str:
    """A flexible variant where the image allows one (crops keep the focal point); private images only have signed
    named variants."""
    return delivery_url(image, "thumbnail" if image.require_signed_urls else with_focus(image, options))


def tile_of(entry: queries.Entry, labels: tuple[list[str], list[str]] | None = None) -> Tile:
    """Width descriptors (1× to 3× a tile) with the tile's `sizes`, so a 3× screen gets the 3× crop (`labels`: its
    tags and collections when the page read them for all tiles at once)."""
    if entry.image is None:
        return Tile(entry, None, None, None)
    # Without a focal point the images service places the square crop by saliency (gravity=auto).
    auto = "" if image_edits.focal_point(entry.image) else ",gravity=auto"
    urls = [variant(entry.image, f"w={n * TILE_PX},h={n * TILE_PX},fit=cover{auto}") for n in (1, 2, 3)]
    srcset = ", ".join(f"{url} {n * TILE_PX}w" for n, url in zip((1, 2, 3), urls))
    return Tile(entry, image_json(entry.image, entry.file, labels), urls[0], srcset)


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
    return error_response(413, f"The file is larger than the limit of {binary_size(limit)}.")


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    if error.code in (301, 302, 303, 307, 308) or error.code is None:
        return error
    return error_response(error.code, error.description or "That did not work.")


def error_response(status: int, message: str):
    return render("error.html", "gallery/_error.html", status=status, message=message, status_code=status)


# The gallery's names (its URLs, its menus) for the engine's views and sorts: the one place they are translated.
VIEWS = {
    "all": {"is_image": True},
    "ready": {"is_image": True, "image_state": "ready"},
    "processing": {"image_state": "processing"},
    "failed": {"image_state": "failed"},
    "files": {"is_image": False},
}
SORTS = {
    "newest": ("-created", "Newest first"),
    "oldest": ("created", "Oldest first"),
    "name": ("name", "Name A–Z"),
    "name_desc": ("-name", "Name Z–A"),
    "size": ("-size", "Largest first"),
    "smallest": ("size", "Smallest first"),
    "taken": ("-taken", "Date taken, newest first"),
    "taken_oldest": ("taken", "Date taken, oldest first"),
}
LAYOUTS = {"grid": "Grid", "table": "Table"}
DEFAULTS = {"status": "all", "sort": "newest", "layout": "grid"}
# Every other filter of the engine's file lists is taken from the URL under its own name.
_OWN = {"project_id", "q", "sort", "limit", "cursor", "count", "status", "is_image", "image_state"}
EXTRAS = tuple(
    name for name in dict.fromkeys(queries.PARAMETERS["files"] + queries.PARAMETERS["images"]) if name not in _OWN
)


def query_args(source=None) -> dict:
    """The view (filter, search, sort and any other filter) from the query string or a form; an unknown view or
    sort name falls back to the default, a bad filter value is refused when the query is built."""
    source = source if source is not None else request.args
    status, sort, layout = source.get("status", "all"), source.get("sort", "newest"), source.get("layout", "grid")
    args = {
        "status": status if status in VIEWS else "all",
        "q": (source.get("q") or "").strip(),
        "sort": sort if sort in SORTS else "newest",
        "layout": layout if layout in LAYOUTS else "grid",
    }
    lists = {name for name in EXTRAS if "list[" in str(queries.ListQuery.model_fields[name].annotation)}
    found = {name: source[name] for name in EXTRAS if source.get(name) and name not in lists}
    if hasattr(source, "getlist"):  # repeatable filters (tag=a&tag=b) keep every value
        found |= {name: values for name in lists if (values := [v for v in source.getlist(name) if v])}
    return args | found


def list_query(args: dict, cursor: str | None = None, limit: int | None = None) -> queries.ListQuery:
    """The engine's query for a view of this project (a bad value answers the gallery's 400 page)."""
    limit = limit or PAGE_SIZE
    values = {name: args[name] for name in EXTRAS if args.get(name)} | VIEWS[args["status"]]
    return queries.parse(
        values | {"q": args["q"] or None, "sort": SORTS[args["sort"]][0], "cursor": cursor, "limit": limit},
        workspace_id=g.workspace.id,
        project_id=g.project.id,
    )


def engine_values(args: dict) -> dict[str, str]:
    """The view in the engine's names, as a saved view keeps it (`sort=-size&is_image=true&q=…`); checked first."""
    query = list_query(args, limit=1)
    values = {name: args[name] for name in EXTRAS if args.get(name)} | VIEWS[args["status"]]
    values |= {"q": query.q, "sort": query.sort}
    return {name: str(value).lower() if isinstance(value, bool) else value for name, value in values.items() if value}


def args_of(values: dict[str, str], layout: str) -> tuple[dict, list[str]]:
    """A saved view's engine parameters as the gallery's URL arguments, and the names the gallery cannot show (the
    API, the CLI and MCP still apply them)."""
    parsed = queries.parse(values, workspace_id=g.workspace.id, project_id=g.project.id)
    shown = {"is_image", "image_state"}

    def fits(spec: dict) -> bool:
        return all(getattr(parsed, name) == spec.get(name) for name in shown)

    status = next((name for name, spec in VIEWS.items() if fits(spec)), None)
    unshown = [name for name in values if name not in (*EXTRAS, "q", "sort") and (name not in shown or status is None)]
    by_engine = {engine: name for name, (engine, _) in SORTS.items()}
    args = {
        "status": status or "all",
        "q": parsed.q or "",
        "sort": by_engine.get(parsed.sort, "newest"),
        "layout": layout,
    }
    args |= {name: values[name] for name in EXTRAS if values.get(name)}
    return args, sorted(unshown)


# The table's columns: (key, header, the engine's sort key its header orders by, the first direction of a click).
COLUMNS = (
    ("name", "Name", "name", ""),
    ("dimensions", "Dimensions", None, ""),
    ("size", "Size", "size", "-"),
    ("taken", "Date taken", "taken", "-"),
    ("camera", "Camera", None, ""),
    ("alt", "Alt text", None, ""),
    ("tags", "Tags", None, ""),
)


def column_headers(args: dict) -> list[dict]:
    """Each column's header: whether (and which way) the view is sorted by it, and the gallery sort a click asks."""
    current = SORTS[args["sort"]][0]
    by_engine = {engine: name for name, (engine, _) in SORTS.items()}
    found = []
    for key, label, sort_key, first in COLUMNS:
        header = {"key": key, "label": label, "aria_sort": None, "next": None}
        if sort_key and current.lstrip("-") == sort_key:
            header["aria_sort"] = "descending" if current.startswith("-") else "ascending"
            header["next"] = by_engine.get(sort_key if current.startswith("-") else f"-{sort_key}")
        elif sort_key:
            header["next"] = by_engine.get(f"{first}{sort_key}")
        found.append(header)
    return found


@dataclass(frozen=True)
class Row:
    """One line of the table view: the tile's data and the columns it shows."""

    tile: Tile
    taken: str | None
    taken_iso: str | None
    camera: str | None
    tags: list[str]

    @property
    def file(self):
        return self.tile.entry.file


def row_of(entry: queries.Entry, labels: tuple[list[str], list[str]] | None = None) -> Row:
    """Date taken is EXIF DateTimeOriginal when the photo has it, else the upload time (shown as such)."""
    tile = tile_of(entry, labels)
    exif = (tile.data or {}).get("exif") or {}
    taken = photo_facts.taken(exif) if tile.data else None
    tags = [
        str(tag.get("name", tag)) if isinstance(tag, dict) else str(tag) for tag in (tile.data or {}).get("tags") or []
    ]
    return Row(tile, taken.text if taken else None, taken.iso if taken else None, photo_facts.camera(exif), tags)


@bp.app_template_filter("view_url_args")
def url_args(args: dict) -> dict:
    """The view's arguments as they go into URLs: defaults are left out, so plain URLs stay plain."""
    return {key: value for key, value in args.items() if value and value != DEFAULTS.get(key)}


def matching_count(args: dict, counts: queries.Tallies) -> int:
    """How many files the view holds (the engine answers the unsearched views from the project's tallies)."""
    return queries.count(list_query(args), known=counts)


FACET_LABELS = {
    "camera": "Camera",
    "camera_make": "Maker",
    "lens": "Lens",
    "orientation": "Orientation",
    "colour": "Colour",
    "format": "Format",
    "source": "Sent as",
    "has_alt_text": "Alt text",
}
_VALUE_LABELS = {"has_alt_text": {"true": "With alt text", "false": "Without alt text"}}


def facet_bar(args: dict) -> tuple[list[dict], bool]:
    """The facets of the view's images, each value with the URL that filters by it (or, when active, clears it)."""
    found = queries.facets(list_query(args))
    shown = url_args(args)
    bar = []
    for name, pairs in found.values.items():
        active = args.get(name)
        values = [
            dict(
                label=_VALUE_LABELS.get(name, {}).get(value, value),
                count=count,
                active=value == active,
                url=url_for("gallery.index", **(shown | {name: value})),
            )
            for value, count in pairs
        ]
        if values or active:
            clear = url_for("gallery.index", **{k: v for k, v in shown.items() if k != name})
            label = _VALUE_LABELS.get(name, {}).get(active, active)
            bar.append(dict(name=name, label=FACET_LABELS[name], active=label, values=values, clear_url=clear))
    return bar, found.exact


def grid_context(args: dict, cursor: str | None = None) -> dict:
    counts = queries.tallies(g.workspace.id, g.project.id)
    page = queries.run(list_query(args, cursor), known=counts)
    labels = grouping.labels([e.file.id for e in page.entries if e.image is not None])
    table = args["layout"] == "table"
    return dict(
        tiles=[] if table else [tile_of(e, labels.get(e.file.id)) for e in page.entries],
        rows=[row_of(e, labels.get(e.file.id)) for e in page.entries] if table else [],
        columns=column_headers(args),
        layouts=LAYOUTS,
        next_cursor=page.next_cursor,
        args=args,
        cursor=cursor,
        counts=counts,
        url_args=url_args(args),
        matching=matching_count(args, counts),
        retryable=image_status.retryable_failed_count(g.workspace.id, g.project.id),
        newest_id=page.entries[0].file.id if page.entries and args["sort"] == "newest" else "",
    )


@bp.get("")
def index():
    args = query_args()
    cursor = request.args.get("cursor") or None
    remember_project(g.workspace.id, g.project.id)
    context = grid_context(args, cursor)
    more = "gallery/_rows.html" if args["layout"] == "table" else "gallery/_tiles.html"
    return render(
        "gallery/index.html",
        more if cursor else "gallery/_grid.html",
        max_upload_bytes=current_app.config["MAX_UPLOAD_BYTES"],
        resumable_chunk_bytes=current_app.config["RESUMABLE_CHUNK_BYTES"],
        sorts={name: label for name, (_, label) in SORTS.items()},
        collections=organise.list_collections(g.workspace.id, g.project.id),
        current_collection=args.get("collection", ""),
        saved=saved_views.list_views(g.workspace.id, saved_views.Owner(user_id=g.user.id), g.project.id),
        active_view=request.args.get("saved") or "",
        **context,
    )


@bp.get("/newer")
def newer():
    """New files of this view since the newest tile the page shows (uploaded anywhere); 204 when there are none."""
    args = query_args()
    entries = queries.newer(list_query(args), request.args.get("after") or "")
    if not entries:
        return Response(status=204)
    return render_fragment("gallery/_tiles.html", tiles=[tile_of(e) for e in entries], next_cursor=None, args=args)


@bp.get("/facets")
def facets():
    """The filter bar with its counts, asked for by the page once it is shown (counting the facets of a large view
    costs more than the page itself); without JavaScript, a page of its own whose links lead back to the gallery."""
    args = query_args()
    bar, exact = facet_bar(args)
    return render("gallery/facets.html", "gallery/_facets.html", facet_bar=bar, facets_exact=exact, args=args)


@bp.get("/counts")
def counts():
    """The counts line and how many files the view holds, asked for by the script when files arrive or change;
    `exact=true` (asked when "all that match" is ticked while the total is an estimate) counts the view exactly, up
    to one more than a selection may hold, so the number the editor confirms is the number acted on."""
    args = query_args()
    project_counts = queries.tallies(g.workspace.id, g.project.id)
    if request.args.get("exact") == "true":
        matching = len(queries.ids(list_query(args), bulk.MAX_SELECTION + 1))
    else:
        matching = matching_count(args, project_counts)
    return render_fragment("gallery/_counts.html", counts=project_counts, matching=matching)


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
    # The page's form and script send "reuse" (bytes the library has answer that file); "Keep both" sends "allow".
    allow = request.form.get("duplicates") != "reuse"
    stored, known = [], []
    for part in uploads:
        existing = None if allow else files.known_upload(g.workspace.id, g.project.id, part.stream)
        if existing is not None:
            known.append(existing)
        else:
            stored.append(files.store_upload(g.workspace.id, g.project.id, part.stream, part.filename))
    if not wants_fragment():
        said = [f"Uploaded {len(stored)} file{'s' if len(stored) != 1 else ''}."]
        said += [f"{file.name} is already in the library; it was not uploaded again." for file in known]
        flash(" ".join(said), "info")
        return redirect(url_for(".index"))
    elsewhere = [file for file in known if file.project_id != g.project.id]
    if elsewhere and not stored:
        raise DomainError(
            "duplicate_elsewhere", f"Already in the library as {elsewhere[0].name}, in another project.", status=409
        )
    here = stored + [file for file in known if file.project_id == g.project.id]
    tiles = [tile_of(gallery.get_entry(g.workspace.id, g.project.id, file.id)) for file in here]
    return render_fragment(
        "gallery/_tiles.html", status=201, tiles=tiles, next_cursor=None, args=query_args(), uploaded=True
    )


@bp.post("/import")
def import_url():
    """ "Import from URL": the server fetches the file (app.domain.url_import: public addresses only) and stores it
    like an upload; the answer is its tile, or a readable reason. Bytes the library has (the form says
    `duplicates=reuse`) answer that file's tile instead of a second file."""
    require_write()
    try:
        limits.check_upload(user_id=g.user.id, address=request.remote_addr)
    except limits.RateLimited as limited:
        response = error_response(429, f"Too many uploads; wait {limited.retry_after} seconds and try again.")
        response.headers["Retry-After"] = str(limited.retry_after)
        return response
    spool, name = url_import.fetch(request.form.get("url"))
    request.spools.append(spool)  # removed at teardown unless stored
    known = None
    if request.form.get("duplicates") == "reuse":
        known = files.known_upload(g.workspace.id, g.project.id, spool)
    if known is not None and known.project_id != g.project.id and wants_fragment():
        raise DomainError(
            "duplicate_elsewhere", f"Already in the library as {known.name}, in another project.", status=409
        )
    file = known or files.store_upload(g.workspace.id, g.project.id, spool, name)
    if not wants_fragment():
        said = (
            f"{file.name} is already in the library; it was not imported again." if known else f"Imported {file.name}."
        )
        flash(said, "info")
        return redirect(url_for(".index"))
    tiles = [tile_of(gallery.get_entry(g.workspace.id, g.project.id, file.id))]
    return render_fragment(
        "gallery/_tiles.html",
        status=200 if known else 201,
        tiles=tiles,
        next_cursor=None,
        args=query_args(),
        uploaded=True,
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
    message = (
        f"Queued {count:,} failed image{'s' if count != 1 else ''} again."
        if count
        else "No failed image could be retried: those that failed for good need removing, fixing and uploading again."
    )
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
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if gallery.delete_entry(g.workspace.id, g.project.id, file_id):
        remember_undo([file_id])  # the next page offers Undo
    flash(f"Deleted {entry.file.name}.", "info")
    return redirect(url_for(".index", **url_args(query_args(request.form))))


def details_context(entry: queries.Entry) -> dict:
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
        crop_editors=crop_editors(image, data),
        similar=[
            (near, tile_of(queries.Entry(near.file, near.image, None)))
            for near in duplicates.similar(entry.file.workspace_id, entry.file.id, limit=SIMILAR_SHOWN)
        ],
        **version_rows(entry),
        **image_collection_context(entry.file),
    )


def image_collection_context(file, message: str = "") -> dict:
    """The project's collections the image is in (the details page lists them) and the others it could join."""
    mine = set(grouping.labels([file.id])[file.id][1])
    every = organise.list_collections(g.workspace.id, g.project.id)
    return {
        "image_collections": [c for c in every if c.id in mine],
        "other_collections": [c for c in every if c.id not in mine],
        "collections_message": message,
    }


def version_rows(entry: queries.Entry) -> dict:
    """The Versions section's rows (app/web/gallery_versions.py answers it alone)."""
    private = entry.image.require_signed_urls
    rows = [shapes.version_shape(row, private).dump() for row in versions.list_versions(g.workspace.id, entry.file.id)]
    return dict(
        version_rows=rows,
        pending_version=next((row for row in rows if row["state"] == "pending"), None),
        version_states=VERSION_STATES,
    )


VERSION_STATES = {"pending": "Processing", "current": "Current", "previous": "Replaced", "failed": "Failed"}


def crop_editors(image: Image, data: dict) -> list[dict]:
    """Each preset's crop as the editor starts from it: the stored or focal-point rect, else the centred largest."""
    editors = []
    for preset in crops.workspace_presets(g.workspace):
        crop = data["crops"].get(preset.name) or {}
        rect = crop.get("rect") or crops.largest_rect(preset.aspect, image.width, image.height, (0.5, 0.5)).as_json()
        editors.append(
            {
                "name": preset.name,
                "ratio": preset.ratio,
                "aspect": round(preset.aspect, 6),
                "min_width": preset.min_width,
                "rect": rect,
                "stored_rect": crop.get("rect"),
                "auto": crop.get("auto", True),
                "url": crop.get("url"),
            }
        )
    return editors


def snippets(image: Image, data: dict) -> list[tuple[str, str]]:
    """What the copy buttons copy: the URL, an <img> with srcset and its size, and Markdown."""
    alt = "" if data["decorative"] else (data["altText"] or "")
    width = min(image.width, 800)
    height = max(1, round(image.height * width / max(image.width, 1)))
    if image.require_signed_urls:
        src, srcset = data["versionedUrl"], ""
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
        ("URL", data["versionedUrl"]),
        ("HTML", f"<img {' '.join(attrs)}>"),
        ("Markdown", f"![{markdown_alt}]({data['versionedUrl']})"),
    ]


@bp.get("/files/<file_id>/details")
def details(file_id: str):
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if entry.image is None:
        raise NotFound("image_not_found", "This file is not an image (yet).")
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


@bp.post("/files/<file_id>/crops")
def set_crop(file_id: str):
    """Saves one preset's rectangle (`save`, or `active` from the script) or resets it (`reset`) to automatic."""
    require_write()
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if entry.image is None:
        raise NotFound("image_not_found", "This file is not an image yet.")
    form = request.form
    name = form.get("reset") or form.get("save") or form.get("active") or ""
    error = None
    if form.get("reset"):
        change = None
    else:
        try:
            change = {key: int(form.get(f"{name}-{key}", "")) for key in ("x", "y", "width", "height")}
        except ValueError:
            change, error = None, f"The {name or 'crop'} frame's position and size are whole pixels."
    if error is None:
        try:
            image_edits.update_image(g.workspace.id, file_id, {"crops": {name: change}})
        except DomainError as refusal:
            error = refusal.message
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    saved = None if error else (f"{name} crop saved." if change else f"{name} is automatic again.")
    if not wants_fragment():
        flash(error or saved, "error" if error else "info")
        return redirect(url_for(".details", file_id=file_id))
    context = details_context(entry)
    return render_fragment(
        "gallery/_crops.html", status=400 if error else 200, crop_saved=saved, crop_error=error, **context
    )


@bp.post("/files/<file_id>/name")
def rename(file_id: str):
    require_write()
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    image_edits.rename_file(entry.file, request.form.get("name"))
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
        raise DomainError("invalid_focal_point", "The focal point's x and y must be numbers from 0 to 1.") from None


@bp.post("/files/<file_id>/focal")
def focal_point(file_id: str):
    require_write()
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if entry.image is None:
        raise NotFound("image_not_found", "This file is not an image yet.")
    if request.form.get("op") == "reset":
        image_edits.set_focal_point(entry.image, None, None)
    else:
        image_edits.set_focal_point(entry.image, _fraction(request.form.get("x")), _fraction(request.form.get("y")))
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
        ids = queries.ids(list_query(query_args(form)), bulk.MAX_SELECTION + 1)
        return bulk.confirm_count(ids, form.get("expected"))  # the number the editor confirmed, or nothing is done
    return form.getlist("ids")


def attachment(name: str) -> str:
    """An attachment header any browser reads: a plain ASCII name, and the real one in RFC 5987 form."""
    name = re.sub(r'["\\/\x00-\x1f]', "-", name)
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or "originals.zip"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def project_collection(collection_id: str) -> grouping.Collection:
    """This project's collection; another project's or workspace's answers 404 like a missing one."""
    collection = grouping.get_collection(g.workspace.id, collection_id)
    if collection.project_id != g.project.id:
        raise NotFound("collection_not_found", f"No collection {collection_id!r} in this project.")
    return collection


def images(count: int) -> str:
    return f"{count:,} image{'s' if count != 1 else ''}"


def organise_selection(action: str, ids: list[str]) -> tuple[bulk.Outcome, str]:
    """The bulk bar's "Add to collection", "Remove from <the collection shown>" and "Add tags"/"Remove tags" over
    the selection, in one statement each (the domain's, so webhooks hear what the API's change would say)."""
    if not ids:
        raise DomainError("nothing_selected", "Select at least one image first.")
    if action == "collect":
        chosen = project_collection(request.form.get("collection_id") or "")
        collection, changed = organise.add_to_collection(g.workspace.id, chosen.id, ids=ids)
        message = f"Added {images(changed)} to {collection.name}."
    elif action == "uncollect":
        shown = request.form.get("collection") or ""
        if not shown:
            raise DomainError("collection_not_shown", "Open a collection first, then remove images from it.")
        collection, changed = organise.remove_from_collection(g.workspace.id, project_collection(shown).id, ids=ids)
        message = f"Removed {images(changed)} from {collection.name}."
    else:
        tags = [part for part in (request.form.get("tags") or "").split(",") if part.strip()]
        if not tags:
            raise DomainError("nothing_to_change", "Type the tags to add or remove, separated by commas.")
        change = {"add": tags} if action == "tag" else {"remove": tags}
        changed = organise.change_tags(g.workspace.id, ids=ids, **change)
        done = "Tagged" if action == "tag" else "Removed the tags from"
        message = f"{done} {images(changed)}."
    return bulk.Outcome(done=ids[:changed], skipped=[]), message


@bp.post("/bulk")
def bulk_action():
    """Delete, retry or download a selection; htmx gets the grid back, a plain form a redirect or the ZIP."""
    action, args = request.form.get("action"), query_args(request.form)
    ids = selection(request.form)
    if action == "download":
        entries = bulk.originals(g.workspace.id, g.project.id, ids)
        response = Response(bulk.stream_zip(entries, services.storage()), mimetype="application/zip")
        response.headers["Content-Disposition"] = attachment(f"{g.project.name[:60]} originals.zip")
        response.headers["Cache-Control"] = "no-store"
        return response
    require_write()
    undo_files, retried = [], None
    if action == "delete":
        outcome = bulk.delete(g.workspace.id, g.project.id, ids)
        message = f"Deleted {len(outcome.done):,} file{'s' if len(outcome.done) != 1 else ''}."
        undo_files = outcome.trashed  # in the trash: Undo brings them back
        if undo_files and not wants_fragment():
            remember_undo([file.id for file in undo_files])
    elif action == "retry":
        outcome = bulk.retry(g.workspace.id, g.project.id, ids)
        message = retried = bulk.retry_message(outcome)
    elif action in ("collect", "uncollect", "tag", "untag"):
        outcome, message = organise_selection(action, ids)
    else:
        raise DomainError("invalid_action", "Choose Delete, Retry, Download, a collection or a tag action.")
    if not wants_fragment():
        flash(message, "info")
        return redirect(url_for(".index", **url_args(args)))
    trigger = {"bulk-done": {"action": action, "count": len(outcome.done), "message": message}}
    return render_fragment(
        "gallery/_grid_undo.html",
        headers={"HX-Trigger": json.dumps(trigger)},
        undo_files=undo_files,
        retried=retried,
        collections=organise.list_collections(g.workspace.id, g.project.id) if "collect" in action else None,
        current_collection=args.get("collection", ""),
        **grid_context(args),
    )
