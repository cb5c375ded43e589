"""Replacing an image's bytes and its history of versions (app/domain/versions.py)."""

from flask import g, request

from app.api import bp
from app.api.auth import require
from app.api.files import check_upload_rate
from app.api.params import form_file
from app.api.problems import ApiProblem
from app.api.spec import operation
from app.domain import images, inputs, shapes, versions

NUMBER = {"number": "The version's number: 1 for the bytes first uploaded, counting up with each replace or restore."}


def _who() -> str:
    return g.user.email if g.get("user") is not None else f"token:{g.token.id}"


def _private(file_id: str) -> bool:
    image = images.serving(file_id)
    return bool(image and image.require_signed_urls)


def _version_json(version, private: bool | None = None) -> dict:
    private = _private(version.file_id) if private is None else private
    return shapes.version_shape(version, private=private).dump()


@bp.put("/files/<file_id>/content")
@require("write")
@operation(
    "replaceFileContent",
    "files",
    {202: (shapes.FileVersion, "The new version, `pending` until it is ready; the current version serves meanwhile.")},
    (400, 401, 403, 404, 408, 409, 413, 415, 429, 507),
    form=inputs.ReplaceForm,
    headers={202: ("Location",), 429: ("Retry-After",)},
)
def replace_file_content(file_id):
    """Replace an image's bytes

    The new bytes become the next version of the same file: its id, name (unless `name` is sent), alt text, focal
    point, crops and every other field stay. The worker processes the version like an upload; until it is ready the
    current version keeps serving (the stable `url` redirects to it), then `url` shows the new pixels and
    `image.replaced` is sent. A replace that fails (a damaged file, the images service away past the deadline)
    leaves the current version serving: the version is `failed` with its `error`, and `image.replace_failed` is sent.
    409 `replace_in_progress` while an earlier replace is pending, `image_not_ready` before the first version is
    ready, `not_an_image` for a file that is not an image; 415 `replacement_not_an_image` when the new bytes are not
    an image. Session callers must send the `X-CSRFToken` header.
    """
    check_upload_rate()  # a replace counts as one upload, like POST /api/files
    if not request.mimetype == "multipart/form-data":
        raise ApiProblem(415, "multipart_required", "Send the file as multipart/form-data in the field 'file'.")
    upload = form_file()
    spool = request.spools[-1] if request.spools else None
    if upload is None or spool is None:
        raise ApiProblem(400, "file_missing", "The multipart field 'file' is missing.", parameter="file")
    version = versions.replace(g.workspace_id, file_id, spool, _who(), rename=request.form.get("name"))
    location = f"{request.url_root.rstrip('/')}/api/files/{file_id}/versions/{version.number}"
    return _version_json(version), 202, {"Location": location}


@bp.get("/files/<file_id>/versions")
@require("read")
@operation("listFileVersions", "files", {200: (shapes.FileVersionList, "Every version, newest first.")}, (401, 404))
def list_file_versions(file_id):
    """List an image's versions

    Newest first, with who made each, when, its size and dimensions; 409 `not_an_image` for a file that is not an
    image, `image_not_ready` before its first version is ready.
    """
    rows = versions.list_versions(g.workspace_id, file_id)
    private = _private(file_id)  # one image, so one answer for every version
    return shapes.FileVersionList(data=[shapes.version_shape(row, private) for row in rows]).dump()


@bp.get("/files/<file_id>/versions/<int:number>")
@require("read")
@operation("getFileVersion", "files", {200: (shapes.FileVersion, "The version.")}, (401, 404, 409), path=NUMBER)
def get_file_version(file_id, number):
    """Get one version of an image"""
    return _version_json(versions.get_version(g.workspace_id, file_id, number))


@bp.post("/files/<file_id>/versions/<int:number>/restore")
@require("write")
@operation(
    "restoreFileVersion",
    "files",
    {202: (shapes.FileVersion, "The new version that brings the old bytes back, `pending` until it is ready.")},
    (401, 403, 404, 409),
    path=NUMBER,
)
def restore_file_version(file_id, number):
    """Make an old version current again

    The old version's stored bytes become a NEW version (so nothing in the history is lost), processed like a
    replace. 409 `version_current` for the current version, `version_not_restorable` for one that never became
    ready, `replace_in_progress` while a replace is pending. Session callers must send the `X-CSRFToken` header.
    """
    return _version_json(versions.restore(g.workspace_id, file_id, number, _who())), 202
