from flask import current_app, g, redirect, request

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.images import conditional
from app.api.params import parse_list_query
from app.api.problems import ApiProblem
from app.api.trash import permanent_param, restorable_until
from app.domain import files, image_status, limits, listing, trash
from app.domain.shapes import file_json, list_json


@bp.post("/files")
@require("write")
def upload_file():
    try:
        limits.check_upload(
            token_id=g.token.id if g.get("token") else None,
            user_id=g.user.id if g.get("user") else None,
            address=request.remote_addr,
        )
    except limits.RateLimited as limited:
        raise ApiProblem(
            429,
            "rate_limited",
            f"Too many uploads; try again in {limited.retry_after} seconds.",
            headers={"Retry-After": str(limited.retry_after)},
        ) from None
    if not request.mimetype == "multipart/form-data":
        raise ApiProblem(415, "multipart_required", "Send the file as multipart/form-data in the field 'file'.")
    upload = request.files.get("file")
    if upload is None:
        raise ApiProblem(400, "file_missing", "The multipart field 'file' is missing.", parameter="file")
    project_id = request.form.get("project_id") or request.args.get("project_id")
    if not project_id:
        raise ApiProblem(
            400,
            "project_id_missing",
            "Say which project the file belongs to with 'project_id'.",
            parameter="project_id",
        )
    spool = request.spools[-1] if request.spools else None
    if spool is None:
        raise ApiProblem(400, "file_missing", "The multipart field 'file' is missing.", parameter="file")
    file = files.store_upload(g.workspace_id, project_id, spool, upload.filename)
    return file_json(file), 201, {"Location": f"{request.url_root.rstrip('/')}/api/files/{file.id}"}


@bp.get("/files")
@require("read")
def list_files():
    spec = parse_list_query("files", request.args, workspace_param(request.args.get("workspace_id")))
    rows, next_cursor, total = listing.list_files(spec)
    image_status.preload([row.id for row in rows if row.is_image])
    return list_json([file_json(row) for row in rows], next_cursor, total)


@bp.get("/files/<file_id>")
@require("read")
def get_file(file_id):
    return conditional(file_json(files.get_file(g.workspace_id, file_id)))


@bp.get("/files/<file_id>/content")
@require("read")
def file_content(file_id):
    file = files.get_file(g.workspace_id, file_id)
    if file.status != "ready" and not (file.status == "error" and file.error_code != "upload_interrupted"):
        raise ApiProblem(409, "file_not_ready", "The file's bytes are not stored yet.")
    url = current_app.extensions["storage"].signed_url(file.storage_key, current_app.config["SIGNED_URL_TTL"])
    response = redirect(url, 302)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.delete("/files/<file_id>")
@require("write")
def delete_file(file_id):
    """Into the trash for the workspace's retention period (`restorableUntil`), or for good with `?permanent=true`."""
    until = trash.delete_file(g.workspace_id, file_id, permanent_param())
    return {"id": file_id, "object": "file", "deleted": True, **restorable_until(until)}


@bp.post("/files/<file_id>/retry")
@require("write")
def retry_file(file_id):
    """A failed image starts afresh; one waiting for the images service is tried now instead of after its backoff."""
    return file_json(image_status.retry_file(g.workspace_id, file_id)), 202
