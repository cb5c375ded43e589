from flask import current_app, g, redirect, request
from sqlalchemy.exc import IntegrityError

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.images import conditional
from app.api.params import form_file, list_query
from app.api.problems import ApiProblem
from app.api.spec import operation, validated
from app.domain import accounts, files, idempotency, image_status, inputs, limits, queries, shapes, trash, url_import
from app.domain.shapes import file_json, list_json


def check_upload_rate() -> None:
    """Counts one upload of the caller (token, user and address); too many answers 429 with Retry-After."""
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


@bp.post("/files")
@require("write")
@operation(
    "uploadFile",
    "files",
    {
        201: (shapes.File, "The stored file."),
        200: (shapes.File, "The bytes were already in the workspace: that file, with `duplicateOf` (nothing stored)."),
    },
    (400, 401, 403, 404, 408, 413, 415, 422, 429, 502, 504, 507),
    query=inputs.UploadQuery,
    form=inputs.UploadForm,
    encoded_form=inputs.UrlImportForm,
    request_headers=inputs.UploadHeaders,
    headers={201: ("Location",), 200: ("Location",), 429: ("Retry-After",)},
)
def upload_file():
    """Upload a file, or import one from a URL

    A file whose sniffed type is `image/*` becomes an image once processed: this is the only way to make an image.
    A file can be as large as the upload limit (100 MB by default, `MAX_UPLOAD_BYTES`); an image over the images
    service's limits (10 MB, 12,000 px on the longest side, 100 megapixels) or in a format it refuses (TIFF, BMP,
    JPEG XL) is sent as a master scaled and re-encoded to fit, and the original is kept unchanged. An image whose
    header (its first 64 KB) already shows more pixels than the product processes is refused then with 422
    `image_too_large`, and nothing is kept. Session callers must send the `X-CSRFToken` header. With an
    `Idempotency-Key`, a repeat of the same upload (same project, name and bytes) by the same caller within 24 hours
    answers the first answer again instead of storing the file twice; the key reused for a different upload is a 422
    `idempotency_key_reused`. With `url=` (form-encoded) instead of a file, the web app imports the file at that
    address; a failure says why: `invalid_url`, `url_address_refused` (400), `url_not_found`, `url_unreachable`
    (422), `file_too_large` (413), `url_fetch_failed` (502), `url_timed_out` (504). Files larger than a request can
    carry over a poor link go resumably: `POST /api/tus`.

    Bytes already stored in the workspace (same SHA-256, in any of its projects; not in the trash, not failed) are not
    stored twice, whether uploaded or imported from a URL: the answer is 200 with that file and `duplicateOf` naming
    it, unless `duplicates=allow` asks for a new file (201). To avoid sending the bytes at all, ask first:
    `GET /api/files?sha256=…`.
    """
    check_upload_rate()
    if request.mimetype == "application/x-www-form-urlencoded" or (
        request.mimetype == "multipart/form-data" and "url" in request.form
    ):
        return _import_url()
    if not request.mimetype == "multipart/form-data":
        raise ApiProblem(415, "multipart_required", "Send the file as multipart/form-data in the field 'file'.")
    upload = form_file()
    if upload is None:
        raise ApiProblem(400, "file_missing", "The multipart field 'file' is missing.", parameter="file")
    project_id = request.form.get("project_id")
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
    return _store_once(project_id, spool, upload.filename)


def _import_url():
    """`url=` instead of a file: the web app fetches it through the address guard, then stores it like an upload."""
    if form_file() is not None:
        raise ApiProblem(400, "url_and_file", "Send either a file or a url, not both.", parameter="url")
    project_id = request.form.get("project_id")
    if not project_id:
        raise ApiProblem(
            400,
            "project_id_missing",
            "Say which project the file belongs to with 'project_id'.",
            parameter="project_id",
        )
    accounts.get_project(g.workspace_id, project_id)  # before anything is fetched
    spool, name = url_import.fetch(request.form.get("url"))
    request.spools.append(spool)  # removed at teardown unless stored
    return _store_once(project_id, spool, name)


def _store_once(project_id: str, spool, filename: str | None):
    """Stores the upload and answers 201 with an answer built before the commit; with an Idempotency-Key, a repeat
    of the same request (same project, name and bytes) by the same caller gets the first answer back instead."""
    key = request.headers.get("Idempotency-Key")
    caller = f"token:{g.token.id}" if g.get("token") else f"user:{g.user.id}"
    print_ = idempotency.fingerprint(project_id, filename or "", spool.sha256, str(spool.size))
    if key is not None:
        idempotency.check_key(key)
        first = idempotency.replay(g.workspace_id, caller, key, print_)
        if first is not None:
            spool.discard()
            return _answer(first.body, first.status)
    if validated("query").duplicates == "reuse":
        known = files.known_upload(g.workspace_id, project_id, spool)
        if known is not None:
            body = shapes.duplicate_json(known)
            if key is not None:
                body = idempotency.remember(g.workspace_id, caller, key, print_, 200, body)
            return _answer(body, 200)
    answered: dict = {}

    def answer(file) -> None:
        answered.update(file_json(file))
        if key is not None:
            idempotency.record(g.workspace_id, caller, key, print_, 201, dict(answered))

    try:
        files.store_upload(g.workspace_id, project_id, spool, filename, answer=answer)
    except IntegrityError:
        first = idempotency.replay(g.workspace_id, caller, key, print_) if key is not None else None
        if first is None:
            raise
        return _answer(first.body, first.status)  # the same key's request won the race
    return _answer(answered, 201)


def _answer(body: dict, status: int):
    return body, status, {"Location": f"{request.url_root.rstrip('/')}/api/files/{body['id']}"}


@bp.get("/files")
@require("read")
@operation(
    "listFiles", "files", {200: (shapes.FileList, "A page of files.")}, (400, 401, 404), query=inputs.FileListQuery
)
def list_files():
    """List files, newest first

    Unknown parameters answer 400 `invalid_parameter` naming them.
    """
    spec = list_query("files", validated("query"), workspace_param(request.args.get("workspace_id")))
    page = queries.run(spec)
    return list_json([file_json(entry.file) for entry in page.entries], page.next_cursor, page.total)


@bp.get("/files/<file_id>")
@require("read")
@operation(
    "getFile",
    "files",
    {200: (shapes.File, "The file."), 304: (None, "Unchanged since the `ETag` sent in `If-None-Match`.")},
    (400, 401, 404),
    headers={200: ("ETag",), 304: ("ETag",)},
)
def get_file(file_id):
    """Get one file"""
    return conditional(file_json(files.get_file(g.workspace_id, file_id)))


@bp.get("/files/<file_id>/content")
@require("read")
@operation(
    "getFileContent",
    "files",
    {302: (None, "A short-lived signed URL of the bytes.")},
    (400, 401, 404, 409),
    headers={302: ("Location",)},
)
def file_content(file_id):
    """Redirect to the file's bytes"""
    file = files.get_file(g.workspace_id, file_id)
    if file.status != "ready" and not (file.status == "error" and file.error_code != "upload_interrupted"):
        raise ApiProblem(409, "file_not_ready", "The file's bytes are not stored yet.")
    url = current_app.extensions["storage"].signed_url(file.storage_key, current_app.config["SIGNED_URL_TTL"])
    response = redirect(url, 302)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.delete("/files/<file_id>")
@require("write")
@operation(
    "deleteFile",
    "files",
    {200: (shapes.FileDeleted, "The file is gone.")},
    (400, 401, 403, 404),
    query=inputs.DeleteQuery,
)
def delete_file(file_id):
    """Delete a file (and its image)

    The file and its image are gone from every list and read at once (404) and the images-service copy is removed,
    so nothing is delivered; the bytes and rows stay in the workspace's trash until `restorableUntil` (`POST
    /api/files/{file_id}/restore` brings them back). `permanent=true`, or a workspace whose `trash_days` is 0,
    removes it for good.
    """
    until = trash.delete_file(g.workspace_id, file_id, validated("query").permanent)
    return shapes.FileDeleted(id=file_id, restorable_until=until).dump()


@bp.post("/files/<file_id>/retry")
@require("write")
@operation("retryFile", "files", {202: (shapes.File, "The file, queued again.")}, (400, 401, 403, 404, 409))
def retry_file(file_id):
    """Retry making the file's image

    An image that failed for a passing reason (`error.retryable: true`) starts afresh (with a new deadline); one
    waiting for the images service is tried now instead of after its backoff. 409 `not_retryable` for a permanent
    failure (`retryable: false`) or a file neither failed nor waiting. Session callers must send the `X-CSRFToken`
    header.
    """
    return file_json(image_status.retry_file(g.workspace_id, file_id)), 202
