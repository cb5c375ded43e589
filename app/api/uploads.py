"""One-time upload URLs: made with a write token on a server, used by a browser that holds no secret."""

from flask import current_app, g, request, url_for

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.params import form_file
from app.api.problems import ApiProblem
from app.api.spec import operation, validated
from app.api.tus import OFFSET_TYPE, create_through_upload_url
from app.domain import inputs, shapes, upload_urls
from app.domain.shapes import file_shape, image_shape, upload_url_json

# Multipart framing around the file: boundaries, part headers and a long file name.
MULTIPART_ALLOWANCE = 64 * 1024


@bp.post("/uploads")
@require("write")
@operation(
    "createUploadUrl",
    "uploads",
    {201: (shapes.UploadUrl, "The URL; its secret is shown only here.")},
    (400, 401, 403, 404, 415),
    query=inputs.WorkspaceQuery,
    body=inputs.UploadUrlRequest,
)
def create_upload_url():
    """Make a one-time upload URL

    For a server that holds a write token: the answer's `uploadUrl` accepts exactly one file, within `expiresIn`
    seconds and `maxBytes`, from a browser that holds no secret (Cloudflare Images' direct creator upload, for
    files). The file is a normal upload: it becomes a file, then an image, with `metadata.altText` as its alt text.
    Session callers name the workspace with `workspace_id` and send `X-CSRFToken`.
    """
    workspace_param(request.args.get("workspace_id"))
    body = request.get_json()
    limits = upload_urls.parse_limits(body, current_app.config["MAX_UPLOAD_BYTES"])
    row, secret = upload_urls.create_upload_url(g.workspace_id, body.get("projectId"), limits)
    return upload_url_json(row, url_for("api.use_upload_url", upload_id=row.id, secret=secret, _external=True)), 201


@bp.post("/uploads/<upload_id>/<secret>")
@operation(
    "useUploadUrl",
    "uploads",
    {
        201: (shapes.UploadUrlStatus, "The stored file (its image comes later); for a tus creation, the URL taken."),
        200: (shapes.UploadUrlStatus, "The bytes were already in the workspace: that file, with `duplicateOf`."),
    },
    (400, 404, 409, 410, 412, 413, 415, 422, 460, 507),
    query=inputs.UploadUrlUseQuery,
    form=inputs.UploadUrlForm,
    octets=OFFSET_TYPE,
    octets_required=False,
    request_headers=inputs.UploadUrlTusHeaders,
    public=True,
)
def use_upload_url(upload_id, secret):
    """Upload the one file (no credentials)

    Send no `Authorization` header: the URL is the permission. With `Tus-Resumable: 1.0.0` and `Upload-Length` this
    is a tus creation instead (a resumable upload of the one file): the URL is taken at once, and `Location` is the
    upload's own URL under this one, for `HEAD`, `PATCH` and `DELETE` without credentials; a body of type
    `application/offset+octet-stream` is its first piece. Any origin may post here (CORS `*`, never with
    credentials). Exactly one request succeeds, even when several arrive at once; later ones answer 409
    `upload_url_used`, an expired URL 410 `upload_url_expired`, a file over `maxBytes` 413 `file_too_large` (with
    `limit`; the URL stays usable), a wrong id or secret 404. Bytes the workspace already has are not stored
    again: the answer is 200 with that file (`file.duplicateOf`), and the URL is used; `duplicates=allow` stores
    them as a new file all the same.
    """
    row = upload_urls.find(upload_id, secret)
    upload_urls.check_usable(row)
    if "Tus-Resumable" in request.headers:  # a resumable upload (tus creation) of the one file
        headers = create_through_upload_url(row, secret)
        row = upload_urls.find(upload_id, secret)
        file, _ = upload_urls.uploaded(row)  # made already when the creation carried the whole file
        return upload_url_json(row, file=file_shape(file) if file else None, image=None), 201, headers
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
    upload = form_file()
    spool = request.spools[-1] if request.spools else None
    if upload is None or spool is None:
        raise ApiProblem(400, "file_missing", "The multipart field 'file' is missing.", parameter="file")
    reuse = validated("query").duplicates == "reuse"
    file, duplicate = upload_urls.use(row, spool, upload.filename, reuse)
    if duplicate:
        return upload_url_json(row, file=file_shape(file).model_copy(update={"duplicate_of": file.id}), image=None), 200
    return upload_url_json(row, file=file_shape(file), image=None), 201


@bp.get("/uploads/<upload_id>/<secret>")
@operation(
    "getUploadUrl",
    "uploads",
    {200: (shapes.UploadUrlStatus, "The URL's state, file and image.")},
    (404, 410),
    public=True,
)
def get_upload_url(upload_id, secret):
    """What the upload became (no credentials)

    The file, and its image once processed, for the browser that uploaded it; readable until an hour after the URL
    expires (then 410).
    """
    row = upload_urls.find(upload_id, secret)
    upload_urls.readable(row)
    file, image = upload_urls.uploaded(row)
    return upload_url_json(
        row,
        file=file_shape(file) if file else None,
        image=image_shape(image, file) if image is not None else None,
    )
