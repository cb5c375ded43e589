"""Serves LocalStorage's signed URLs, the embedded stand-in for presigned R2 URLs."""

from flask import Blueprint, abort, current_app, request, send_file

from app.adapters.storage import LocalStorage

bp = Blueprint("blobs", __name__)


@bp.get("/storage/<workspace_id>/<file_key>")
def signed_blob(workspace_id: str, file_key: str):
    storage = current_app.extensions["storage"]
    if not isinstance(storage, LocalStorage):
        abort(404)
    key = f"{workspace_id}/{file_key}"
    if not storage.verify(key, request.args.get("exp", ""), request.args.get("sig", "")):
        abort(403, "This link is invalid or has expired.")
    path = storage.path(key)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="application/octet-stream", conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
