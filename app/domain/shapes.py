"""JSON shapes of the product's objects as pydantic models: the answers, the OpenAPI document and the React types.

Each field is declared here once. The API serialises these models, the OpenAPI document's schemas are generated
from them (app/api/spec.py) and the gallery, webhooks, CLI and MCP read the same dicts (`*_json` below).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema, create_model
from pydantic.alias_generators import to_camel

from app.adapters.webhook_sender import EXCERPT
from app.domain import grouping, services
from app.domain.accounts import get_workspace
from app.domain.common import isoformat
from app.domain.crops import image_crops
from app.domain.failures import retryable
from app.domain.files import MAX_NAME_LENGTH
from app.domain.files import File as FileRow
from app.domain.image_edits import focal_point, gravity
from app.domain.image_status import image_state
from app.domain.images import NAMED_VARIANTS, delivery_url, delivery_url_of, stable_url
from app.domain.images import Image as ImageRow
from app.domain.upload_urls import MAX_ALT_TEXT
from app.domain.versions import FileVersion as VersionRow
from app.domain.versions import copy_kept
from app.event_types import WEBHOOK_EVENTS as EVENT_TYPES

# An instant in UTC with milliseconds and a Z, as every answer writes it.
Timestamp = Annotated[
    datetime,
    PlainSerializer(isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Id = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
Uri = Annotated[str, Field(json_schema_extra={"format": "uri"})]
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Count = Annotated[int, Field(ge=0)]


def _absent(value) -> bool:
    return value is None


def Optional(description: str | None = None, **kwargs) -> Any:  # noqa: N802 - reads like a type in the models
    """A member that is left out of the answer (not null) when it has no value: not `required` in the schema."""
    return Field(default=None, exclude_if=_absent, description=description, **kwargs)


def tidy(schema: dict) -> dict:
    """Members without generated titles ("Alttext") and without null defaults (generators read those as "always
    set")."""
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        if prop.get("default", 0) is None:
            prop.pop("default")
    return schema


class Shape(BaseModel):
    """An answer's shape: camelCase names, no unknown members, every member present unless it is `Optional`."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        json_schema_serialization_defaults_required=True,
    )

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        schema = handler.resolve_ref_schema(handler(core_schema))
        optional = {field.alias or name for name, field in cls.model_fields.items() if field.exclude_if is _absent}
        if "required" in schema:
            schema["required"] = [name for name in schema["required"] if name not in optional]
        tidy(schema)
        for name in optional & set(schema.get("properties", {})):
            prop = schema["properties"][name]
            prop.pop("default", None)
            variants = prop.pop("anyOf", None)
            if variants:  # `X | None` only so the model can hold "absent": the member, when present, is an X
                prop.update(next(v for v in variants if v.get("type") != "null"))
        return schema

    def dump(self) -> dict:
        """The JSON answer: aliases, ISO times, absent `Optional` members left out."""
        return self.model_dump(by_alias=True, mode="json")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")
    __get_pydantic_json_schema__ = classmethod(Shape.__get_pydantic_json_schema__.__func__)

    type: Uri
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: str = Field(description="Stable, machine-readable error code.")
    parameter: str | None = Optional("The request parameter or body field at fault, for validation errors.")
    allowed: list[str] | None = Optional("For an unknown query parameter or field: the ones this call takes.")
    limit: str | None = Optional("For 413: which limit was hit.")
    value: int | None = Field(default=None, description="For 413: the limit's setting.")
    imageStatus: Literal["processing", "waiting", "failed"] | None = Optional("For `image_not_ready`.")  # noqa: N815


class FocalPoint(Shape):
    """A point of the image, 0 to 1 from the top left; crop URLs pass it as `gravity=XxY`."""

    model_config = ConfigDict(strict=True)

    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)


class CropRect(Shape):
    """A rectangle in the displayed image's pixels, from the top left."""

    x: Count
    y: Count
    width: int = Field(ge=1)
    height: int = Field(ge=1)


class Crop(Shape):
    """A named crop: stored (`auto` false), derived from the focal point (`auto` true with a rect) or placed by the
    images service's saliency (`auto` true, `rect` null)."""

    url: Uri | None = Field(description="Its flexible-variant URL; null for private images (no flexible variants).")
    rect: CropRect | None
    auto: bool
    ratio: str = Field(description="The preset's aspect ratio, W:H.")


class CropPreset(Shape):
    """A workspace's crop preset (app/domain/crops.py checks them)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")
    ratio: str = Field(
        pattern=r"^[0-9]{1,4}(\.[0-9]{1,4})?:[0-9]{1,4}(\.[0-9]{1,4})?$", description="W:H, 1:10 to 10:1."
    )
    min_width: int | None = Field(ge=1, le=12_000, description="The narrowest crop it takes, in pixels; null: any.")


class CropPresetList(Shape):
    """Every crop preset of the workspace, in order."""

    object: Literal["list"] = "list"
    data: list[CropPreset] = Field(max_length=12)


class PictureFacts(Shape):
    """Bytes, dimensions as displayed and format of an original or of its master."""

    size: Count
    width: Count
    height: Count
    format: str


class FileError(Shape):
    code: str | None
    message: str | None
    retryable: bool = Field(
        description="True when the failure may pass (the images service unreachable or busy) and a retry can help; "
        "false for a damaged file, something that is not an image, a pixel bomb or one that cannot be made to fit."
    )


class ImageStateError(Shape):
    code: str
    detail: str | None


class FileImageState(Shape):
    """`waiting`: the images service is unreachable or busy (timeouts, 5xx, 429); the image is retried automatically
    with backoff until it succeeds or PROVISION_DEADLINE_SECONDS pass. `failed`: given up (a permanent refusal, or
    the deadline); `POST .../retry` tries again."""

    status: Literal["processing", "waiting", "ready", "failed"]
    error: ImageStateError | None
    next_attempt_at: Timestamp | None = Field(description="When a waiting image is tried next.")
    attempts: Count


class File(Shape):
    """A stored file; a file whose sniffed type is an image becomes an Image once processed."""

    object: Literal["file"] = "file"
    id: Id
    workspace_id: str
    project_id: str
    name: str = Field(max_length=MAX_NAME_LENGTH)
    mime_type: str = Field(description="Sniffed from the bytes, never taken from the client.")
    size: Count
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    status: Literal["pending", "ready", "error"]
    error: FileError | None
    is_image: bool
    image: FileImageState | None = Field(
        description="Null when the file is not an image (or is in the trash); else where it is on its way to one."
    )
    created_at: Timestamp
    updated_at: Timestamp
    taken_at: Timestamp = Field(
        description="When it was taken: its image's date taken (EXIF DateTimeOriginal), else when it was uploaded; "
        "what the sort `taken` orders by."
    )
    content_url: Uri
    duplicate_of: str | None = Optional(
        "Only in an upload's answer when the bytes were already in the workspace: the id of that file, which is the "
        "file answered (nothing new was stored; see `duplicates` on the upload)."
    )


class TrashedFile(File):
    """A file in the trash: the file as it was, with when it was deleted and when it is purged. `image` is null:
    nothing is delivered while it is in the trash."""

    deleted_at: Timestamp
    purge_after: Timestamp


class Placeholder(Shape):
    blurhash: str | None
    dominant_color: Annotated[str, Field(pattern="^#[0-9a-f]{6}$")] | None


class DeliveryUrls(Shape):
    """Delivery URLs by variant name: the named variants always, custom ones too."""

    model_config = ConfigDict(extra="allow", alias_generator=None)
    __pydantic_extra__: dict[str, Uri] = Field(init=False)


# The named variants are members every Image has, declared from the one list of them.
Variants = create_model("Variants", __base__=DeliveryUrls, **dict.fromkeys(NAMED_VARIANTS, (Uri, ...)))


class Image(Shape):
    """A file whose bytes are an image, with its copy in the images service."""

    object: Literal["image"] = "image"
    file_id: Id
    cf_image_id: str
    workspace_id: str
    project_id: str
    name: str = Field(max_length=MAX_NAME_LENGTH)
    mime_type: str = Field(pattern="^image/")
    width: Count = Field(
        description="As the images service has it (the master's when a master was sent), EXIF orientation applied."
    )
    height: Count
    size: Count = Field(description="Bytes of the original.")
    format: str
    exif: dict[str, Any] = Field(description="EXIF tags by name; GPS only when the workspace keeps it.")
    url: Uri = Field(
        description="The stable `public` URL: it redirects (302, cached STABLE_URL_MAX_AGE seconds, 60 by default) to "
        "the current version, so it keeps working and shows the new pixels once a replacement is ready; signed and "
        "expiring when the image is private. Append another variant name in place of `public` for that variant."
    )
    versioned_url: Uri = Field(
        description="The `public` URL of this version in the images service: its pixels never change (a replace makes "
        "a new version with a new URL); for caches that must never be stale. `variants` and `crops` are versioned too."
    )
    version: int = Field(ge=1, description="The number of the version delivered now (1 until the bytes are replaced).")
    variants: Variants  # type: ignore[valid-type]
    require_signed_urls: bool = Field(alias="requireSignedURLs")
    placeholder: Placeholder
    alt_text: str | None
    decorative: bool
    focal_point: FocalPoint | None = Field(description="Where crops keep the subject; null is the centre.")
    crops: dict[str, Crop] = Field(
        description="Per crop preset of the workspace (`hero`, `card`, `social` by default): its delivery URL, the "
        "stored or derived rectangle and whether it is automatic (see Named crops in docs/api.md)."
    )
    created_at: Timestamp
    source: Literal["original", "master"] = Field(
        description="What the images service was sent: the original as uploaded, or a master derived from it because "
        "the original breaks its input limits (10 MB, 12,000 px on the longest side, 100 megapixels) or is a format "
        "it refuses (TIFF, BMP, JPEG XL)."
    )
    master: PictureFacts | None
    original: PictureFacts
    camera_make: str | None = Optional("The camera's maker (EXIF Make).")
    camera_model: str | None = Optional("The camera as shown, e.g. `Canon EOS R5` (the `camera` filter).")
    lens: str | None = Optional("The lens, e.g. `RF24-105mm F4 L IS USM`.")
    taken_at: Timestamp | None = Optional("When it was taken (EXIF DateTimeOriginal), else when it was uploaded.")
    orientation: Literal["landscape", "portrait", "square"] | None = Optional("As displayed.")
    colour: str | None = Optional("The family of its dominant colour (`blue`, `grey`, …).")
    tags: list[str] = Field(description="Its tags as first typed, in alphabetical order of any case.")
    collections: list[Id] = Field(description="The ids of the collections it is in.")


class FacetValue(Shape):
    value: str
    count: Count = Field(description="How many of the matching images have this value (scaled when not `exact`).")


class ImageFacets(Shape):
    """Per facet (`camera`, `cameraMake`, `lens`, `orientation`, `colour`, `format`, `source`, `hasAltText`) its most
    frequent values among the images that match, with counts."""

    object: Literal["facets"] = "facets"
    facets: dict[str, list[FacetValue]]
    total: Count = Field(description="How many images match.")
    exact: bool = Field(
        description="`false` when more images match than are counted (the first 5,000 the database finds): the "
        "counts are then estimates scaled to `total`."
    )


def facets_json(found) -> dict:
    """The ImageFacets answer of `queries.facets`."""
    return ImageFacets(
        facets={
            to_camel(name): [FacetValue(value=value, count=n) for value, n in pairs]
            for name, pairs in found.values.items()
        },
        total=found.total,
        exact=found.exact,
    ).dump()


class Collection(Shape):
    """A named group of images inside a project (flat: an image can be in any number of them)."""

    object: Literal["collection"] = "collection"
    id: Id
    workspace_id: str
    project_id: str
    name: str = Field(max_length=grouping.MAX_COLLECTION_NAME)
    image_count: Count = Field(description="Its images that are not in the trash; kept with every change.")
    created_at: Timestamp
    updated_at: Timestamp


class CollectionList(Shape):
    object: Literal["list"] = "list"
    data: list[Collection]


class CollectionChange(Shape):
    """What adding or removing images did: how many were new to it (or were in it), and its count now."""

    object: Literal["collection_change"] = "collection_change"
    collection: Collection
    changed: Count = Field(description="Images added that were not in it yet, or removed that were in it.")


class Tag(Shape):
    object: Literal["tag"] = "tag"
    name: str = Field(max_length=grouping.MAX_TAG, description="As first typed (the tag is the same in any case).")
    use_count: Count = Field(description="Images carrying it that are not in the trash.")


class TagList(Shape):
    object: Literal["list"] = "list"
    data: list[Tag]


class TagsChanged(Shape):
    object: Literal["tags_change"] = "tags_change"
    changed: Count = Field(description="Images that gained or lost at least one tag.")


class VersionError(Shape):
    code: str
    message: str


class FileVersion(Shape):
    """One version of an image's bytes. `pending` is being processed (the current version serves meanwhile),
    `current` is delivered, `previous` was replaced (its original and master stay in storage; its images-service copy
    for the workspace's `version_copy_days`), `failed` never became current and says why."""

    object: Literal["file_version"] = "file_version"
    file_id: Id
    number: int = Field(ge=1)
    state: Literal["pending", "current", "previous", "failed"]
    name: str | None = Field(description="The name the file takes with this version; null keeps the file's name.")
    mime_type: str
    size: Count
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    width: int | None = Field(description="As delivered; null until the version is ready.")
    height: int | None
    format: str | None
    created_at: Timestamp
    created_by: str | None = Field(description="Who replaced it (a member's email or a token's name); null for v1.")
    ready_at: Timestamp | None
    restored_from: int | None = Field(description="The version whose bytes it brought back (restore).")
    versioned_url: Uri | None = Field(
        description="Its own `public` URL in the images service while its copy is kept; null otherwise."
    )
    copy_until: Timestamp | None = Field(description="Until when a replaced version's images-service copy is kept.")
    error: VersionError | None = Field(description="Why a failed version never became current.")


class FileVersionList(Shape):
    """Every version of an image, newest first."""

    object: Literal["list"] = "list"
    data: list[FileVersion]


MAX_DESCRIPTION = 500  # a webhook endpoint's description (its column too)

RESTORABLE_UNTIL = (
    "Until when `POST /api/files/{file_id}/restore` brings it back (the workspace's `trash_days`, 30 by default); "
    "null when it was removed for good at once (`permanent=true`, or the workspace's trash is off)."
)


class FileDeleted(Shape):
    object: Literal["file"] = "file"
    id: str
    deleted: Literal[True] = True
    restorable_until: Timestamp | None = Field(description=RESTORABLE_UNTIL)


class ImageDeleted(Shape):
    object: Literal["image"] = "image"
    file_id: str
    deleted: Literal[True] = True
    restorable_until: Timestamp | None = Field(description=RESTORABLE_UNTIL)


class TrashEmptied(Shape):
    object: Literal["trash"] = "trash"
    purged: Count


class Page(Shape):
    """One page of a list: `next_cursor` goes back as `cursor` for the next page; null on the last page."""

    model_config = ConfigDict(alias_generator=None)

    object: Literal["list"] = "list"
    data: list
    has_more: bool
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    total: int | None = Optional("How many match on all pages together; only with `count=true`.", ge=0)
    total_estimated: bool | None = Optional(
        "`true` when `total` is no exact count (PostgreSQL): the database's estimate of a filtered list of more "
        "than 1,000, or 1,000 when that estimate was far too low (more match)."
    )


class FileList(Page):
    data: list[File] = Field(max_length=100)


class ImageList(Page):
    data: list[Image] = Field(max_length=100)


class TrashList(Page):
    data: list[TrashedFile] = Field(max_length=100)


class SimilarImage(Shape):
    """An image near another: how many of the 64 bits of their perceptual hashes differ (0: looks the same)."""

    distance: int = Field(ge=0, le=64)
    image: Image


class SimilarList(Shape):
    """Images near one image, nearest first."""

    model_config = ConfigDict(alias_generator=None)

    object: Literal["list"] = "list"
    data: list[SimilarImage] = Field(max_length=50)


class DuplicateGroup(Shape):
    """Near duplicates: `images[0]` is the oldest (the one a review suggests keeping), the others are within the
    threshold of it, each with its distance from it."""

    keep: str = Field(description="The suggested image to keep: the oldest.")
    images: list[SimilarImage] = Field(min_length=2)


class DuplicateGroupList(Shape):
    """A page of groups: `next_cursor` goes back as `cursor`; null when the whole library has been walked (a page
    may hold no group and still have a next one)."""

    model_config = ConfigDict(alias_generator=None)

    object: Literal["list"] = "list"
    data: list[DuplicateGroup]
    has_more: bool
    next_cursor: str | None


class TrashedDuplicate(Shape):
    id: str
    restorable_until: Timestamp | None = Field(description=RESTORABLE_UNTIL)


class MergeResult(Shape):
    """The kept image as it is now, what it gained (`changed`, as in `image.updated`) and the files put in the
    trash (restore them to undo)."""

    object: Literal["merge"] = "merge"
    kept: Image
    changed: dict[str, Any]
    trashed: list[TrashedDuplicate]


class UploadUrlMetadata(Shape):
    model_config = ConfigDict(strict=True)

    alt_text: str | None = Field(
        default=None, max_length=MAX_ALT_TEXT, description="Set as the image's alt text once the file is an image."
    )
    name: str | None = Field(
        default=None, max_length=MAX_NAME_LENGTH, description="The file's name, instead of the one the browser sends."
    )


class UploadUrl(Shape):
    """A one-time upload URL. `uploadUrl` (with its secret) is in the answer that made it only."""

    object: Literal["upload_url"] = "upload_url"
    id: Id
    upload_url: Uri | None = Optional("POST the file here (multipart field `file`) with no credentials.")
    project_id: str
    workspace_id: str
    max_bytes: int = Field(ge=1)
    expires_at: Timestamp
    state: Literal["open", "used"]
    metadata: UploadUrlMetadata


class UploadUrlStatus(UploadUrl):
    """The URL with what it made: the file, then (once processed) its image."""

    file: File | None
    image: Image | None


class WebhookEndpoint(Shape):
    """Where the workspace's events are POSTed, signed per Standard Webhooks."""

    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    id: Id
    workspace_id: str
    url: Uri
    description: str = Field(max_length=MAX_DESCRIPTION)
    events: list[EventType] = Field(description="The event types sent; empty means all of them.")
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why the endpoint stopped: an owner disabled it, or every delivery failed for "
        "WEBHOOK_DISABLE_AFTER_SECONDS (a day)."
    )
    disabled_at: Timestamp | None
    failing_since: Timestamp | None = Field(description="The first failure since the last success.")
    created_at: Timestamp
    secret: str | None = Optional(
        "The signing secret: only in the answers that create or rotate it.", pattern="^whsec_"
    )


class WebhookEndpointList(Page):
    data: list[WebhookEndpoint]


class WebhookSecret(Shape):
    object: Literal["webhook_secret"] = "webhook_secret"
    webhook_id: str
    secret: str = Field(pattern="^whsec_")


class WebhookDeleted(Shape):
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    id: str
    deleted: Literal[True] = True


class WebhookAttempt(Shape):
    at: Timestamp
    status: int | None = Field(description="The receiver's HTTP status; null if none came.")
    error: str | None = Field(description="Why no answer came (timeout, refused address…).")
    duration_ms: Count
    response_excerpt: str = Field(max_length=EXCERPT)


class WebhookPayload(BaseModel):
    """The body POSTed to the endpoint (Standard Webhooks): `data` is the Image for image.created, image.updated (plus
    `changed`: each changed field's new value; `tags: {added, removed}` and `collections: {added|removed: [id]}` for
    tags and collections), image.restored (just `fileId` if it is gone since) and image.replaced (plus
    `previousVersion` and `newVersion`, each `{number, cfImageId}`), `{fileId, error}` for image.provision_failed,
    `{fileId, version, error}` for image.replace_failed, `{fileId, trashed}` for image.deleted; the Collection for
    collection.created and collection.updated (plus `changed`: `name`, `imagesAdded` or `imagesRemoved`),
    `{id, name, projectId}` for collection.deleted."""

    model_config = ConfigDict(extra="forbid")

    type: str
    timestamp: str = Field(json_schema_extra={"format": "date-time"})
    data: dict[str, Any]


class WebhookDelivery(Shape):
    """One message to one endpoint; `id` is its `webhook-id` header on every attempt."""

    object: Literal["webhook_delivery"] = "webhook_delivery"
    id: Id
    webhook_id: str
    event_id: str
    event_type: str
    state: Literal["pending", "succeeded", "failed"]
    attempts: Count
    next_attempt_at: Timestamp | None
    last_attempt_at: Timestamp | None
    last_status: int | None
    last_error: str | None
    created_at: Timestamp
    payload: WebhookPayload
    attempt_log: list[WebhookAttempt] | None = Optional("Newest first.")


class WebhookDeliveryList(Page):
    data: list[WebhookDelivery]


# The rows → shapes. Every face reads these dicts; the API also declares the models above as its answers.


class SavedView(Shape):
    """A user's named view of a project: the query engine's parameters as a query string, and grid or table."""

    object: Literal["saved_view"] = "saved_view"
    id: Id
    workspace_id: str
    project_id: str
    name: str = Field(min_length=1, max_length=100)
    query: str = Field(
        max_length=2000,
        description="The view's filters, search and sort as the list parameters of `GET /api/files` and "
        "`/api/images` name them (`q=beach&sort=-size&has_alt_text=false`); no page, count or project.",
    )
    parameters: dict[str, str] = Field(description="The same query, by name.")
    layout: Literal["grid", "table"]
    url: Uri = Field(description="The view in the gallery: opens the same filters for anyone in the workspace.")
    created_at: Timestamp
    updated_at: Timestamp


class SavedViewList(Page):
    data: list[SavedView] = Field(max_length=200)


class SavedViewDeleted(Shape):
    object: Literal["saved_view"] = "saved_view"
    id: str
    deleted: Literal[True] = True


def file_shape(file: FileRow) -> File:
    """A list first loads its page's provisioning and image rows in one go (`image_status.preload`); the image state
    is read first, with the file row in the same statement, so the file's status and its image's agree."""
    image = image_state(file) if file.deleted_at is None else None
    return File(
        id=file.id,
        workspace_id=file.workspace_id,
        project_id=file.project_id,
        name=file.name,
        mime_type=file.mime_type,
        size=file.size,
        sha256=file.sha256,
        status=file.status,
        error=FileError(code=file.error_code, message=file.error_message, retryable=retryable(file.error_code))
        if file.status == "error"
        else None,
        is_image=file.is_image,
        image=image,
        created_at=file.created_at,
        updated_at=file.updated_at,
        taken_at=file.taken_at or file.created_at,
        content_url=services.content_url(file.id),
    )


def file_json(file: FileRow) -> dict:
    return file_shape(file).dump()


def duplicate_json(file: FileRow) -> dict:
    """An upload's answer when its bytes were already stored: that file, saying so."""
    return file_shape(file).model_copy(update={"duplicate_of": file.id}).dump()


def trashed_file_json(file: FileRow) -> dict:
    """A file in the trash: the file as it was, when it was deleted and until when it can be restored."""
    fields = dict(file_shape(file))
    return TrashedFile(**fields, deleted_at=file.deleted_at, purge_after=file.purge_after).dump()


def image_shape(image: ImageRow, file: FileRow, labels: tuple[list[str], list[str]] | None = None) -> Image:
    """The one Image shape: the API, the CLI, the MCP server, the gallery and webhooks all use this (`labels`: its
    tags and collections when a list already loaded them)."""
    tags, collections = labels or grouping.labels([file.id])[file.id]
    return Image(
        file_id=image.file_id,
        cf_image_id=image.cf_image_id,
        workspace_id=image.workspace_id,
        project_id=file.project_id,
        name=file.name,
        mime_type=file.mime_type,
        width=image.width,
        height=image.height,
        size=image.size,
        format=image.format,
        exif=image.exif or {},
        url=stable_url(image, "public"),
        versioned_url=delivery_url(image, "public"),
        version=image.version or 1,
        variants={name: delivery_url(image, name) for name in NAMED_VARIANTS},
        require_signed_urls=image.require_signed_urls,
        placeholder=Placeholder(blurhash=image.placeholder, dominant_color=image.dominant_color),
        alt_text=image.alt_text,
        decorative=image.decorative,
        focal_point=focal_point(image),
        crops=image_crops(image, gravity(image)),
        created_at=image.created_at,
        camera_make=image.camera_make,
        camera_model=image.camera_model,
        lens=image.lens,
        taken_at=image.taken_at,
        orientation=image.orientation,
        colour=image.colour,
        tags=tags,
        collections=collections,
        **sent(image),
    )


def image_json(image: ImageRow, file: FileRow, labels: tuple[list[str], list[str]] | None = None) -> dict:
    return image_shape(image, file, labels).dump()


def images_json(pairs: list[tuple[ImageRow, FileRow]]) -> list[dict]:
    """Many images at once, their tags and collections read in two queries for all of them."""
    found = grouping.labels([file.id for _, file in pairs])
    # The session's identity map holds rows weakly: keep each workspace (its crop presets and privacy settings) for
    # the whole list, or every image reads it again.
    held = [get_workspace(workspace_id) for workspace_id in {image.workspace_id for image, _ in pairs}]
    shaped = [image_json(image, file, found[file.id]) for image, file in pairs]
    del held
    return shaped


def collection_json(collection: grouping.Collection) -> dict:
    return Collection(
        id=collection.id,
        workspace_id=collection.workspace_id,
        project_id=collection.project_id,
        name=collection.name,
        image_count=collection.image_count,
        created_at=collection.created_at,
        updated_at=collection.updated_at,
    ).dump()


def tag_json(tag: grouping.Tag) -> dict:
    return Tag(name=tag.name, use_count=tag.use_count).dump()


def sent(image: ImageRow) -> dict:
    """What Images was sent: the original as uploaded, or a master derived from it; the original is kept unchanged."""
    master = None
    if image.source == "master":
        master = PictureFacts(
            size=image.master_size, width=image.master_width, height=image.master_height, format=image.master_format
        )
    original = PictureFacts(
        size=image.size,
        width=image.original_width or image.width,
        height=image.original_height or image.height,
        format=image.format,
    )
    return {"source": image.source or "original", "master": master, "original": original}


def version_shape(version: VersionRow, private: bool) -> FileVersion:
    """A version row (app.domain.versions) as every face shows it; `private`: the image needs signed URLs."""
    url = None
    if version.cf_image_id and copy_kept(version):
        url = delivery_url_of(version.cf_image_id, "public", signed=private)
    error = VersionError(code=version.error_code, message=version.error_message or "") if version.error_code else None
    return FileVersion(
        file_id=version.file_id,
        number=version.number,
        state=version.state,
        name=version.name,
        mime_type=version.mime_type,
        size=version.size,
        sha256=version.sha256,
        width=version.width,
        height=version.height,
        format=version.format,
        created_at=version.created_at,
        created_by=version.created_by,
        ready_at=version.ready_at,
        restored_from=version.restored_from,
        versioned_url=url,
        copy_until=version.copy_until,
        error=error,
    )


def list_json(items: list[dict], next_cursor: str | None, total: int | None = None) -> dict:
    """A page of already-dumped items (the item models were checked when they were built)."""
    page = {"object": "list", "data": items, "has_more": next_cursor is not None, "next_cursor": next_cursor}
    if total is not None:
        page["total"] = int(total)
        if getattr(total, "estimated", False):
            page["total_estimated"] = True
    return page


def webhook_json(endpoint, secret: str | None = None) -> dict:
    """A webhook endpoint; `secret` only in the answers that create or rotate it (and GET …/secret)."""
    return WebhookEndpoint(
        id=endpoint.id,
        workspace_id=endpoint.workspace_id,
        url=endpoint.url,
        description=endpoint.description or "",
        events=list(endpoint.event_types or []),
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        disabled_at=endpoint.disabled_at,
        failing_since=endpoint.first_failure_at,
        created_at=endpoint.created_at,
        secret=secret,
    ).dump()


def webhook_delivery_json(delivery, attempts: list | None = None) -> dict:
    log = None
    if attempts is not None:
        log = [
            WebhookAttempt(
                at=a.at,
                status=a.status_code,
                error=a.error,
                duration_ms=a.duration_ms,
                response_excerpt=a.response_excerpt,
            )
            for a in attempts
        ]
    return WebhookDelivery(
        id=delivery.id,
        webhook_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        state=delivery.state,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if delivery.state == "pending" else None,
        last_attempt_at=delivery.last_attempt_at,
        last_status=delivery.last_status,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        payload=delivery.payload,
        attempt_log=log,
    ).dump()


def upload_url_json(row, upload_url: str | None = None, **made) -> dict:
    """A one-time upload URL; its `uploadUrl` (with the secret) only when it is made, `made` = file and image."""
    fields = dict(
        id=row.id,
        project_id=row.project_id,
        workspace_id=row.workspace_id,
        max_bytes=row.max_bytes,
        expires_at=row.expires_at,
        state=row.state,
        metadata=UploadUrlMetadata(alt_text=row.alt_text, name=row.name),
    )
    if upload_url is not None:
        fields["upload_url"] = upload_url
    if made:
        return UploadUrlStatus(**fields, **made).dump()
    return UploadUrl(**fields).dump()


def saved_view_json(view, url: str) -> dict:
    """A saved view; `url` is its gallery address (the faces know their routes, the domain does not)."""
    return SavedView(
        id=view.id,
        workspace_id=view.workspace_id,
        project_id=view.project_id,
        name=view.name,
        query=view.query,
        parameters=view.values,
        layout=view.layout,
        url=url,
        created_at=view.created_at,
        updated_at=view.updated_at,
    ).dump()
