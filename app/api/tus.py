"""Resumable uploads over tus 1.0 (core, creation, creation-with-upload, termination, expiration, checksum):
`POST /api/tus` opens one, `PATCH /api/tus/<id>` sends bytes from its offset, `HEAD` says how far it got."""

from __future__ import annotations

from email.utils import format_datetime

from flask import current_app, g, request, url_for

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.files import check_upload_rate
from app.api.problems import ApiProblem
from app.api.spec import TUS_STATE, operation
from app.domain import inputs, resumable, upload_urls

TUS_VERSION = inputs.TUS_VERSION
TUS_EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
OFFSET_TYPE = "application/offset+octet-stream"
TUS_ENDPOINTS = {
    "api.tus_options",
    "api.tus_create",
    "api.tus_offset",
    "api.tus_append",
    "api.tus_terminate",
    "api.tus_upload_url_offset",
    "api.tus_upload_url_append",
    "api.tus_upload_url_terminate",
}
# Headers a browser's tus client sends and reads across origins (joined to the CORS lists in app.api.cors).
REQUEST_HEADERS = ["Tus-Resumable", "Upload-Length", "Upload-Offset", "Upload-Metadata", "Upload-Checksum"]
RESPONSE_HEADERS = ["Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm"]
RESPONSE_HEADERS += ["Upload-Offset", "Upload-Length", "Upload-Expires", "Content-Location"]


@bp.after_request
def _tus_headers(response):
    """Every tus answer, errors included, names the protocol; OPTIONS also says what this server supports."""
    if request.endpoint in TUS_ENDPOINTS or (
        request.endpoint == "api.use_upload_url" and "Tus-Resumable" in request.headers
    ):
        response.headers["Tus-Resumable"] = TUS_VERSION
        if request.method == "OPTIONS":
            response.headers["Tus-Version"] = TUS_VERSION
            response.headers["Tus-Extension"] = TUS_EXTENSIONS
            response.headers["Tus-Max-Size"] = str(current_app.config["MAX_UPLOAD_BYTES"])
            response.headers["Tus-Checksum-Algorithm"] = ",".join(resumable.CHECKSUM_ALGORITHMS)
            response.status_code = 204
    return response


def _version() -> None:
    """No Tus-Resumable header is a malformed request (400); another version is one we do not speak (412)."""
    if "Tus-Resumable" not in request.headers:
        raise ApiProblem(
            400, "tus_resumable_missing", f"Send 'Tus-Resumable: {TUS_VERSION}'.", parameter="Tus-Resumable"
        )
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise ApiProblem(
            412,
            "tus_version_unsupported",
            f"Send 'Tus-Resumable: {TUS_VERSION}'; it is the only version this server speaks.",
            headers={"Tus-Version": TUS_VERSION},
        )


def _whole_number(name: str) -> int:
    raw = request.headers.get(name, "")
    if not raw.isdigit() or len(raw) > 18:
        raise ApiProblem(400, "invalid_header", f"{name} must be a whole number of bytes.", parameter=name)
    return int(raw)


def _state(row: resumable.ResumableUpload) -> dict[str, str]:
    headers = {
        "Upload-Offset": str(row.offset),
        "Upload-Length": str(row.length),
        "Upload-Expires": format_datetime(row.expires_at, usegmt=True),
        "Cache-Control": "no-store",
    }
    if row.file_id:
        headers["Content-Location"] = f"{request.url_root.rstrip('/')}/api/files/{row.file_id}"
    return headers


def _creator() -> str:
    return f"token:{g.token.id}" if g.get("token") else f"user:{g.user.id}"


@bp.route("/tus", methods=["OPTIONS"], endpoint="tus_options")
@operation(
    "getResumableUploadOptions",
    "uploads",
    {204: (None, "What this server supports (no credentials needed).")},
    public=True,
    method="OPTIONS",
    headers={204: ("Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm")},
)
def tus_options():
    """What the tus server supports

    `Tus-Version`, `Tus-Extension`, `Tus-Max-Size` and `Tus-Checksum-Algorithm` (headers only). Browsers' CORS
    preflights on the tus URLs are answered here too.
    """
    return "", 204


@bp.route("/tus", methods=["POST"], endpoint="tus_create", provide_automatic_options=False)
@require("write")
@operation(
    "createResumableUpload",
    "uploads",
    {201: (None, "Created; `Location` is the upload's URL, `Upload-Offset` how much of the body was kept.")},
    (400, 401, 403, 404, 412, 413, 422, 429, 460, 507),
    query=inputs.ProjectQuery,
    request_headers=inputs.TusCreateHeaders,
    octets=OFFSET_TYPE,
    octets_required=False,
    headers={201: ("Location", *TUS_STATE), 429: ("Retry-After",), 412: ("Tus-Version",)},
)
def tus_create():
    """Start a resumable upload (tus 1.0 creation, creation-with-upload)

    tus 1.0 (core, creation, creation-with-upload, termination, expiration, checksum with sha256). Send
    `Tus-Resumable: 1.0.0`, `Upload-Length` and `Upload-Metadata` with `project_id` (or the query parameter) and
    `filename`, each value base64. An `Upload-Length` over `MAX_UPLOAD_BYTES` answers 413 before any byte. A body of
    type `application/offset+octet-stream` is the first piece. `Location` is the upload's URL; an unfinished upload
    expires `RESUMABLE_UPLOAD_SECONDS` after its last piece (`Upload-Expires`). A resumable upload counts as one
    upload for the rate limit. Session callers send `X-CSRFToken`.
    """
    workspace_param(request.args.get("workspace_id"))
    if request.headers.get("Upload-Defer-Length"):
        raise ApiProblem(400, "defer_length_unsupported", "Declare the size with Upload-Length.")
    length = _whole_number("Upload-Length")
    metadata = resumable.parse_metadata(request.headers.get("Upload-Metadata"))
    _version()  # after the malformed headers (400), so 412 means only "another tus version"
    check_upload_rate()  # a resumable upload counts as one upload, like POST /api/files
    project_id = metadata.get("project_id") or request.args.get("project_id")
    row = resumable.create(g.workspace_id, project_id, length, metadata, _creator())
    if request.mimetype == OFFSET_TYPE and request.content_length:
        row = resumable.append(row, 0, request.stream, resumable.Checksum(request.headers.get("Upload-Checksum")))
    location = f"{request.url_root.rstrip('/')}/api/tus/{row.id}"
    return "", 201, {**_state(row), "Location": location}


def create_through_upload_url(upload_url, secret: str) -> dict[str, str]:
    """tus creation on a one-time upload URL (`POST` with `Tus-Resumable`): no credentials, the URL's own `maxBytes`
    and name; the URL is taken now, and the upload's own URL carries the same secret. Answers the tus headers."""
    length = _whole_number("Upload-Length")
    metadata = resumable.parse_metadata(request.headers.get("Upload-Metadata"))
    _version()
    resumable.check_length(length, upload_url.max_bytes)
    upload_urls.claim_for_resumable(upload_url)
    name = (
        {"filename": upload_url.name or metadata.get("filename")} if upload_url.name or "filename" in metadata else {}
    )
    row = resumable.create(
        upload_url.workspace_id,
        upload_url.project_id,
        length,
        name,
        resumable.UPLOAD_URL_CREATOR + upload_url.id,
        limit=upload_url.max_bytes,
    )
    if request.mimetype == OFFSET_TYPE and request.content_length:
        row = resumable.append(row, 0, request.stream, resumable.Checksum(request.headers.get("Upload-Checksum")))
    location = url_for(
        "api.tus_upload_url_append", upload_id=upload_url.id, secret=secret, tus_id=row.id, _external=True
    )
    return {**_state(row), "Location": location}


TUS_PATH = "/tus/<upload_id>"
URL_TUS_PATH = "/uploads/<upload_id>/<secret>/tus/<tus_id>"
_URL_PARAMS = {
    "upload_id": "The one-time upload URL's id.",
    "secret": "The one-time upload URL's secret.",
    "tus_id": "The resumable upload's id, from the `Location` the creation answered.",
}
_UPLOAD_PARAM = {"upload_id": "The resumable upload's id, from the `Location` its creation answered."}


@bp.route(TUS_PATH, methods=["HEAD"], endpoint="tus_offset")
@require("write")
@operation(
    "getResumableUploadOffset",
    "uploads",
    {200: (None, "The upload's state (headers only).")},
    (400, 401, 403, 404, 410, 412),
    query=inputs.WorkspaceQuery,
    request_headers=inputs.TusHeaders,
    headers={200: TUS_STATE, 412: ("Tus-Version",)},
    path=_UPLOAD_PARAM,
    method="HEAD",
)
def tus_offset(upload_id):
    """How far a resumable upload got

    `Upload-Offset` is where the next piece starts; once finished, `Content-Location` names the file it became.
    Another workspace's upload answers 404, an expired one 410.
    """
    return _serve(_upload(upload_id))


@bp.route(TUS_PATH, methods=["PATCH"], endpoint="tus_append")
@require("write")
@operation(
    "appendResumableUpload",
    "uploads",
    {204: (None, "Kept; `Upload-Offset` is the new offset (equal to `Upload-Length`: the file is made).")},
    (400, 401, 403, 404, 409, 410, 412, 413, 415, 422, 423, 460, 507),
    query=inputs.WorkspaceQuery,
    request_headers=inputs.TusAppendHeaders,
    octets=OFFSET_TYPE,
    headers={204: TUS_STATE, 412: ("Tus-Version",)},
    path=_UPLOAD_PARAM,
)
def tus_append(upload_id):
    """Send the next piece of a resumable upload

    `Upload-Offset` must equal the upload's offset (else 409). Bytes received before a dropped connection are kept,
    so the client resends only what is missing (`HEAD` first). With `Upload-Checksum: sha256 <base64>` a piece that
    does not match answers 460 and is dropped. The piece that holds the first 64 KB may answer 422 (too many pixels);
    the last byte makes the file (`file.ready`), like `POST /api/files`. One request at a time per upload (423).
    """
    return _serve(_upload(upload_id))


@bp.route(TUS_PATH, methods=["DELETE"], endpoint="tus_terminate")
@require("write")
@operation(
    "terminateResumableUpload",
    "uploads",
    {204: (None, "Removed.")},
    (400, 401, 403, 404, 410, 412),
    query=inputs.WorkspaceQuery,
    request_headers=inputs.TusHeaders,
    headers={204: ("Tus-Resumable",), 412: ("Tus-Version",)},
    path=_UPLOAD_PARAM,
)
def tus_terminate(upload_id):
    """Give up a resumable upload (termination)

    Its bytes and state are removed; a finished upload's file stays.
    """
    return _serve(_upload(upload_id))


def _upload(upload_id: str) -> resumable.ResumableUpload:
    workspace_param(request.args.get("workspace_id"))
    return resumable.get(g.workspace_id, upload_id)


def _url_upload(upload_id: str, secret: str, tus_id: str) -> resumable.ResumableUpload:
    """The resumable upload a one-time upload URL started: its secret is the permission, as for the URL itself."""
    return resumable.get_for_upload_url(upload_urls.find(upload_id, secret), tus_id)


@bp.route(URL_TUS_PATH, methods=["HEAD"], endpoint="tus_upload_url_offset")
@operation(
    "getUploadUrlResumableOffset",
    "uploads",
    {200: (None, "The upload's state (headers only).")},
    (400, 404, 410, 412),
    request_headers=inputs.TusHeaders,
    headers={200: TUS_STATE, 412: ("Tus-Version",)},
    path=_URL_PARAMS,
    public=True,
    method="HEAD",
)
def tus_upload_url_offset(upload_id, secret, tus_id):
    """How far a resumable upload through a one-time URL got (no credentials)

    The `Location` a tus creation on a one-time upload URL answered (`POST` on the URL with `Tus-Resumable` and an
    `Upload-Length` within the URL's `maxBytes`): the URL's secret is the permission.
    """
    return _serve(_url_upload(upload_id, secret, tus_id))


@bp.route(URL_TUS_PATH, methods=["PATCH"], endpoint="tus_upload_url_append")
@operation(
    "appendUploadUrlResumable",
    "uploads",
    {204: (None, "Kept; `Upload-Offset` is the new offset.")},
    (400, 404, 409, 410, 412, 413, 415, 422, 423, 460, 507),
    request_headers=inputs.TusAppendHeaders,
    octets=OFFSET_TYPE,
    headers={204: TUS_STATE, 412: ("Tus-Version",)},
    path=_URL_PARAMS,
    public=True,
)
def tus_upload_url_append(upload_id, secret, tus_id):
    """Send the next piece of a resumable upload through a one-time URL (no credentials)

    As `PATCH /api/tus/{upload_id}`; the last byte makes the URL's file (`GET` on the URL then names it).
    """
    return _serve(_url_upload(upload_id, secret, tus_id))


@bp.route(URL_TUS_PATH, methods=["DELETE"], endpoint="tus_upload_url_terminate")
@operation(
    "terminateUploadUrlResumable",
    "uploads",
    {204: (None, "Removed.")},
    (400, 404, 410, 412),
    request_headers=inputs.TusHeaders,
    headers={204: ("Tus-Resumable",), 412: ("Tus-Version",)},
    path=_URL_PARAMS,
    public=True,
)
def tus_upload_url_terminate(upload_id, secret, tus_id):
    """Give up a resumable upload through a one-time URL (no credentials)"""
    return _serve(_url_upload(upload_id, secret, tus_id))


def _serve(row: resumable.ResumableUpload):
    offset = _whole_number("Upload-Offset") if request.method == "PATCH" else None
    checksum = resumable.Checksum(request.headers.get("Upload-Checksum"))
    _version()
    if request.method == "HEAD":
        return "", 200, _state(row)
    if request.method == "DELETE":
        resumable.discard(row)
        return "", 204
    if request.mimetype != OFFSET_TYPE:
        raise ApiProblem(415, "offset_stream_required", f"Send the bytes as {OFFSET_TYPE}.")
    row = resumable.append(row, offset, request.stream, checksum)
    return "", 204, _state(row)
