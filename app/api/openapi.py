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
    """Every route reads the database, so every route may answer 503 (busy or unreachable, with Retry-After)."""
    return {str(status): {"$ref": f"#/components/responses/Problem{status}"} for status in sorted({*statuses, 503})}


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


_PROBLEM_DESCRIPTIONS = {
    400: "The request is malformed; `parameter` names the query or form field at fault.",
    401: "No credentials, or an unknown or revoked token.",
    403: "The token's scope or the user's role does not allow this.",
    404: "No such object in the caller's workspace (another workspace's objects answer exactly the same).",
    405: "The method is not allowed on this path.",
    408: "The request body did not arrive in time (BODY_READ_TIMEOUT); the connection is closed.",
    409: "The object is not in a state that allows this yet (`image_not_ready`: the image is still processing, "
    "waiting for the images service, or failed; `imageStatus` says which), or an upload URL was already used, "
    "or a webhook endpoint is disabled or the workspace has 20.",
    410: "The one-time upload URL has expired.",
    413: "A limit was hit: `limit` names it (`file_size`, `request_size`, `form_parts`, `form_field_size`) and "
    "`value` is its setting.",
    415: "The request body has the wrong media type.",
    503: "A backing service (database or storage) is busy or unavailable; try again after `Retry-After` seconds.",
    507: "Storage is full.",
}

_FILE_ID_PARAM = {
    "name": "file_id",
    "in": "path",
    "required": True,
    "description": "The file's id.",
    "schema": {"type": "string"},
}
_WORKSPACE_PARAM = _query(
    "workspace_id",
    "The workspace to act in. Defaults to the token's workspace; "
    "browser-session callers must send it. Another workspace's id answers 404.",
)
_PAGE_PARAMS = [
    _query("limit", "Page size, 1 to 100.", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}),
    _query(
        "cursor",
        "The `next_cursor` of the previous page: opaque, signed, and only valid with the same "
        "filters and sort it came from (anything else answers 400 `invalid_cursor`).",
        {"type": "string", "maxLength": 2000, "pattern": "^[A-Za-z0-9_.-]*$"},
    ),
    _query(
        "count",
        "`true` adds `total`: how many items match the filters on all pages together.",
        {"type": "boolean", "default": False},
    ),
]
_SORT_PARAM = _query(
    "sort",
    "Order: `created` (upload time), `name` or `size`; a leading `-` is descending.",
    {"enum": ["-created", "created", "-name", "name", "-size", "size"], "default": "-created"},
)
_CREATED_PARAMS = [
    _query(
        "created_after",
        "Only items uploaded after this ISO 8601 date or time (UTC unless it says otherwise).",
        {"type": "string", "minLength": 10, "maxLength": 40},
    ),
    _query(
        "created_before",
        "Only items uploaded before this ISO 8601 date or time.",
        {"type": "string", "minLength": 10, "maxLength": 40},
    ),
]
_ETAG = {"ETag": {"schema": {"type": "string"}, "description": "Send as `If-None-Match` to get 304 when unchanged."}}
_NOT_MODIFIED = {"description": "Unchanged since the `ETag` sent in `If-None-Match`.", "headers": _ETAG}
_RETRY_AFTER = {
    "Retry-After": {
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
        "description": "Seconds to wait before trying again.",
    }
}

_RESTORABLE_UNTIL = {
    "oneOf": [{"type": "null"}, _TIMESTAMP],
    "description": "Until when `POST /api/files/{file_id}/restore` brings it back (the workspace's "
    "`trash_days`, 30 by default); null when it was removed for good at once "
    "(`permanent=true`, or the workspace's trash is off).",
}
_PERMANENT_PARAM = _query(
    "permanent",
    "true removes it for good at once (bytes included), also when it is already "
    "in the trash; false (the default) puts it in the workspace's trash.",
    {"type": "boolean", "default": False},
)

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
            "limit": {"type": "string", "description": "For 413: which limit was hit."},
            "value": {"type": ["integer", "null"], "description": "For 413: the limit's setting."},
            "imageStatus": {"enum": ["processing", "waiting", "failed"], "description": "For `image_not_ready`."},
        },
        "additionalProperties": True,
    },
    "File": {
        "type": "object",
        "required": [
            "object",
            "id",
            "workspaceId",
            "projectId",
            "name",
            "mimeType",
            "size",
            "sha256",
            "status",
            "error",
            "isImage",
            "image",
            "createdAt",
            "updatedAt",
            "contentUrl",
        ],
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
            "error": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "required": ["code", "message", "retryable"],
                        "properties": {
                            "code": {"type": ["string", "null"]},
                            "message": {"type": ["string", "null"]},
                            "retryable": {
                                "type": "boolean",
                                "description": "True when the failure may pass (the images service unreachable or "
                                "busy) and a retry can help; false for a damaged file, something "
                                "that is not an image, a pixel bomb or one that cannot be made to fit.",
                            },
                        },
                    },
                ]
            },
            "isImage": {"type": "boolean"},
            "image": {
                "oneOf": [{"type": "null"}, _ref("FileImageState")],
                "description": "Null when the file is not an image; else where it is on its way to one.",
            },
            "createdAt": _TIMESTAMP,
            "updatedAt": _TIMESTAMP,
            "contentUrl": {"type": "string", "format": "uri"},
        },
        "additionalProperties": False,
    },
    "Image": {
        "type": "object",
        "description": "A file whose bytes are an image, with its copy in the images service.",
        "required": [
            "object",
            "fileId",
            "cfImageId",
            "workspaceId",
            "projectId",
            "name",
            "mimeType",
            "width",
            "height",
            "size",
            "format",
            "exif",
            "url",
            "variants",
            "requireSignedURLs",
            "placeholder",
            "altText",
            "decorative",
            "focalPoint",
            "createdAt",
            "source",
            "master",
            "original",
        ],
        "properties": {
            "object": {"const": "image"},
            "fileId": _ID_SCHEMA,
            "cfImageId": {"type": "string"},
            "workspaceId": {"type": "string"},
            "projectId": {"type": "string"},
            "name": {"type": "string", "maxLength": 255},
            "mimeType": {"type": "string", "pattern": "^image/"},
            "width": {
                "type": "integer",
                "minimum": 0,
                "description": "As the images service has it (the master's "
                "when a master was sent), EXIF orientation applied.",
            },
            "height": {"type": "integer", "minimum": 0},
            "size": {"type": "integer", "minimum": 0, "description": "Bytes of the original."},
            "format": {"type": "string"},
            "exif": {"type": "object", "description": "EXIF tags by name; GPS only when the workspace keeps it."},
            "url": {
                "type": "string",
                "format": "uri",
                "description": "The `public` delivery URL; signed and expiring when the image is private.",
            },
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
            "focalPoint": {
                "oneOf": [{"type": "null"}, _ref("FocalPoint")],
                "description": "Where crops keep the subject; null is the centre.",
            },
            "createdAt": _TIMESTAMP,
            "source": {
                "enum": ["original", "master"],
                "description": "What the images service was sent: the original as uploaded, or a master derived from it "
                "because the original breaks its input limits (10 MB, 12,000 px on the longest side, 100 "
                "megapixels) or is a format it refuses (TIFF, BMP, JPEG XL).",
            },
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
    "FocalPoint": {
        "type": "object",
        "description": "A point of the image, 0 to 1 from the top left; crop URLs pass it as `gravity=XxY`.",
        "required": ["x", "y"],
        "properties": {
            "x": {"type": "number", "minimum": 0, "maximum": 1},
            "y": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "additionalProperties": False,
    },
    "ImageUpdate": {
        "type": "object",
        "description": "Any of these fields; others are refused (400 `unknown_field`). Describing an image "
        "(non-empty `altText`) makes it not decorative; `decorative: true` clears the alt text; "
        "both in one request answer 400 `alt_text_on_decorative`.",
        "minProperties": 1,
        "properties": {
            "altText": {
                "type": ["string", "null"],
                "maxLength": 1000,
                "description": "Whitespace is collapsed; empty or null removes it.",
            },
            "decorative": {"type": "boolean"},
            "focalPoint": {"oneOf": [{"type": "null"}, _ref("FocalPoint")]},
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "description": "The file's display name, cleaned as uploaded names are (no path or control "
                "characters).",
            },
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
            "total": {"type": "integer", "minimum": 0, "description": "Only with `count=true`."},
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
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` for the next page; null on the last page.",
            },
            "total": {"type": "integer", "minimum": 0, "description": "Only with `count=true`."},
        },
        "additionalProperties": False,
    },
    "UploadUrlMetadata": {
        "type": "object",
        "properties": {
            "altText": {
                "type": ["string", "null"],
                "maxLength": 1000,
                "description": "Set as the image's alt text once the file is an image.",
            },
            "name": {
                "type": ["string", "null"],
                "maxLength": 255,
                "description": "The file's name, instead of the one the browser sends.",
            },
        },
        "additionalProperties": False,
    },
    "UploadUrlRequest": {
        "type": "object",
        "required": ["projectId"],
        "properties": {
            "projectId": {"type": "string", "minLength": 1},
            "maxBytes": {
                "type": "integer",
                "minimum": 1,
                "description": "The largest file the URL accepts; at most the server's upload limit (the default).",
            },
            "expiresIn": {
                "type": "integer",
                "minimum": 30,
                "maximum": 3600,
                "default": 300,
                "description": "Seconds until the URL stops accepting a file.",
            },
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
            "uploadUrl": {
                "type": "string",
                "format": "uri",
                "description": "POST the file here (multipart field `file`) with no credentials.",
            },
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
        "required": [
            "object",
            "id",
            "projectId",
            "workspaceId",
            "maxBytes",
            "expiresAt",
            "state",
            "metadata",
            "file",
            "image",
        ],
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
            "error": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "required": ["code", "detail"],
                        "properties": {"code": {"type": "string"}, "detail": {"type": ["string", "null"]}},
                    },
                ]
            },
            "nextAttemptAt": {
                "oneOf": [{"type": "null"}, _TIMESTAMP],
                "description": "When a waiting image is tried next.",
            },
            "attempts": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": True,
    },
    "FileDeleted": {
        "type": "object",
        "required": ["object", "id", "deleted", "restorableUntil"],
        "properties": {
            "object": {"const": "file"},
            "id": {"type": "string"},
            "deleted": {"const": True},
            "restorableUntil": _RESTORABLE_UNTIL,
        },
        "additionalProperties": False,
    },
    "ImageDeleted": {
        "type": "object",
        "required": ["object", "fileId", "deleted", "restorableUntil"],
        "properties": {
            "object": {"const": "image"},
            "fileId": {"type": "string"},
            "deleted": {"const": True},
            "restorableUntil": _RESTORABLE_UNTIL,
        },
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
            "operationId": "listFiles",
            "tags": ["files"],
            "summary": "List files, newest first",
            "description": "Unknown parameters answer 400 `invalid_parameter` naming them.",
            "parameters": [
                _WORKSPACE_PARAM,
                _query("project_id", "Only files of this project."),
                _query(
                    "q",
                    "Only files whose name contains this text (case-insensitive).",
                    {"type": "string", "maxLength": 255},
                ),
                _query("status", "Only files in this state.", {"enum": ["pending", "ready", "error"]}),
                _SORT_PARAM,
                *_CREATED_PARAMS,
                *_PAGE_PARAMS,
            ],
            "responses": {"200": _json(_ref("FileList"), "A page of files."), **_problems(400, 401, 404)},
        },
        "post": {
            "operationId": "uploadFile",
            "tags": ["files"],
            "summary": "Upload a file",
            "description": "A file whose sniffed type is `image/*` becomes an image once processed: this is "
            "the only way to make an image. A file can be as large as the upload limit (100 MB by "
            "default, `MAX_UPLOAD_BYTES`); an image over the images service's limits (10 MB, 12,000 "
            "px on the longest side, 100 megapixels) or in a format it refuses (TIFF, BMP, JPEG XL) "
            "is sent as a master scaled and re-encoded to fit, and the original is kept unchanged. "
            "Session callers must send the `X-CSRFToken` header.",
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file", "project_id"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "project_id": {"type": "string", "minLength": 1},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": _json(
                    _ref("File"),
                    "The stored file.",
                    headers={"Location": {"schema": {"type": "string"}, "description": "The file's URL."}},
                ),
                **_problems(400, 401, 403, 404, 408, 413, 415),
                "429": {
                    "description": "Too many uploads: wait `Retry-After` seconds and send it again.",
                    "headers": _RETRY_AFTER,
                    "content": {PROBLEM: {"schema": _ref("Problem")}},
                },
                **_problems(503, 507),
            },
        },
    },
    "/api/files/{file_id}": {
        "parameters": [_FILE_ID_PARAM],
        "get": {
            "operationId": "getFile",
            "tags": ["files"],
            "summary": "Get one file",
            "responses": {
                "200": _json(_ref("File"), "The file.", headers=_ETAG),
                "304": _NOT_MODIFIED,
                **_problems(400, 401, 404),
            },
        },
        "delete": {
            "operationId": "deleteFile",
            "tags": ["files"],
            "summary": "Delete a file (and its image)",
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
            "operationId": "restoreFile",
            "tags": ["trash"],
            "summary": "Restore a file from the trash",
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
            "operationId": "retryFile",
            "tags": ["files"],
            "summary": "Retry making the file's image",
            "description": "A failed image starts afresh (with a new deadline); one waiting for the images service "
            "is tried now instead of after its backoff. 409 when the file is neither failed nor "
            "waiting. Session callers must send the `X-CSRFToken` header.",
            "responses": {"202": _json(_ref("File"), "The file, queued again."), **_problems(400, 401, 403, 404, 409)},
        },
    },
    "/api/files/{file_id}/content": {
        "parameters": [_FILE_ID_PARAM],
        "get": {
            "operationId": "getFileContent",
            "tags": ["files"],
            "summary": "Redirect to the file's bytes",
            "responses": {
                "302": {
                    "description": "A short-lived signed URL of the bytes.",
                    "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
                },
                **_problems(400, 401, 404, 409),
            },
        },
    },
    "/api/images": {
        "get": {
            "operationId": "listImages",
            "tags": ["images"],
            "summary": "List images, newest first",
            "description": "Unknown parameters answer 400 `invalid_parameter` naming them.",
            "parameters": [
                _WORKSPACE_PARAM,
                _query("project_id", "Only images of this project."),
                _query(
                    "q",
                    "Only images whose file name contains this text (case-insensitive).",
                    {"type": "string", "maxLength": 255},
                ),
                _query(
                    "format",
                    "Only images of this format (`jpeg`, `png`, `webp`, `gif`, `svg`, …).",
                    {"type": "string", "minLength": 1, "maxLength": 16, "pattern": "^[A-Za-z0-9+.-]+$"},
                ),
                _query(
                    "has_alt_text",
                    "`true`: images with alt text; `false`: images still to describe (no alt text and not decorative).",
                    {"type": "boolean"},
                ),
                _SORT_PARAM,
                *_CREATED_PARAMS,
                *_PAGE_PARAMS,
            ],
            "responses": {"200": _json(_ref("ImageList"), "A page of images."), **_problems(400, 401, 404)},
        },
        "post": {
            "operationId": "createImage",
            "tags": ["images"],
            "summary": "Not supported: upload a file instead",
            "description": "There is no create call for images; upload with `POST /api/files`.",
            "security": [],
            "responses": {
                "405": {
                    "description": "Always: images come from uploaded files.",
                    "headers": {"Allow": {"required": True, "schema": {"type": "string"}}},
                    "content": {PROBLEM: {"schema": _ref("Problem")}},
                }
            },
        },
    },
    "/api/images/{file_id}": {
        "parameters": [_FILE_ID_PARAM],
        "get": {
            "operationId": "getImage",
            "tags": ["images"],
            "summary": "Get one image",
            "description": "An image file that is not ready yet (processing, waiting, failed) answers 409 "
            "`image_not_ready`; a missing one 404.",
            "responses": {
                "200": _json(_ref("Image"), "The image.", headers=_ETAG),
                "304": _NOT_MODIFIED,
                **_problems(400, 401, 404, 409),
            },
        },
        "patch": {
            "operationId": "updateImage",
            "tags": ["images"],
            "summary": "Edit alt text, decorative, focal point, name",
            "description": "Changes only the fields sent; emits `image.updated` with the fields that changed.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": _ref("ImageUpdate")},
                    "application/merge-patch+json": {"schema": _ref("ImageUpdate")},
                },
            },
            "responses": {
                "200": _json(_ref("Image"), "The image as it is now."),
                **_problems(400, 401, 403, 404, 409, 415),
            },
        },
        "delete": {
            "operationId": "deleteImage",
            "tags": ["images"],
            "summary": "Delete an image and its file",
            "description": "The image and its file are gone from every list and read at once and the "
            "images-service copy is removed (nothing is delivered); the file's bytes and row stay in "
            "the workspace's trash until `restorableUntil`. An image still processing is deleted too (and never appears). `permanent=true` (or `trash_days` 0) "
            "removes the bytes too, by background jobs shortly after. A second delete answers 404.",
            "parameters": [_PERMANENT_PARAM],
            "responses": {"200": _json(_ref("ImageDeleted"), "The image is gone."), **_problems(400, 401, 403, 404)},
        },
    },
    "/api/trash": {
        "get": {
            "operationId": "listTrash",
            "tags": ["trash"],
            "summary": "List the files in the trash",
            "parameters": [_WORKSPACE_PARAM, _query("project_id", "Only this project's trash."), *_PAGE_PARAMS],
            "responses": {
                "200": _json(_ref("TrashList"), "A page of trashed files, newest upload first."),
                **_problems(400, 401, 404),
            },
        },
        "delete": {
            "operationId": "emptyTrash",
            "tags": ["trash"],
            "summary": "Empty the trash",
            "description": "Every file in the workspace's (or the project's) trash is removed for good now: rows at "
            "once, bytes by background jobs that retry until done.",
            "parameters": [_WORKSPACE_PARAM, _query("project_id", "Only this project's trash.")],
            "responses": {
                "200": _json(_ref("TrashEmptied"), "How many files were purged."),
                **_problems(400, 401, 403, 404),
            },
        },
    },
    "/api/uploads": {
        "post": {
            "operationId": "createUploadUrl",
            "tags": ["uploads"],
            "summary": "Make a one-time upload URL",
            "description": "For a server that holds a write token: the answer's `uploadUrl` accepts exactly one "
            "file, within `expiresIn` seconds and `maxBytes`, from a browser that holds no secret "
            "(Cloudflare Images' direct creator upload, for files). The file is a normal upload: it "
            "becomes a file, then an image, with `metadata.altText` as its alt text. Session callers "
            "name the workspace with `workspace_id` and send `X-CSRFToken`.",
            "parameters": [_WORKSPACE_PARAM],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("UploadUrlRequest")}}},
            "responses": {
                "201": _json(_ref("UploadUrl"), "The URL; its secret is shown only here."),
                **_problems(400, 401, 403, 404, 415),
            },
        },
    },
    "/api/uploads/{upload_id}/{secret}": {
        "parameters": [
            {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string"}},
            {
                "name": "secret",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "description": "The URL's secret: whoever has the URL may use it, once.",
            },
        ],
        "post": {
            "operationId": "useUploadUrl",
            "tags": ["uploads"],
            "summary": "Upload the one file (no credentials)",
            "description": "Send no `Authorization` header: the URL is the permission. Any origin may post here "
            "(CORS `*`, never with credentials). Exactly one request succeeds, even when several "
            "arrive at once; later ones answer 409 `upload_url_used`, an expired URL 410 "
            "`upload_url_expired`, a file over `maxBytes` 413 `file_too_large` (with `limit`; the "
            "URL stays usable), a wrong id or secret 404.",
            "security": [],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}},
                        }
                    }
                },
            },
            "responses": {
                "201": _json(_ref("UploadUrlStatus"), "The stored file (its image comes later)."),
                **_problems(400, 404, 409, 410, 413, 415, 503, 507),
            },
        },
        "get": {
            "operationId": "getUploadUrl",
            "tags": ["uploads"],
            "summary": "What the upload became (no credentials)",
            "description": "The file, and its image once processed, for the browser that uploaded it; readable "
            "until an hour after the URL expires (then 410).",
            "security": [],
            "responses": {
                "200": _json(_ref("UploadUrlStatus"), "The URL's state, file and image."),
                **_problems(404, 410),
            },
        },
    },
    "/api/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "tags": ["meta"],
            "summary": "This document",
            "security": [],
            "responses": {"200": _json({"type": "object", "required": ["openapi", "paths"]}, "OpenAPI 3.1.")},
        },
    },
    "/api/docs": {
        "get": {
            "operationId": "getDocs",
            "tags": ["meta"],
            "summary": "This document, rendered for people",
            "security": [],
            "responses": {
                "200": {"description": "An HTML page.", "content": {"text/html": {"schema": {"type": "string"}}}}
            },
        },
    },
}

_WEBHOOK_EVENTS = ["image.created", "image.provision_failed", "image.deleted", "image.restored", "image.updated"]
_WEBHOOK_ID_PARAM = {
    "name": "webhook_id",
    "in": "path",
    "required": True,
    "description": "The endpoint's id.",
    "schema": {"type": "string"},
}
_OWNERS = (
    "Owners only: an owner's session (with `workspace_id` and, on writes, `X-CSRFToken`) or a token with "
    "the `write` scope; editors, viewers and `read` tokens get 403."
)

_SCHEMAS.update(
    {
        "WebhookEndpoint": {
            "type": "object",
            "description": "Where the workspace's events are POSTed, signed per Standard Webhooks.",
            "required": [
                "object",
                "id",
                "workspaceId",
                "url",
                "description",
                "events",
                "enabled",
                "disabledReason",
                "disabledAt",
                "failingSince",
                "createdAt",
            ],
            "properties": {
                "object": {"const": "webhook_endpoint"},
                "id": _ID_SCHEMA,
                "workspaceId": {"type": "string"},
                "url": {"type": "string", "format": "uri"},
                "description": {"type": "string", "maxLength": 500},
                "events": {
                    "type": "array",
                    "items": {"enum": _WEBHOOK_EVENTS},
                    "description": "The event types sent; empty means all of them.",
                },
                "enabled": {"type": "boolean"},
                "disabledReason": {
                    "type": ["string", "null"],
                    "description": "Why the endpoint stopped: an owner disabled it, or every delivery failed for "
                    "WEBHOOK_DISABLE_AFTER_SECONDS (a day).",
                },
                "disabledAt": {"oneOf": [{"type": "null"}, _TIMESTAMP]},
                "failingSince": {
                    "oneOf": [{"type": "null"}, _TIMESTAMP],
                    "description": "The first failure since the last success.",
                },
                "createdAt": _TIMESTAMP,
                "secret": {
                    "type": "string",
                    "pattern": "^whsec_",
                    "description": "The signing secret: only in the answers that create or rotate it.",
                },
            },
            "additionalProperties": False,
        },
        "WebhookEndpointList": {
            "type": "object",
            "required": ["object", "data", "has_more", "next_cursor"],
            "properties": {
                "object": {"const": "list"},
                "data": {"type": "array", "items": _ref("WebhookEndpoint")},
                "has_more": {"const": False},
                "next_cursor": {"type": "null"},
            },
            "additionalProperties": False,
        },
        "WebhookEndpointCreate": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {
                    "type": "string",
                    "maxLength": 2048,
                    "description": "http(s); its host must resolve to public addresses only (WEBHOOK_ALLOW lists exceptions).",
                },
                "events": {"type": "array", "items": {"enum": _WEBHOOK_EVENTS}},
                "description": {"type": "string", "maxLength": 500},
            },
        },
        "WebhookEndpointPatch": {
            "type": "object",
            "properties": {
                "url": {"type": "string", "maxLength": 2048},
                "events": {"type": "array", "items": {"enum": _WEBHOOK_EVENTS}},
                "description": {"type": "string", "maxLength": 500},
                "enabled": {
                    "type": "boolean",
                    "description": "true resumes a disabled endpoint and its pending messages at once.",
                },
                "rotateSecret": {"type": "boolean", "description": "true makes a new secret, shown in this answer."},
            },
            "additionalProperties": False,
        },
        "WebhookSecret": {
            "type": "object",
            "required": ["object", "webhookId", "secret"],
            "properties": {
                "object": {"const": "webhook_secret"},
                "webhookId": {"type": "string"},
                "secret": {"type": "string", "pattern": "^whsec_"},
            },
            "additionalProperties": False,
        },
        "WebhookAttempt": {
            "type": "object",
            "required": ["at", "status", "error", "durationMs", "responseExcerpt"],
            "properties": {
                "at": _TIMESTAMP,
                "status": {
                    "type": ["integer", "null"],
                    "description": "The receiver's HTTP status; null if none came.",
                },
                "error": {"type": ["string", "null"], "description": "Why no answer came (timeout, refused address…)."},
                "durationMs": {"type": "integer", "minimum": 0},
                "responseExcerpt": {"type": "string", "maxLength": 1024},
            },
            "additionalProperties": False,
        },
        "WebhookDelivery": {
            "type": "object",
            "description": "One message to one endpoint; `id` is its `webhook-id` header on every attempt.",
            "required": [
                "object",
                "id",
                "webhookId",
                "eventId",
                "eventType",
                "state",
                "attempts",
                "nextAttemptAt",
                "lastAttemptAt",
                "lastStatus",
                "lastError",
                "createdAt",
                "payload",
            ],
            "properties": {
                "object": {"const": "webhook_delivery"},
                "id": _ID_SCHEMA,
                "webhookId": {"type": "string"},
                "eventId": {"type": "string"},
                "eventType": {"type": "string"},
                "state": {"enum": ["pending", "succeeded", "failed"]},
                "attempts": {"type": "integer", "minimum": 0},
                "nextAttemptAt": {"oneOf": [{"type": "null"}, _TIMESTAMP]},
                "lastAttemptAt": {"oneOf": [{"type": "null"}, _TIMESTAMP]},
                "lastStatus": {"type": ["integer", "null"]},
                "lastError": {"type": ["string", "null"]},
                "createdAt": _TIMESTAMP,
                "payload": _ref("WebhookPayload"),
                "attemptLog": {"type": "array", "items": _ref("WebhookAttempt"), "description": "Newest first."},
            },
            "additionalProperties": False,
        },
        "WebhookDeliveryList": {
            "type": "object",
            "required": ["object", "data", "has_more", "next_cursor"],
            "properties": {
                "object": {"const": "list"},
                "data": {"type": "array", "items": _ref("WebhookDelivery")},
                "has_more": {"const": False},
                "next_cursor": {"type": "null"},
            },
            "additionalProperties": False,
        },
        "WebhookPayload": {
            "type": "object",
            "description": "The body POSTed to the endpoint (Standard Webhooks): `data` is the Image for image.created, "
            "image.updated and image.restored (just `fileId` if it is gone since), `{fileId, error}` for "
            "image.provision_failed, `{fileId}` for image.deleted.",
            "required": ["type", "timestamp", "data"],
            "properties": {"type": {"type": "string"}, "timestamp": _TIMESTAMP, "data": {"type": "object"}},
            "additionalProperties": False,
        },
        "WebhookDeleted": {
            "type": "object",
            "required": ["object", "id", "deleted"],
            "properties": {
                "object": {"const": "webhook_endpoint"},
                "id": {"type": "string"},
                "deleted": {"const": True},
            },
            "additionalProperties": False,
        },
    }
)

_JSON_BODY = lambda name: {"required": True, "content": {"application/json": {"schema": _ref(name)}}}  # noqa: E731

_PATHS.update(
    {
        "/api/webhooks": {
            "get": {
                "operationId": "listWebhooks",
                "tags": ["webhooks"],
                "summary": "List the workspace's webhook endpoints",
                "description": _OWNERS,
                "parameters": [_WORKSPACE_PARAM],
                "responses": {
                    "200": _json(_ref("WebhookEndpointList"), "Every endpoint (at most 20), oldest first."),
                    **_problems(400, 401, 403, 404),
                },
            },
            "post": {
                "operationId": "createWebhook",
                "tags": ["webhooks"],
                "summary": "Add a webhook endpoint",
                "description": "The URL must be http(s) and resolve to public addresses only, the same rules as "
                "upload-by-URL (checked again at every send; `WEBHOOK_ALLOW` lists exceptions such as "
                "loopback in development). The answer carries the signing secret. " + _OWNERS,
                "parameters": [_WORKSPACE_PARAM],
                "requestBody": _JSON_BODY("WebhookEndpointCreate"),
                "responses": {
                    "201": _json(
                        _ref("WebhookEndpoint"),
                        "The endpoint, with its `secret`.",
                        headers={"Location": {"schema": {"type": "string"}}},
                    ),
                    **_problems(400, 401, 403, 404, 409, 415),
                },
            },
        },
        "/api/webhooks/{webhook_id}": {
            "parameters": [_WEBHOOK_ID_PARAM],
            "get": {
                "operationId": "getWebhook",
                "tags": ["webhooks"],
                "summary": "Get one webhook endpoint",
                "description": _OWNERS,
                "responses": {"200": _json(_ref("WebhookEndpoint"), "The endpoint."), **_problems(400, 401, 403, 404)},
            },
            "patch": {
                "operationId": "updateWebhook",
                "tags": ["webhooks"],
                "summary": "Change, enable or disable an endpoint",
                "description": "`enabled: true` clears `disabledReason` and sends its pending messages now. " + _OWNERS,
                "requestBody": _JSON_BODY("WebhookEndpointPatch"),
                "responses": {
                    "200": _json(_ref("WebhookEndpoint"), "The endpoint (with `secret` if rotated)."),
                    **_problems(400, 401, 403, 404, 415),
                },
            },
            "delete": {
                "operationId": "deleteWebhook",
                "tags": ["webhooks"],
                "summary": "Delete an endpoint and its deliveries",
                "description": _OWNERS,
                "responses": {"200": _json(_ref("WebhookDeleted"), "Gone."), **_problems(400, 401, 403, 404)},
            },
        },
        "/api/webhooks/{webhook_id}/secret": {
            "parameters": [_WEBHOOK_ID_PARAM],
            "get": {
                "operationId": "getWebhookSecret",
                "tags": ["webhooks"],
                "summary": "Show the signing secret",
                "description": "Stored encrypted with a key derived from SECRET_KEY; shown only here and when made. "
                + _OWNERS,
                "responses": {"200": _json(_ref("WebhookSecret"), "The secret."), **_problems(400, 401, 403, 404, 409)},
            },
        },
        "/api/webhooks/{webhook_id}/deliveries": {
            "parameters": [_WEBHOOK_ID_PARAM],
            "get": {
                "operationId": "listWebhookDeliveries",
                "tags": ["webhooks"],
                "summary": "Recent messages and attempts",
                "description": "Newest first, each with every attempt (status or error, duration, the first KB of the "
                "answer). " + _OWNERS,
                "parameters": [
                    _query(
                        "limit", "How many, 1 to 100.", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}
                    )
                ],
                "responses": {
                    "200": _json(_ref("WebhookDeliveryList"), "The deliveries."),
                    **_problems(400, 401, 403, 404),
                },
            },
        },
        "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": {
            "parameters": [
                _WEBHOOK_ID_PARAM,
                {
                    "name": "delivery_id",
                    "in": "path",
                    "required": True,
                    "description": "The message id (`msg_…`, its `webhook-id`).",
                    "schema": {"type": "string"},
                },
            ],
            "post": {
                "operationId": "redeliverWebhook",
                "tags": ["webhooks"],
                "summary": "Send a message again now",
                "description": "The same message id and body, signed anew, whatever state it ended in; tried for "
                "another day if it fails. 409 while the endpoint is disabled. " + _OWNERS,
                "responses": {
                    "202": _json(_ref("WebhookDelivery"), "Queued for the worker."),
                    **_problems(400, 401, 403, 404, 409),
                },
            },
        },
        "/api/webhooks/{webhook_id}/test": {
            "parameters": [_WEBHOOK_ID_PARAM],
            "post": {
                "operationId": "testWebhook",
                "tags": ["webhooks"],
                "summary": "Send a webhook.test ping",
                "description": _OWNERS,
                "responses": {
                    "202": _json(_ref("WebhookDelivery"), "Queued for the worker."),
                    **_problems(400, 401, 403, 404, 409),
                },
            },
        },
    }
)

# What this server POSTs to the endpoints (OpenAPI 3.1 `webhooks`).
_WEBHOOK_CALLS = {
    event: {
        "post": {
            "operationId": f"on_{event.replace('.', '_')}",
            "tags": ["webhooks"],
            "summary": f"{event}",
            "description": "Signed per Standard Webhooks: headers `webhook-id` (the message id, the same on retries "
            "and redeliveries), `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` + "
            "base64 HMAC-SHA256 of `id.timestamp.body` with the secret's bytes). Answer 2xx within 10 s; "
            "anything else is retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, … for a day.",
            "security": [],
            "parameters": [
                {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
                for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
            ],
            "requestBody": _JSON_BODY("WebhookPayload"),
            "responses": {"200": {"description": "Received (any 2xx)."}},
        }
    }
    for event in [*_WEBHOOK_EVENTS, "webhook.test"]
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
    "tags": [
        {"name": "images"},
        {"name": "files"},
        {"name": "trash"},
        {"name": "uploads"},
        {"name": "webhooks"},
        {"name": "meta"},
    ],
    "security": SECURED,
    "paths": _PATHS,
    "webhooks": _WEBHOOK_CALLS,
    "components": {
        "schemas": _SCHEMAS,
        "responses": _RESPONSES,
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API token (`aet_…`) with scope `read` or `write`.",
            },
            "cookieAuth": {
                "type": "apiKey",
                "in": "cookie",
                "name": "session",
                "description": "The gallery's session; writes also need the `X-CSRFToken` header.",
            },
        },
    },
}


def document() -> dict:
    doc = copy.deepcopy(DOCUMENT)
    doc["components"]["securitySchemes"]["cookieAuth"]["name"] = current_app.config.get(
        "SESSION_COOKIE_NAME", "session"
    )
    return doc


@bp.get("/openapi.json")
def openapi_document():
    return document()


# Everything the docs page loads comes from this server (Redoc's attribution logo on its CDN is blocked);
# Redoc needs inline styles and a blob: worker.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'"
)


@bp.get("/docs")
def docs():
    return render_template("api/docs.html", redoc_version=REDOC_VERSION), {"Content-Security-Policy": DOCS_CSP}
