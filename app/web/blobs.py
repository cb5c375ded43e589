"""Serves the signed URLs of a store that has no server of its own (the local folder), standing in for presigned R2."""

from flask import Blueprint, abort, request, send_file

from app.domain import services

bp = Blueprint("blobs", __name__)


@bp.get("/storage/<workspace_id>/<file_key>")
def signed_blob(workspace_id: str, file_key: str):
    storage = services.storage()
    try:
        path = storage.signed_file(
            f"{workspace_id}/{file_key}", request.args.get("exp", ""), request.args.get("sig", "")
        )
    except PermissionError as exc:
        abort(403, str(exc))
    if path is None or not path.is_file():
        abort(404)
    response = send_file(path, mimetype="application/octet-stream", conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
