"""One-time upload URLs: made with a write token on a server, used by a browser that holds no secret."""

from flask import current_app, g, request, url_for

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.problems import ApiProblem
from app.domain import uploads
from app.domain.common import isoformat
from app.domain.shapes import file_json, image_json

# Multipart framing around the file: boundaries, part headers and a long file name.
MULTIPART_ALLOWANCE = 64 * 1024


def upload_url_json(row: uploads.UploadUrl, secret: str | None = None) -> dict:
    body = {
        "object": "upload_url",
        "id": row.id,
        "projectId": row.project_id,
        "workspaceId": row.workspace_id,
        "maxBytes": row.max_bytes,
        "expiresAt": isoformat(row.expires_at),
        "state": row.state,
        "metadata": {"altText": row.alt_text, "name": row.name},
    }
    if secret is not None:
        body["uploadUrl"] = url_for("api.use_upload_url", upload_id=row.id, secret=secret, _external=True)
    return body


@bp.post("/uploads")
@require("write")
def create_upload_url():
    workspace_param(request.args.get("workspace_id"))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiProblem(
            415 if not request.is_json else 400,
            "json_required",
            "Send a JSON object: {projectId, maxBytes?, expiresIn?, metadata?}.",
        )
    limits = uploads.parse_limits(body, current_app.config["MAX_UPLOAD_BYTES"])
    row, secret = uploads.create_upload_url(g.workspace_id, body.get("projectId"), limits)
    return upload_url_json(row, secret), 201


@bp.post("/uploads/<upload_id>/<secret>")
def use_upload_url(upload_id, secret):
    """No Authorization header: the secret in the URL is the permission, good for one file."""
    row = uploads.find(upload_id, secret)
    uploads.check_usable(row)
    if request.mimetype != "multipart/form-data":
        raise ApiProblem(415, "multipart_required", "Send the file as multipart/form-data in the field 'file'.")
    if request.content_length is not None and request.content_length > row.max_bytes + MULTIPART_ALLOWANCE:
        # Plainly too large: refused before a byte is read (the spool checks the file's own size exactly).
        raise ApiProblem(
            413,
            "file_too_large",
            f"The file is larger than the limit of {row.max_bytes:,} bytes.",
            limit="file_size",
            value=row.max_bytes,
        )
    request.upload_limit = row.max_bytes  # the spool refuses the bytes past this URL's own limit
    upload = request.files.get("file")
    spool = request.spools[-1] if request.spools else None
    if upload is None or spool is None:
        raise ApiProblem(400, "file_missing", "The multipart field 'file' is missing.", parameter="file")
    file = uploads.use(row, spool, upload.filename)
    return {**upload_url_json(row), "file": file_json(file), "image": None}, 201


@bp.get("/uploads/<upload_id>/<secret>")
def get_upload_url(upload_id, secret):
    """What became of the upload (the file, then its image), for the browser that made it, with no token."""
    row = uploads.find(upload_id, secret)
    uploads.readable(row)
    file, image = uploads.uploaded(row)
    return {
        **upload_url_json(row),
        "file": file_json(file) if file else None,
        "image": image_json(image, file) if image is not None else None,
    }
