"""The gallery's collections sidebar, an image's collections and its tag editor: create, rename and delete
collections, drop tiles onto one, add an image to one or take it out from its details, edit an image's tags with
suggestions. The bulk bar's collection and tag actions are in gallery.bulk_action."""

from __future__ import annotations

import json

from flask import Blueprint, flash, g, redirect, request, url_for

from app.domain import gallery, organise
from app.domain.errors import DomainError
from app.domain.shapes import image_json
from app.web.auth import project_scoped
from app.web.gallery import error_response, image_collection_context, images, project_collection, require_write
from app.web.render import render, render_fragment, wants_fragment

bp = Blueprint("organise", __name__, url_prefix="/w/<workspace_id>/p/<project_id>")
project_scoped(bp)


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    return error_response(error.status, error.message)


def tag_list(raw: str | None) -> list[str]:
    """Tags as typed in one field: separated by commas, blanks left out (the domain checks each)."""
    return [part for part in (raw or "").split(",") if part.strip()]


def sidebar(message: str, opened: str | None = None):
    """The collections sidebar as a fragment (htmx), with `message` announced; a plain form goes back to the gallery
    (showing the collection `opened`)."""
    if not wants_fragment():
        flash(message, "info")
        return redirect(url_for("gallery.index", **({"collection": opened} if opened else {})))
    headers = {"HX-Trigger": json.dumps({"organised": {"message": message}})}
    return render_fragment("gallery/_collections.html", headers=headers, **sidebar_context())


def sidebar_context() -> dict:
    return {
        "collections": organise.list_collections(g.workspace.id, g.project.id),
        "current_collection": request.values.get("collection") or "",
    }


@bp.post("/collections")
def create_collection():
    require_write()
    made = organise.create_collection(g.workspace.id, g.project.id, request.form.get("name"))
    return sidebar(f"Created the collection {made.name}.", made.id)


@bp.post("/collections/<collection_id>/rename")
def rename_collection(collection_id: str):
    require_write()
    project_collection(collection_id)
    renamed = organise.rename_collection(g.workspace.id, collection_id, request.form.get("name"))
    return sidebar(f"Renamed it to {renamed.name}.", collection_id)


@bp.post("/collections/<collection_id>/delete")
def delete_collection(collection_id: str):
    require_write()
    name = project_collection(collection_id).name
    organise.delete_collection(g.workspace.id, collection_id)
    return sidebar(f"Deleted the collection {name}; its images stay.")


@bp.post("/collections/<collection_id>/images")
def add_images(collection_id: str):
    """Tiles dropped onto a collection (their ids)."""
    require_write()
    project_collection(collection_id)
    collection, changed = organise.add_to_collection(g.workspace.id, collection_id, ids=request.form.getlist("ids"))
    return sidebar(f"Added {images(changed)} to {collection.name}.", collection_id)


@bp.post("/content/files/<file_id>/collections")
def image_collections(file_id: str):
    """The details page's collections: `remove_from` names the one to take the image out of, else `collection_id` the
    one to add it to."""
    require_write()
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if entry.image is None:
        return error_response(404, "This file is not an image (yet).")
    removing = request.form.get("remove_from")
    chosen = project_collection(removing or request.form.get("collection_id") or "")
    if removing:
        collection, changed = organise.remove_from_collection(g.workspace.id, chosen.id, ids=[file_id])
        message = f"Removed {entry.file.name} from {collection.name}." if changed else "It was not in that one."
    else:
        collection, changed = organise.add_to_collection(g.workspace.id, chosen.id, ids=[file_id])
        message = f"Added {entry.file.name} to {collection.name}." if changed else "It is in that one already."
    if not wants_fragment():
        flash(message, "info")
        return redirect(url_for("gallery.details", file_id=file_id))
    headers = {"HX-Trigger": json.dumps({"organised": {"message": message}})}
    context = image_collection_context(entry.file, message)
    return render_fragment("gallery/_image_collections.html", headers=headers, file=entry.file, **context)


@bp.post("/content/files/<file_id>/tags")
def set_tags(file_id: str):
    """The details page's tag editor: the field holds all the image's tags."""
    require_write()
    entry = gallery.get_entry(g.workspace.id, g.project.id, file_id)
    if entry.image is None:
        return error_response(404, "This file is not an image (yet).")
    from app.domain import image_edits

    image, file = image_edits.update_image(g.workspace.id, file_id, {"tags": tag_list(request.form.get("tags"))})
    if not wants_fragment():
        return redirect(url_for("gallery.details", file_id=file_id))
    return render_fragment("gallery/_tags.html", file=file, data=image_json(image, file), saved=True)


@bp.get("/tags/suggest")
def suggest_tags():
    """`<option>`s for the tag field's datalist: tags starting with the last one being typed, most used first."""
    typed = tag_list(request.args.get("tags"))
    last = typed[-1].strip() if typed and not (request.args.get("tags") or "").rstrip().endswith(",") else ""
    done = ", ".join(part.strip() for part in typed[:-1]) if last else ", ".join(p.strip() for p in typed)
    found = organise.suggest_tags(g.workspace.id, last or None, 10) if last else []
    datalist = (
        request.args.get("list") if request.args.get("list") in ("tag-options", "bulk-tag-options") else "tag-options"
    )
    return render("gallery/_tag_options.html", "gallery/_tag_options.html", tags=found, done=done, datalist_id=datalist)
