"""The OpenAPI 3.1 document of /api and the docs page that renders it; tests hold it to the routes and responses."""

from __future__ import annotations

import copy

from flask import current_app, render_template

from app.api import bp
from app.domain.images import NAMED_VARIANTS

REDOC_VERSION = "2.5.4"
PROBLEM = "application/problem+json"
SECURED = [{"bearerAuth": []}, {"cookieAuth": []}]

_ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 32, "pattern": "^[A-Za-z0-9_-]+$"}
_TIMESTAMP = {"type": "string", "format": "date-time"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _problems(*statuses: int) -> dict:
    return {str(status): {"$ref": f"#/components/responses/Problem{status}"} for status in statuses}


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


_PROBLEM_DESCRIPTIONS = {
    400: "The request is malformed; `parameter` names the query or form field at fault.",
    401: "No credentials, or an unknown or revoked token.",
    403: "The token's scope or the user's role does not allow this.",
    404: "No such object in the caller's workspace (another workspace's objects answer exactly the same).",
    405: "The method is not allowed on this path.",
    409: "The object is not in a state that allows this yet (or, for an upload URL, it was already used).",
    410: "The one-time upload URL has expired.",
    413: "The upload is larger than the limit.",
    415: "The request body has the wrong media type.",
    503: "A backing service is unavailable; try again.",
    507: "Storage is full.",
}

_FILE_ID_PARAM = {"name": "file_id", "in": "path", "required": True, "description": "The file's id.",
                  "schema": {"type": "string"}}
_WORKSPACE_PARAM = _query("workspace_id", "The workspace to act in. Defaults to the token's workspace; "
                          "browser-session callers must send it. Another workspace's id answers 404.")
_PAGE_PARAMS = [
    _query("limit", "Page size, 1 to 100.", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}),
    _query("cursor", "The `next_cursor` of the previous page (opaque).",
           {"type": "string", "maxLength": 200, "pattern": "^[A-Za-z0-9_-]*$"}),
]

_RESTORABLE_UNTIL = {"oneOf": [{"type": "null"}, _TIMESTAMP],
                     "description": "Until when `POST /api/files/{file_id}/restore` brings it back (the workspace's "
                                    "`trash_days`, 30 by default); null when it was removed for good at once "
                                    "(`permanent=true`, or the workspace's trash is off)."}
_PERMANENT_PARAM = _query("permanent", "true removes it for good at once (bytes included), also when it is already "
                          "in the trash; false (the default) puts it in the workspace's trash.",
                          {"type": "boolean", "default": False})

_SCHEMAS = {
    "Problem": {
        "type": "object",
        "description": "An error, as RFC 9457 problem details.",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "code": {"type": "string", "description": "Stable, machine-readable error code."},
            "parameter": {"type": "string", "description": "The request parameter at fault, for validation errors."},
        },
        "additionalProperties": True,
    },
    "File": {
        "type": "object",
        "required": ["object", "id", "workspaceId", "projectId", "name", "mimeType", "size", "sha256", "status",
                     "error", "isImage", "image", "createdAt", "updatedAt", "contentUrl"],
        "properties": {
            "object": {"const": "file"},
            "id": _ID_SCHEMA,
            "workspaceId": {"type": "string"},
            "projectId": {"type": "string"},
            "name": {"type": "string", "maxLength": 255},
            "mimeType": {"type": "string", "description": "Sniffed from the bytes, never taken from the client."},
            "size": {"type": "integer", "minimum": 0},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "status": {"enum": ["pending", "ready", "error"]},
            "error": {"oneOf": [
                {"type": "null"},
                {"type": "object", "required": ["code", "message", "retryable"],
                 "properties": {"code": {"type": ["string", "null"]}, "message": {"type": ["string", "null"]},
                                "retryable": {"type": "boolean", "description":
                                              "True when the failure may pass (the images service unreachable or "
                                              "busy) and a retry can help; false for a damaged file, something "
                                              "that is not an image, a pixel bomb or one that cannot be made to fit."}}},
            ]},
            "isImage": {"type": "boolean"},
            "image": {"oneOf": [{"type": "null"}, _ref("FileImageState")],
                      "description": "Null when the file is not an image; else where it is on its way to one."},
            "createdAt": _TIMESTAMP,
            "updatedAt": _TIMESTAMP,
            "contentUrl": {"type": "string", "format": "uri"},
        },
        "additionalProperties": False,
    },
    "Image": {
        "type": "object",
        "description": "A file whose bytes are an image, with its copy in the images service.",
        "required": ["object", "fileId", "cfImageId", "workspaceId", "projectId", "name", "mimeType", "width",
                     "height", "size", "format", "exif", "url", "variants", "requireSignedURLs", "placeholder",
                     "altText", "decorative", "createdAt", "source", "master", "original"],
        "properties": {
            "object": {"const": "image"},
            "fileId": _ID_SCHEMA,
            "cfImageId": {"type": "string"},
            "workspaceId": {"type": "string"},
            "projectId": {"type": "string"},
            "name": {"type": "string", "maxLength": 255},
            "mimeType": {"type": "string", "pattern": "^image/"},
            "width": {"type": "integer", "minimum": 0, "description": "As the images service has it (the master's "
                      "when a master was sent), EXIF orientation applied."},
            "height": {"type": "integer", "minimum": 0},
            "size": {"type": "integer", "minimum": 0, "description": "Bytes of the original."},
            "format": {"type": "string"},
            "exif": {"type": "object", "description": "EXIF tags by name; GPS only when the workspace keeps it."},
            "url": {"type": "string", "format": "uri",
                    "description": "The `public` delivery URL; signed and expiring when the image is private."},
            "variants": {
                "type": "object",
                "required": list(NAMED_VARIANTS),
                "properties": {name: {"type": "string", "format": "uri"} for name in NAMED_VARIANTS},
                "additionalProperties": {"type": "string", "format": "uri"},
            },
            "requireSignedURLs": {"type": "boolean"},
            "placeholder": {
                "type": "object",
                "required": ["blurhash", "dominantColor"],
                "properties": {
                    "blurhash": {"type": ["string", "null"]},
                    "dominantColor": {"oneOf": [{"type": "null"}, {"type": "string", "pattern": "^#[0-9a-f]{6}$"}]},
                },
                "additionalProperties": False,
            },
            "altText": {"type": ["string", "null"]},
            "decorative": {"type": "boolean"},
            "createdAt": _TIMESTAMP,
            "source": {"enum": ["original", "master"], "description":
                       "What the images service was sent: the original as uploaded, or a master derived from it "
                       "because the original breaks its input limits (10 MB, 12,000 px on the longest side, 100 "
                       "megapixels) or is a format it refuses (TIFF, BMP, JPEG XL)."},
            "master": {"oneOf": [{"type": "null"}, _ref("PictureFacts")]},
            "original": _ref("PictureFacts"),
        },
        "additionalProperties": False,
    },
    "PictureFacts": {
        "type": "object",
        "description": "Bytes, dimensions as displayed and format of an original or of its master.",
        "required": ["size", "width", "height", "format"],
        "properties": {
            "size": {"type": "integer", "minimum": 0},
            "width": {"type": "integer", "minimum": 0},
            "height": {"type": "integer", "minimum": 0},
            "format": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "FileList": {
        "type": "object",
        "required": ["object", "data", "has_more", "next_cursor"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": _ref("File")},
            "has_more": {"type": "boolean"},
            "next_cursor": {"type": ["string", "null"]},
        },
        "additionalProperties": False,
    },
    "ImageList": {
        "type": "object",
        "required": ["object", "data", "has_more", "next_cursor"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": _ref("Image"), "maxItems": 100},
            "has_more": {"type": "boolean"},
            "next_cursor": {"type": ["string", "null"],
                            "description": "Pass as `cursor` for the next page; null on the last page."},
        },
        "additionalProperties": False,
    },
    "UploadUrlMetadata": {
        "type": "object",
        "properties": {
            "altText": {"type": ["string", "null"], "maxLength": 1000,
                        "description": "Set as the image's alt text once the file is an image."},
            "name": {"type": ["string", "null"], "maxLength": 255,
                     "description": "The file's name, instead of the one the browser sends."},
        },
        "additionalProperties": False,
    },
    "UploadUrlRequest": {
        "type": "object",
        "required": ["projectId"],
        "properties": {
            "projectId": {"type": "string", "minLength": 1},
            "maxBytes": {"type": "integer", "minimum": 1,
                         "description": "The largest file the URL accepts; at most the server's upload limit "
                                        "(the default)."},
            "expiresIn": {"type": "integer", "minimum": 30, "maximum": 3600, "default": 300,
                          "description": "Seconds until the URL stops accepting a file."},
            "metadata": _ref("UploadUrlMetadata"),
        },
        "additionalProperties": True,
    },
    "UploadUrl": {
        "type": "object",
        "description": "A one-time upload URL. `uploadUrl` (with its secret) is in the answer that made it only.",
        "required": ["object", "id", "projectId", "workspaceId", "maxBytes", "expiresAt", "state", "metadata"],
        "properties": {
            "object": {"const": "upload_url"},
            "id": _ID_SCHEMA,
            "uploadUrl": {"type": "string", "format": "uri",
                          "description": "POST the file here (multipart field `file`) with no credentials."},
            "projectId": {"type": "string"},
            "workspaceId": {"type": "string"},
            "maxBytes": {"type": "integer", "minimum": 1},
            "expiresAt": _TIMESTAMP,
            "state": {"enum": ["open", "used"]},
            "metadata": _ref("UploadUrlMetadata"),
        },
        "additionalProperties": False,
    },
    "UploadUrlStatus": {
        "type": "object",
        "description": "The URL with what it made: the file, then (once processed) its image.",
        "required": ["object", "id", "projectId", "workspaceId", "maxBytes", "expiresAt", "state", "metadata",
                     "file", "image"],
        "properties": {
            "object": {"const": "upload_url"},
            "id": _ID_SCHEMA,
            "projectId": {"type": "string"},
            "workspaceId": {"type": "string"},
            "maxBytes": {"type": "integer", "minimum": 1},
            "expiresAt": _TIMESTAMP,
            "state": {"enum": ["open", "used"]},
            "metadata": _ref("UploadUrlMetadata"),
            "file": {"oneOf": [{"type": "null"}, _ref("File")]},
            "image": {"oneOf": [{"type": "null"}, _ref("Image")]},
        },
        "additionalProperties": False,
    },
    "FileImageState": {
        "type": "object",
        "description": "`waiting`: the images service is unreachable or busy (timeouts, 5xx, 429); the image is "
                       "retried automatically with backoff until it succeeds or PROVISION_DEADLINE_SECONDS pass. "
                       "`failed`: given up (a permanent refusal, or the deadline); `POST .../retry` tries again.",
        "required": ["status", "error", "nextAttemptAt", "attempts"],
        "properties": {
            "status": {"enum": ["processing", "waiting", "ready", "failed"]},
            "error": {"oneOf": [
                {"type": "null"},
                {"type": "object", "required": ["code", "detail"],
                 "properties": {"code": {"type": "string"}, "detail": {"type": ["string", "null"]}}},
            ]},
            "nextAttemptAt": {"oneOf": [{"type": "null"}, _TIMESTAMP],
                              "description": "When a waiting image is tried next."},
            "attempts": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": True,
    },
    "FileDeleted": {
        "type": "object",
        "required": ["object", "id", "deleted", "restorableUntil"],
        "properties": {"object": {"const": "file"}, "id": {"type": "string"}, "deleted": {"const": True},
                       "restorableUntil": _RESTORABLE_UNTIL},
        "additionalProperties": False,
    },
    "ImageDeleted": {
        "type": "object",
        "required": ["object", "fileId", "deleted", "restorableUntil"],
        "properties": {"object": {"const": "image"}, "fileId": {"type": "string"}, "deleted": {"const": True},
                       "restorableUntil": _RESTORABLE_UNTIL},
        "additionalProperties": False,
    },
    "TrashList": {
        "type": "object",
        "required": ["object", "data", "has_more", "next_cursor"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": _ref("TrashedFile"), "maxItems": 100},
            "has_more": {"type": "boolean"},
            "next_cursor": {"type": ["string", "null"]},
        },
        "additionalProperties": False,
    },
    "TrashEmptied": {
        "type": "object",
        "required": ["object", "purged"],
        "properties": {"object": {"const": "trash"}, "purged": {"type": "integer", "minimum": 0}},
        "additionalProperties": False,
    },
}

_SCHEMAS["TrashedFile"] = {
    **copy.deepcopy(_SCHEMAS["File"]),
    "description": "A file in the trash: the file as it was, with when it was deleted and when it is purged. `image` "
                   "is null: nothing is delivered while it is in the trash.",
}
_SCHEMAS["TrashedFile"]["required"] += ["deletedAt", "purgeAfter"]
_SCHEMAS["TrashedFile"]["properties"].update(deletedAt=_TIMESTAMP, purgeAfter=_TIMESTAMP)

_RESPONSES = {
    f"Problem{status}": {
        "description": description,
        "content": {PROBLEM: {"schema": _ref("Problem")}},
    }
    for status, description in _PROBLEM_DESCRIPTIONS.items()
}

_PATHS = {
    "/api/files": {
        "get": {
            "operationId": "listFiles", "tags": ["files"], "summary": "List files, newest first",
            "parameters": [_WORKSPACE_PARAM, _query("project_id", "Only files of this project."), *_PAGE_PARAMS],
            "responses": {"200": _json(_ref("FileList"), "A page of files."), **_problems(400, 401, 404)},
        },
        "post": {
            "operationId": "uploadFile", "tags": ["files"], "summary": "Upload a file",
            "description": "A file whose sniffed type is `image/*` becomes an image once processed: this is "
                           "the only way to make an image. A file can be as large as the upload limit (100 MB by "
                           "default, `MAX_UPLOAD_BYTES`); an image over the images service's limits (10 MB, 12,000 "
                           "px on the longest side, 100 megapixels) or in a format it refuses (TIFF, BMP, JPEG XL) "
                           "is sent as a master scaled and re-encoded to fit, and the original is kept unchanged. "
                           "Session callers must send the `X-CSRFToken` header.",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file", "project_id"],
                "properties": {"file": {"type": "string", "format": "binary"},
                               "project_id": {"type": "string", "minLength": 1}},
            }}}},
            "responses": {
                "201": _json(_ref("File"), "The stored file.",
                             headers={"Location": {"schema": {"type": "string"}, "description": "The file's URL."}}),
                **_problems(400, 401, 403, 404, 413, 415, 503, 507),
            },
        },
    },
    "/api/files/{file_id}": {
        "parameters": [_FILE_ID_PARAM],
        "get": {
            "operationId": "getFile", "tags": ["files"], "summary": "Get one file",
            "responses": {"200": _json(_ref("File"), "The file."), **_problems(400, 401, 404)},
        },
        "delete": {
            "operationId": "deleteFile", "tags": ["files"], "summary": "Delete a file (and its image)",
            "description": "The file and its image are gone from every list and read at once (404) and the "
                           "images-service copy is removed, so nothing is delivered; the bytes and rows stay in the "
                           "workspace's trash until `restorableUntil` (`POST /api/files/{file_id}/restore` brings "
                           "them back). `permanent=true`, or a workspace whose `trash_days` is 0, removes it for good.",
            "parameters": [_PERMANENT_PARAM],
            "responses": {"200": _json(_ref("FileDeleted"), "The file is gone."), **_problems(400, 401, 403, 404)},
        },
    },
    "/api/files/{file_id}/restore": {
        "parameters": [_FILE_ID_PARAM],
        "post": {
            "operationId": "restoreFile", "tags": ["trash"], "summary": "Restore a file from the trash",
            "description": "The file comes back under the same id; an image is provisioned again under the same "
                           "Images id, so a public image answers at the same delivery URL once it is ready again "
                           "(`image.status` is `processing` until then). A private image may get a new Images id; "
                           "its URLs are signed and short-lived anyway. 404 when the file is not in the trash. "
                           "Session callers must send the `X-CSRFToken` header.",
            "responses": {"200": _json(_ref("File"), "The file, back."), **_problems(400, 401, 403, 404)},
        },
    },
    "/api/files/{file_id}/retry": {
        "parameters": [_FILE_ID_PARAM],
        "post": {
            "operationId": "retryFile", "tags": ["files"], "summary": "Retry making the file's image",
            "description": "A failed image starts afresh (with a new deadline); one waiting for the images service "
                           "is tried now instead of after its backoff. 409 when the file is neither failed nor "
                           "waiting. Session callers must send the `X-CSRFToken` header.",
            "responses": {"202": _json(_ref("File"), "The file, queued again."), **_problems(400, 401, 403, 404, 409)},
        },
    },
    "/api/files/{file_id}/content": {
        "parameters": [_FILE_ID_PARAM],
        "get": {
            "operationId": "getFileContent", "tags": ["files"], "summary": "Redirect to the file's bytes",
            "responses": {
                "302": {"description": "A short-lived signed URL of the bytes.",
                        "headers": {"Location": {"required": True, "schema": {"type": "string"}}}},
                **_problems(400, 401, 404, 409),
            },
        },
    },
    "/api/images": {
        "get": {
            "operationId": "listImages", "tags": ["images"], "summary": "List images, newest first",
            "parameters": [
                _WORKSPACE_PARAM,
                _query("project_id", "Only images of this project."),
                _query("q", "Only images whose file name contains this text (case-insensitive).",
                       {"type": "string", "maxLength": 255}),
                *_PAGE_PARAMS,
            ],
            "responses": {"200": _json(_ref("ImageList"), "A page of images."), **_problems(400, 401, 404)},
        },
        "post": {
            "operationId": "createImage", "tags": ["images"], "summary": "Not supported: upload a file instead",
            "description": "There is no create call for images; upload with `POST /api/files`.",
            "security": [],
            "responses": {"405": {"description": "Always: images come from uploaded files.",
                                  "headers": {"Allow": {"required": True, "schema": {"type": "string"}}},
                                  "content": {PROBLEM: {"schema": _ref("Problem")}}}},
        },
    },
    "/api/images/{file_id}": {
        "parameters": [_FILE_ID_PARAM],
        "get": {
            "operationId": "getImage", "tags": ["images"], "summary": "Get one image",
            "responses": {"200": _json(_ref("Image"), "The image."), **_problems(400, 401, 404)},
        },
        "delete": {
            "operationId": "deleteImage", "tags": ["images"], "summary": "Delete an image and its file",
            "description": "The image and its file are gone from every list and read at once and the "
                           "images-service copy is removed (nothing is delivered); the file's bytes and row stay in "
                           "the workspace's trash until `restorableUntil`. `permanent=true` (or `trash_days` 0) "
                           "removes the bytes too, by background jobs shortly after. A second delete answers 404.",
            "parameters": [_PERMANENT_PARAM],
            "responses": {"200": _json(_ref("ImageDeleted"), "The image is gone."), **_problems(400, 401, 403, 404)},
        },
    },
    "/api/trash": {
        "get": {
            "operationId": "listTrash", "tags": ["trash"], "summary": "List the files in the trash",
            "parameters": [_WORKSPACE_PARAM, _query("project_id", "Only this project's trash."), *_PAGE_PARAMS],
            "responses": {"200": _json(_ref("TrashList"), "A page of trashed files, newest upload first."),
                          **_problems(400, 401, 404)},
        },
        "delete": {
            "operationId": "emptyTrash", "tags": ["trash"], "summary": "Empty the trash",
            "description": "Every file in the workspace's (or the project's) trash is removed for good now: rows at "
                           "once, bytes by background jobs that retry until done.",
            "parameters": [_WORKSPACE_PARAM, _query("project_id", "Only this project's trash.")],
            "responses": {"200": _json(_ref("TrashEmptied"), "How many files were purged."),
                          **_problems(400, 401, 403, 404)},
        },
    },
    "/api/uploads": {
        "post": {
            "operationId": "createUploadUrl", "tags": ["uploads"], "summary": "Make a one-time upload URL",
            "description": "For a server that holds a write token: the answer's `uploadUrl` accepts exactly one "
                           "file, within `expiresIn` seconds and `maxBytes`, from a browser that holds no secret "
                           "(Cloudflare Images' direct creator upload, for files). The file is a normal upload: it "
                           "becomes a file, then an image, with `metadata.altText` as its alt text. Session callers "
                           "name the workspace with `workspace_id` and send `X-CSRFToken`.",
            "parameters": [_WORKSPACE_PARAM],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("UploadUrlRequest")}}},
            "responses": {"201": _json(_ref("UploadUrl"), "The URL; its secret is shown only here."),
                          **_problems(400, 401, 403, 404, 415)},
        },
    },
    "/api/uploads/{upload_id}/{secret}": {
        "parameters": [
            {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "secret", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "The URL's secret: whoever has the URL may use it, once."},
        ],
        "post": {
            "operationId": "useUploadUrl", "tags": ["uploads"], "summary": "Upload the one file (no credentials)",
            "description": "Send no `Authorization` header: the URL is the permission. Any origin may post here "
                           "(CORS `*`, never with credentials). Exactly one request succeeds, even when several "
                           "arrive at once; later ones answer 409 `upload_url_used`, an expired URL 410 "
                           "`upload_url_expired`, a file over `maxBytes` 413 `file_too_large` (with `limit`; the "
                           "URL stays usable), a wrong id or secret 404.",
            "security": [],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}},
            }}}},
            "responses": {"201": _json(_ref("UploadUrlStatus"), "The stored file (its image comes later)."),
                          **_problems(400, 404, 409, 410, 413, 415, 503, 507)},
        },
        "get": {
            "operationId": "getUploadUrl", "tags": ["uploads"], "summary": "What the upload became (no credentials)",
            "description": "The file, and its image once processed, for the browser that uploaded it; readable "
                           "until an hour after the URL expires (then 410).",
            "security": [],
            "responses": {"200": _json(_ref("UploadUrlStatus"), "The URL's state, file and image."),
                          **_problems(404, 410)},
        },
    },
    "/api/openapi.json": {
        "get": {
            "operationId": "getOpenApi", "tags": ["meta"], "summary": "This document", "security": [],
            "responses": {"200": _json({"type": "object", "required": ["openapi", "paths"]}, "OpenAPI 3.1.")},
        },
    },
    "/api/docs": {
        "get": {
            "operationId": "getDocs", "tags": ["meta"], "summary": "This document, rendered for people",
            "security": [],
            "responses": {"200": {"description": "An HTML page.", "content": {"text/html": {"schema": {"type": "string"}}}}},
        },
    },
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "aeontel Images API",
        "version": "1",
        "description": "Files and images of a workspace. Programs authenticate with `Authorization: Bearer <token>`; "
                       "the gallery uses its session cookie plus an `X-CSRFToken` header on writes. Errors are "
                       "`application/problem+json`. Lists are newest first and cursor-paginated.\n\n"
                       "**CORS.** Origins listed in the `CORS_ORIGINS` setting may call every `/api` path from a "
                       "browser with a bearer token: preflights are answered (methods GET, POST, PATCH, DELETE; "
                       "headers Authorization, Content-Type), credentials are never allowed (no "
                       "`Access-Control-Allow-Credentials`), and a request whose `Origin` is not this server's is "
                       "never authenticated by the session cookie. One-time upload URLs "
                       "(`/api/uploads/{upload_id}/{secret}`) answer any origin.",
    },
    "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
    "tags": [{"name": "images"}, {"name": "files"}, {"name": "trash"}, {"name": "uploads"}, {"name": "meta"}],
    "security": SECURED,
    "paths": _PATHS,
    "components": {
        "schemas": _SCHEMAS,
        "responses": _RESPONSES,
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "An API token (`aet_…`) with scope `read` or `write`."},
            "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session",
                           "description": "The gallery's session; writes also need the `X-CSRFToken` header."},
        },
    },
}


def document() -> dict:
    doc = copy.deepcopy(DOCUMENT)
    doc["components"]["securitySchemes"]["cookieAuth"]["name"] = current_app.config.get("SESSION_COOKIE_NAME", "session")
    return doc


@bp.get("/openapi.json")
def openapi_document():
    return document()


# Everything the docs page loads comes from this server (Redoc's attribution logo on its CDN is blocked);
# Redoc needs inline styles and a blob: worker.
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'")


@bp.get("/docs")
def docs():
    return render_template("api/docs.html", redoc_version=REDOC_VERSION), {"Content-Security-Policy": DOCS_CSP}
