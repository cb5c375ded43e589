import re

from flask import g, jsonify, request, url_for

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.params import parse_list_query
from app.api.problems import ApiProblem
from app.api.trash import permanent_param, restorable_until
from app.domain import files, image_edits, listing
from app.domain.accounts import NotFound
from app.domain.shapes import image_json, list_json

# Ids this API hands out; anything else cannot name an image and answers the same 404 as a missing one.
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
JSON_TYPES = ("application/json", "application/merge-patch+json")


@bp.get("/images")
@require("read")
def list_images():
    spec = parse_list_query("images", request.args, workspace_param(request.args.get("workspace_id")))
    rows, next_cursor, total = listing.list_images(spec)
    return list_json([image_json(image, file) for image, file in rows], next_cursor, total)


@bp.post("/images")
def create_image():
    """There is no image id to create: an image is a file whose bytes are an image."""
    raise ApiProblem(
        405,
        "use_files_endpoint",
        "Images are not created directly: upload the file with POST /api/files and it becomes an image once processed.",
        headers={"Allow": "GET, HEAD, OPTIONS", "Link": f'<{url_for("api.upload_file")}>; rel="alternate"'},
        see=url_for("api.upload_file"),
    )


@bp.get("/images/<file_id>")
@require("read")
def get_image(file_id):
    image = image_edits.get_image_or_not_ready(g.workspace_id, _checked(file_id))
    return conditional(image_json(image, files.get_file(g.workspace_id, file_id)))


@bp.patch("/images/<file_id>")
@require("write")
def update_image(file_id):
    if request.mimetype not in JSON_TYPES:
        raise ApiProblem(415, "json_required", "Send the changes as a JSON object (Content-Type: application/json).")
    changes = request.get_json(silent=True)
    if changes is None:
        raise ApiProblem(400, "invalid_json", "The body is not valid JSON.")
    image, file = image_edits.update_image(g.workspace_id, _checked(file_id), changes)
    return image_json(image, file)


@bp.delete("/images/<file_id>")
@require("write")
def delete_image(file_id):
    """Into the trash with its file (`restorableUntil`), or for good with `?permanent=true`; an image still being
    processed is deleted too."""
    until = image_edits.delete_image(g.workspace_id, _checked(file_id), permanent_param())
    return {"object": "image", "fileId": file_id, "deleted": True, **restorable_until(until)}


def conditional(body: dict):
    """A JSON answer with a strong ETag that answers 304 to a matching If-None-Match."""
    response = jsonify(body)
    response.add_etag()
    return response.make_conditional(request)


def _checked(file_id: str) -> str:
    if not _ID.fullmatch(file_id):
        raise NotFound("image_not_found", f"No image {file_id!r} in this workspace.")
    return file_id
