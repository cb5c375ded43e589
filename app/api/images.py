import re

from flask import g, request, url_for

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.problems import ApiProblem
from app.api.trash import permanent_param, restorable_until
from app.domain import files, images, trash
from app.domain.accounts import NotFound
from app.domain.shapes import image_json, list_json

MAX_QUERY_LENGTH = 255
# Ids this API hands out; anything else cannot name an image and answers the same 404 as a missing one.
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


@bp.get("/images")
@require("read")
def list_images():
    workspace_id = workspace_param(request.args.get("workspace_id"))
    limit = files.parse_limit(request.args.get("limit"))
    project_id = request.args.get("project_id") or None
    if project_id is not None and not _ID.fullmatch(project_id):
        raise NotFound("project_not_found", f"No project {project_id!r} in this workspace.")
    q = request.args.get("q") or None
    if q is not None and (len(q) > MAX_QUERY_LENGTH or "\x00" in q):
        raise ApiProblem(400, "invalid_q", f"q must be at most {MAX_QUERY_LENGTH} characters of text.", parameter="q")
    rows, next_cursor = images.list_images(workspace_id, project_id=project_id, q=q, limit=limit,
                                           cursor=request.args.get("cursor"))
    return list_json([image_json(image, file) for image, file in rows], next_cursor)


@bp.post("/images")
def create_image():
    """There is no image id to create: an image is a file whose bytes are an image."""
    raise ApiProblem(405, "use_files_endpoint", "Images are not created directly: upload the file with "
                     "POST /api/files and it becomes an image once processed.",
                     headers={"Allow": "GET, HEAD, OPTIONS", "Link": f'<{url_for("api.upload_file")}>; rel="alternate"'},
                     see=url_for("api.upload_file"))


@bp.get("/images/<file_id>")
@require("read")
def get_image(file_id):
    image = images.get_image(g.workspace_id, _checked(file_id))
    return image_json(image, files.get_file(g.workspace_id, file_id))


@bp.delete("/images/<file_id>")
@require("write")
def delete_image(file_id):
    """Into the trash with its file (`restorableUntil`), or for good with `?permanent=true`."""
    until = trash.delete_image(g.workspace_id, _checked(file_id), permanent_param())
    return {"object": "image", "fileId": file_id, "deleted": True, **restorable_until(until)}


def _checked(file_id: str) -> str:
    if not _ID.fullmatch(file_id):
        raise NotFound("image_not_found", f"No image {file_id!r} in this workspace.")
    return file_id
