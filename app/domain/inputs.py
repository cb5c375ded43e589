"""What callers send, as pydantic models: every request body and query-parameter set of the API, declared once.

The API validates requests with these models (app/api/spec.py) and the OpenAPI document's parameters and request
bodies are generated from them. A field's `Code` is the problem `code` a bad value answers with; without one a query
parameter answers `invalid_parameter` and a body field `invalid_field`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from app.domain import duplicates, grouping, organise, queries, saved_views
from app.domain.files import MAX_NAME_LENGTH
from app.domain.idempotency import MAX_KEY_LENGTH
from app.domain.shapes import CropPreset, CropRect, FocalPoint, UploadUrlMetadata, tidy
from app.domain.upload_urls import DEFAULT_EXPIRES_IN, MAX_ALT_TEXT, MAX_EXPIRES_IN, MIN_EXPIRES_IN
from app.domain.webhooks import EVENT_TYPES, MAX_DESCRIPTION, MAX_URL


def not_null(prop: dict) -> dict:
    """A member whose None only means "not sent": its schema is the value's, with no null and no null default."""
    if prop.get("default", 0) is None:
        prop.pop("default")
    variants = prop.get("anyOf")
    if variants and {"type": "null"} in variants:
        rest = [v for v in variants if v != {"type": "null"}]
        prop.pop("anyOf")
        prop.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
    return prop


@dataclass(frozen=True)
class Code:
    """The problem code of a field's validation error (metadata the API's error translation reads)."""

    code: str


# --- query parameters ---------------------------------------------------------------------------------------------


Limit = Annotated[int, Field(ge=1, le=100), Code("invalid_limit")]
WORKSPACE = (
    "The workspace to act in. Defaults to the token's workspace; browser-session callers must send it. Another "
    "workspace's id answers 404."
)


def _without_nulls(core_schema, handler) -> dict:
    """A query's or headers' schema as documented: optional fields without `null`, tidied."""
    schema = handler.resolve_ref_schema(handler(core_schema))
    for prop in schema.get("properties", {}).values():
        not_null(prop)
    return tidy(schema)


class Query(BaseModel):
    """Query parameters: an unknown name answers 400 (the API's hook also refuses repeated and empty ones)."""

    model_config = ConfigDict(extra="forbid")
    WHAT: ClassVar[str] = "this call"

    __get_pydantic_json_schema__ = classmethod(lambda cls, core, handler: _without_nulls(core, handler))


class WorkspaceQuery(Query):
    workspace_id: str | None = Field(default=None, description=WORKSPACE)


DUPLICATES = (
    "`reuse` (the default): bytes already stored in the workspace are not stored again; the answer is the existing "
    "file (200, with `duplicateOf`). `allow`: store them as a new file all the same (201)."
)


class UploadQuery(WorkspaceQuery):
    WHAT = "uploads"
    duplicates: Literal["reuse", "allow"] = Field(default="reuse", description=DUPLICATES)


class UploadUrlUseQuery(Query):
    WHAT = "a one-time upload URL"
    duplicates: Literal["reuse", "allow"] = Field(default="reuse", description=DUPLICATES)


class ProjectQuery(WorkspaceQuery):
    project_id: str | None = Field(default=None, description="Only this project's items.")


# The lists' parameters are the query engine's (app/domain/queries.py): each list's names, values and descriptions
# are declared there once; these are those models on this module's Query base (unknown names answer 400, no nulls).
class FileListQuery(queries.parameters_model("files", base=Query)):
    WHAT = "files lists"


class ImageListQuery(queries.parameters_model("images", base=Query)):
    WHAT = "images lists"


class TrashListQuery(queries.parameters_model("trash", base=Query)):
    WHAT = "the trash's list"


class ImageFacetsQuery(queries.parameters_model("facets", base=Query)):
    WHAT = "the image facets"


LIST_QUERIES = (FileListQuery, ImageListQuery, TrashListQuery, ImageFacetsQuery)


class TrashEmptyQuery(ProjectQuery):
    WHAT = "emptying the trash"


class DeleteQuery(Query):
    permanent: Annotated[bool, Code("invalid_permanent")] = Field(
        default=False,
        description="true removes it for good at once (bytes included), also when it is already in the trash; false "
        "(the default) puts it in the workspace's trash.",
    )


class SimilarQuery(Query):
    WHAT = "similar images"
    threshold: Annotated[int, Code("invalid_threshold")] = Field(
        default=duplicates.THRESHOLD,
        ge=0,
        le=duplicates.THRESHOLD,
        description=f"At most this many of the perceptual hash's 64 bits differ, 0 to {duplicates.THRESHOLD} (the "
        "default; 0 finds only pictures that look the same).",
    )
    limit: Limit = Field(default=20, le=duplicates.MAX_SIMILAR, description="How many, 1 to 50.")


class DuplicatesQuery(ProjectQuery):
    WHAT = "the duplicates review"
    cursor: str | None = Field(
        default=None, max_length=queries.MAX_CURSOR, description="The `next_cursor` of the previous page (signed)."
    )


class CollectionListQuery(WorkspaceQuery):
    WHAT = "collections lists"

    project_id: str | None = Field(default=None, description="Only this project's collections.")


class TagSuggestQuery(WorkspaceQuery):
    WHAT = "tag suggestions"

    prefix: str | None = Field(
        default=None, max_length=grouping.MAX_TAG, description="Only tags starting with this, in any case."
    )
    limit: Limit = Field(default=20, description="How many, 1 to 100.")


class DeliveriesQuery(Query):
    limit: Limit = Field(default=50, description="How many, 1 to 100.")


class SavedViewListQuery(ProjectQuery):
    WHAT = "saved-view lists"


class SavedViewRunQuery(Query):
    """A page of a saved view's images: the view holds the filters and sort, the caller the page."""

    WHAT = "running a view"
    limit: Limit = Field(default=50, description="Page size, 1 to 100.")
    cursor: str | None = Field(
        default=None, max_length=queries.MAX_CURSOR, description="The previous page's `next_cursor`."
    )
    count: bool = Field(default=False, description="`true` adds `total`: how many images the view holds.")


# --- request bodies -----------------------------------------------------------------------------------------------


class Body(BaseModel):
    """A JSON body: JSON types as they are (no "5" for 5), no member it does not declare (`unknown_field`)."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)
    UNKNOWN: ClassVar[str] = "unknown_field"
    CHANGES: ClassVar[bool] = False  # a PATCH: it must name at least one member
    # The codes of a body that is not JSON (415), not JSON at all (400) or not an object (400), and what to send.
    NOT_JSON: ClassVar[str] = "invalid_body"
    BROKEN_JSON: ClassVar[str] = "invalid_body"
    NOT_OBJECT: ClassVar[str] = "invalid_body"
    SEND: ClassVar[str] = "Send a JSON object (Content-Type: application/json)."

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        return tidy(handler.resolve_ref_schema(handler(core_schema)))

    def changes(self) -> dict:
        """The members the caller sent, by their JSON names."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


class ImageUpdate(Body):
    """Any of these fields; others are refused (400 `unknown_field`). Describing an image (non-empty `altText`)
    makes it not decorative; `decorative: true` clears the alt text; both in one request answer 400
    `alt_text_on_decorative`."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})
    CHANGES = True
    NOT_JSON = "json_required"
    BROKEN_JSON = "invalid_json"
    SEND = "Send the changes as a JSON object (Content-Type: application/json)."

    alt_text: str | None = Field(
        default=None,
        alias="altText",
        max_length=MAX_ALT_TEXT,
        description="Whitespace is collapsed; empty or null removes it.",
    )
    decorative: bool = None  # type: ignore[assignment]
    focal_point: FocalPoint | None = Field(default=None, alias="focalPoint")
    name: str = Field(
        default=None,
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        description="The file's display name as typed, slashes included (a name is not a path); control "
        "characters are removed.",
    )

    crops: Annotated[dict[str, CropRect | None], Code("invalid_crop")] = Field(
        default=None,
        min_length=1,
        description="Per crop preset name, a rectangle in the displayed image's pixels of the preset's ratio (within "
        "a pixel), inside the image and at least its minWidth, or null for automatic (app/domain/crops.py checks it).",
    )

    tags: Annotated[list[str], Code("invalid_tag")] = Field(
        default=None,
        max_length=organise.MAX_TAGS_PER_CHANGE,
        description=f"Its tags, all of them: missing ones are added, others removed (each 1 to {grouping.MAX_TAG} "
        "characters, no comma; the same tag in any case).",
    )

    @model_validator(mode="after")
    def _something(self) -> ImageUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one of altText, decorative, focalPoint, name, crops, tags")
        return self


SelectionIds = Annotated[list[str], Code("invalid_ids")]
SelectionQuery = Annotated[
    dict[str, Any],
    Code("invalid_query"),
    WithJsonSchema(
        {
            "type": "object",
            "description": "GET /api/images's filters as JSON ("
            + ", ".join(organise.SELECTABLE)
            + "): every image they "
            "match, on all pages.",
            "additionalProperties": True,
        }
    ),
]


class CollectionCreate(Body):
    project_id: Annotated[str, Code("project_id_missing")] = Field(alias="projectId", min_length=1, max_length=32)
    name: Annotated[str, Code("invalid_name")] = Field(max_length=grouping.MAX_COLLECTION_NAME * 4)


class CollectionRename(Body):
    name: Annotated[str, Code("invalid_name")] = Field(max_length=grouping.MAX_COLLECTION_NAME * 4)


class ImageSelection(Body):
    """Either `ids` (at most 10,000) or `query`."""

    ids: SelectionIds | None = Field(default=None, min_length=1, max_length=organise.MAX_SELECTION)
    query: SelectionQuery | None = None


class TagsChange(ImageSelection):
    """Either `ids` or `query`, and at least one tag in `add` or `remove`."""

    add: Annotated[list[str], Code("invalid_tag")] | None = Field(default=None, max_length=organise.MAX_TAGS_PER_CHANGE)
    remove: Annotated[list[str], Code("invalid_tag")] | None = Field(
        default=None, max_length=organise.MAX_TAGS_PER_CHANGE
    )


class CropPresetsUpdate(Body):
    """The whole list of crop presets at once; app/domain/crops.py checks every rule (slug-like unique names, W:H
    ratios from 1:10 to 10:1, minWidth 1 to 12,000, at most 12), so the page, the CLI and the API refuse alike."""

    SEND = 'Send {"data": [{"name": "hero", "ratio": "16:9", "minWidth": null}, …]} as application/json.'

    data: Annotated[
        list[dict[str, Any]],
        Code("invalid_crop_preset"),
        WithJsonSchema(
            {
                "type": "array",
                "maxItems": 12,
                "items": CropPreset.model_json_schema(by_alias=True, mode="serialization"),
            }
        ),
    ]


class UploadUrlRequest(Body):
    NOT_JSON = BROKEN_JSON = NOT_OBJECT = "json_required"
    SEND = "Send a JSON object: {projectId, maxBytes?, expiresIn?, metadata?}."

    project_id: Annotated[str, Code("project_id_missing")] = Field(alias="projectId", min_length=1)
    max_bytes: Annotated[int, Code("invalid_maxBytes")] | None = Field(
        default=None,
        alias="maxBytes",
        ge=1,
        description="The largest file the URL accepts; at most the server's upload limit (the default).",
    )
    expires_in: Annotated[int, Code("invalid_expiresIn")] = Field(
        default=DEFAULT_EXPIRES_IN,
        alias="expiresIn",
        ge=MIN_EXPIRES_IN,
        le=MAX_EXPIRES_IN,
        description="Seconds until the URL stops accepting a file.",
    )
    metadata: Annotated[UploadUrlMetadata, Code("invalid_metadata")] | None = None


Events = Annotated[list[Literal[EVENT_TYPES]] | Literal[EVENT_TYPES], Code("invalid_events")]  # type: ignore[valid-type]
WebhookUrl = Annotated[str, Code("invalid_url")]
WebhookDescription = Annotated[str, Code("invalid_description")]


class WebhookEndpointCreate(Body):
    url: WebhookUrl = Field(
        max_length=MAX_URL,
        description="http(s); its host must resolve to public addresses only (WEBHOOK_ALLOW lists exceptions).",
    )
    events: Events | None = Field(default=None, description="The event types sent; empty or absent means all.")
    description: WebhookDescription | None = Field(default=None, max_length=MAX_DESCRIPTION)


class WebhookEndpointPatch(Body):
    CHANGES = True

    url: WebhookUrl = Field(default=None, max_length=MAX_URL)
    events: Events | None = None
    description: WebhookDescription | None = Field(default=None, max_length=MAX_DESCRIPTION)
    enabled: bool = Field(
        default=None, description="true resumes a disabled endpoint and its pending messages at once."
    )
    rotate_secret: bool = Field(
        default=None, alias="rotateSecret", description="true makes a new secret, shown in this answer."
    )


ViewName = Annotated[str, Field(min_length=1, max_length=saved_views.MAX_NAME), Code("invalid_view_name")]


class SavedViewCreate(Body):
    """A view to save: its project, a name, the list parameters (as `GET /api/files` and `/api/images` take them)
    and a layout. The query is checked by the query engine: an unknown or bad parameter answers 400
    `invalid_view_query` and nothing is stored."""

    project_id: str = Field(alias="projectId", min_length=1, max_length=32, description="The project the view lists.")
    name: ViewName = Field(description="Unique (in any case) among your views of the project.")
    query: Annotated[str, Code("invalid_view_query")] = Field(
        default="",
        max_length=saved_views.MAX_QUERY,
        description="`q=beach&sort=-size&has_alt_text=false`: filters, search, sort.",
    )
    layout: Annotated[Literal[saved_views.LAYOUTS], Code("invalid_layout")] = Field(  # type: ignore[valid-type]
        default="grid", description="How the gallery shows it: `grid` or `table`."
    )


class SavedViewPatch(Body):
    """Renames a view (only its owner may)."""

    CHANGES = True
    name: ViewName = Field(description="The new name.")


# --- request headers ----------------------------------------------------------------------------------------------


class Headers(BaseModel):
    """Request headers a call reads, by their names (every other header passes)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    __get_pydantic_json_schema__ = classmethod(lambda cls, core, handler: _without_nulls(core, handler))


class UploadHeaders(Headers):
    """The headers an upload reads (every other header passes)."""

    idempotency_key: Annotated[str, Code("idempotency_key_invalid")] | None = Field(
        default=None,
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern="^[!-~]+$",
        description="A key of the client's choosing (a UUID), the same for each retry of one upload.",
    )


# tus 1.0 (resumable uploads): the protocol's request headers, as app/api/tus.py reads them.
TUS_VERSION = "1.0.0"
Bytes = Annotated[int, Field(ge=0, le=10**18 - 1), Code("invalid_header")]


class TusHeaders(Headers):
    tus_resumable: Annotated[str, Code("tus_resumable_missing")] = Field(
        alias="Tus-Resumable",
        description=f"The tus version: `{TUS_VERSION}`, the only one served (another answers 412 "
        "`tus_version_unsupported`).",
    )


class TusCreateHeaders(TusHeaders):
    upload_length: Bytes = Field(
        alias="Upload-Length",
        description="The whole file's size in bytes; over `MAX_UPLOAD_BYTES` (or the one-time URL's `maxBytes`) "
        "answers 413 `file_too_large` before any byte is read.",
    )
    upload_metadata: Annotated[str, Code("invalid_metadata")] | None = Field(
        default=None,
        alias="Upload-Metadata",
        max_length=4096,
        description="Comma-separated `key base64value` pairs: `project_id` (unless a query parameter names it) and "
        "`filename`; other keys are ignored.",
    )
    upload_defer_length: Annotated[str, Code("defer_length_unsupported")] | None = Field(
        default=None,
        alias="Upload-Defer-Length",
        description="Not supported (the extension is not offered): a file's size is declared with `Upload-Length`; "
        "sending this answers 400 `defer_length_unsupported`.",
    )
    upload_checksum: Annotated[str, Code("invalid_checksum")] | None = Field(
        default=None,
        alias="Upload-Checksum",
        description="`sha256 <base64 digest>` of the first piece sent in this request's body (creation-with-upload).",
    )


class UploadUrlTusHeaders(Headers):
    """A one-time upload URL takes a multipart file, or these to start a resumable upload of it (tus creation)."""

    tus_resumable: str | None = Field(
        default=None, alias="Tus-Resumable", description=f"`{TUS_VERSION}`: this request is a tus creation."
    )
    upload_length: Bytes | None = Field(
        default=None, alias="Upload-Length", description="With `Tus-Resumable`: the file's size, within `maxBytes`."
    )
    upload_metadata: Annotated[str, Code("invalid_metadata")] | None = Field(
        default=None,
        alias="Upload-Metadata",
        max_length=4096,
        description="With `Tus-Resumable`: `filename base64value` (the URL's own name wins).",
    )


class TusAppendHeaders(TusHeaders):
    upload_offset: Bytes = Field(
        alias="Upload-Offset",
        description="Where this piece starts: the upload's offset as `HEAD` answers it (another answers 409 "
        "`offset_mismatch`).",
    )
    upload_checksum: Annotated[str, Code("invalid_checksum")] | None = Field(
        default=None,
        alias="Upload-Checksum",
        description="`sha256 <base64 digest>` of this piece; a piece that does not match answers 460 "
        "`checksum_mismatch` and none of it is kept.",
    )


# --- multipart forms (documented; the upload views read the spooled file themselves) ------------------------------

Binary = Annotated[str, WithJsonSchema({"type": "string", "format": "binary"})]


class MergeRequest(Body):
    """The image to keep and those merged into it (they go to the trash)."""

    NOT_JSON = BROKEN_JSON = NOT_OBJECT = "json_required"
    SEND = "Send a JSON object: {keep, merge: [ids]}."

    keep: str = Field(min_length=1, max_length=32, description="The image kept.")
    merge: Annotated[list[Annotated[str, Field(min_length=1, max_length=32)]], Code("invalid_merge")] = Field(
        min_length=1,
        max_length=duplicates.MAX_MERGED,
        description="The images merged into it: 1 to 50, none of them the kept one.",
    )


class UploadForm(BaseModel):
    file: Binary
    project_id: str = Field(min_length=1, description="The project the file belongs to (or as a query parameter).")


class ReplaceForm(BaseModel):
    file: Binary
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        description="A new name for the file once the new version is current; without it the file keeps its name.",
    )


class UrlImportForm(BaseModel):
    """Import from a URL instead of sending the file (application/x-www-form-urlencoded)."""

    url: str = Field(
        max_length=2048,
        description="Import from this http(s) URL instead of sending the file: fetched by the web app from public "
        "addresses only (every redirect checked again), within `MAX_UPLOAD_BYTES` and `URL_IMPORT_TIMEOUT`.",
    )
    project_id: str = Field(min_length=1, description="The project the file belongs to.")


class UploadUrlForm(BaseModel):
    file: Binary
