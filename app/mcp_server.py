"""The MCP server: `list_images`, `image_facets`, `list_files`, `get_image`, `update_image`, `delete_image`,
`retry_file`, `list_trash`, `restore_file`, `create_upload_url`, `replace_image`, `list_versions`, `restore_version`,
`list_collections`, `create_collection`, `add_to_collection`, `tag_images`, `suggest_tags`, `list_views` and `run_view`
for AI assistants, through
`app.client` only."""

from __future__ import annotations

import inspect
import sys
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from app.client import FACT_FILTERS, ApiError, Client, Filter, Settings

INSTRUCTIONS = (
    "aeontel Images: images are files whose bytes are images, uploaded into a workspace's projects. "
    "An image is named by its file id (fil_…). There is no tool to create an image: uploading a file makes one. "
    "The token this server runs with sees exactly one workspace."
)


class PictureFacts(BaseModel):
    """Bytes, dimensions as displayed and format of an original or of its master."""

    size: int
    width: int
    height: int
    format: str


class Image(BaseModel):
    """The Image JSON of the aeontel API, compact: `exif`, `placeholder`, `cfImageId`, `workspaceId` and the rest
    of the API's fields pass through only when include_exif is true. One image (not a list) also carries `crops`:
    per crop preset {url, rect {x, y, width, height} in pixels or null, auto}."""

    model_config = ConfigDict(extra="allow")

    fileId: str = Field(description="The image's id: the id of the file it was made from.")
    projectId: str | None = None
    name: str | None = Field(None, description="The file's display name.")
    mimeType: str | None = None
    width: int | None = Field(
        None,
        description="Width in pixels as Images has it (the master's when a master was sent), EXIF orientation applied.",
    )
    height: int | None = Field(None, description="Height in pixels, as displayed.")
    size: int | None = Field(None, description="Bytes of the original.")
    format: str | None = None
    url: str | None = Field(
        None, description="The stable public URL: it always shows the current version (it follows replaces)."
    )
    versionedUrl: str | None = Field(None, description="This version's own URL, whose pixels never change.")
    version: int | None = Field(None, description="The number of the version delivered now.")
    altText: str | None = Field(None, description="Alt text; null when none (or when decorative).")
    decorative: bool = False
    focalPoint: dict[str, float] | None = Field(None, description="{x, y} from 0 to 1; null is the centre.")
    createdAt: str | None = None
    source: str | None = Field(
        None,
        description="What Images was sent: `original` (as uploaded) or `master` (derived "
        "because the original breaks Images' limits or format list).",
    )
    master: PictureFacts | None = Field(None, description="The master sent to Images; null when the original was.")
    original: PictureFacts | None = Field(None, description="The original as uploaded, kept unchanged.")
    tags: list[str] = Field(default_factory=list, description="Its tags.")
    collections: list[str] = Field(default_factory=list, description="The ids (col_…) of the collections it is in.")


class ImageList(BaseModel):
    """One page of images; with count=true also `total`, how many images match on all pages."""

    model_config = ConfigDict(extra="allow")

    object: str = "list"
    data: list[Image]
    has_more: bool = Field(description="Whether another page follows.")
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")


class FacetValue(BaseModel):
    value: str
    count: int


class ImageFacets(BaseModel):
    """Per facet its most frequent values with counts among the matching images."""

    model_config = ConfigDict(extra="allow")

    facets: dict[str, list[FacetValue]] = Field(
        description="camera, cameraMake, lens, orientation, colour, format, source, hasAltText."
    )
    total: int = Field(description="How many images match.")
    exact: bool = Field(description="false: the counts are estimates scaled from the first 5,000 matches.")


class FileImageState(BaseModel):
    """Where a file is on its way to becoming an image."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(
        description="processing | waiting (for the images service, retried automatically) | ready | failed"
    )
    error: dict[str, Any] | None = Field(None, description="{code, detail} when waiting or failed.")
    nextAttemptAt: str | None = Field(None, description="When a waiting image is tried next.")
    attempts: int = 0


class File(BaseModel):
    """The File JSON of the aeontel API (further fields pass through unchanged)."""

    model_config = ConfigDict(extra="allow")

    object: str = "file"
    id: str
    name: str | None = None
    status: str = Field(description="pending | ready | error (of the stored bytes).")
    image: FileImageState | None = Field(None, description="Null when the file is not an image.")


class Deleted(BaseModel):
    object: str = "image"
    fileId: str
    deleted: bool
    restorableUntil: str | None = Field(
        None, description="Until when restore_file brings it back; null when it was removed for good."
    )


class TrashedFile(File):
    """A file in the trash."""

    deletedAt: str = Field(description="When it was deleted.")
    purgeAfter: str = Field(description="When it is removed for good unless restored.")


class TrashList(BaseModel):
    """One page of the trash; with count=true also `total`."""

    model_config = ConfigDict(extra="allow")

    object: str = "list"
    data: list[TrashedFile]
    has_more: bool
    next_cursor: str | None


class FileList(BaseModel):
    """One page of files; with count=true also `total`, how many files match on all pages."""

    model_config = ConfigDict(extra="allow")

    object: str = "list"
    data: list[File]
    has_more: bool = Field(description="Whether another page follows.")
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")


class SimilarImage(BaseModel):
    distance: int = Field(description="How many of the 64 bits of the two perceptual hashes differ (0: look alike).")
    image: Image


class SimilarList(BaseModel):
    """Images near one image, nearest first."""

    object: str = "list"
    data: list[SimilarImage]


class DuplicateGroup(BaseModel):
    keep: str = Field(description="The suggested image to keep: the oldest of the group.")
    images: list[SimilarImage]


class DuplicateGroups(BaseModel):
    """One page of groups of near duplicates (a page may hold none and still have a next one)."""

    object: str = "list"
    data: list[DuplicateGroup]
    has_more: bool
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null when all was walked.")


class MergeResult(BaseModel):
    model_config = ConfigDict(extra="allow")

    kept: Image
    changed: dict[str, Any] = Field(description="What the kept image gained, as image.updated names it.")
    trashed: list[dict[str, Any]] = Field(description="{id, restorableUntil} of each file put in the trash.")


class Collection(BaseModel):
    """A named group of a project's images (flat; an image can be in any number)."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    projectId: str
    imageCount: int = Field(description="Its images that are not in the trash.")


class CollectionList(BaseModel):
    model_config = ConfigDict(extra="allow")

    data: list[Collection]


class CollectionChange(BaseModel):
    model_config = ConfigDict(extra="allow")

    collection: Collection
    changed: int = Field(description="Images new to the collection.")


class TagsChange(BaseModel):
    model_config = ConfigDict(extra="allow")

    changed: int = Field(description="Images that gained or lost a tag.")


class TagList(BaseModel):
    model_config = ConfigDict(extra="allow")

    data: list[dict[str, Any]] = Field(description="{name, useCount}, most used first.")


class UploadUrl(BaseModel):
    """A one-time upload URL: POST one file to uploadUrl before expiresAt."""

    model_config = ConfigDict(extra="allow")

    object: str = "upload_url"
    id: str
    uploadUrl: str = Field(description="POST the file here (multipart field `file`) with no credentials, once.")
    projectId: str
    maxBytes: int
    expiresAt: str


class FileVersion(BaseModel):
    """One version of an image's bytes (the API's FileVersion; further fields pass through)."""

    model_config = ConfigDict(extra="allow")
    object: str = "file_version"
    fileId: str
    number: int
    state: str = Field(
        description="pending (being processed; the current version serves) | current | previous | failed"
    )
    createdAt: str | None = None
    createdBy: str | None = Field(None, description="Who made it; null for the first upload.")
    width: int | None = None
    height: int | None = None
    size: int | None = None
    error: dict[str, Any] | None = Field(None, description="{code, message} when it failed.")


class FileVersionList(BaseModel):
    model_config = ConfigDict(extra="allow")
    object: str = "list"
    data: list[FileVersion] = Field(description="Newest first.")


FileId = Annotated[str, Field(description="The image's file id, e.g. fil_01J…", min_length=1, max_length=64)]
IncludeExif = Annotated[bool, Field(description="Include every EXIF tag (large); left out by default.")]
Sort = Literal["-created", "created", "-name", "name", "-size", "size", "-taken", "taken"]


def _fact(spec: Filter) -> Any:
    """The tool argument of one image-fact filter as `app.client` declares it."""
    kind = Literal[spec.choices] if spec.choices else spec.kind
    bounds = {"ge": 0, "le": spec.maximum} if spec.kind is int else {}
    return Annotated[kind | None, Field(description=spec.description, max_length=spec.max_length, **bounds)]


# The list tools' arguments, each declared once: the API's list parameters under the same names
# (tests/test_cross_face.py holds them to the engine's list of parameters). A tool names those it takes with `takes`.
FILTERS: dict[str, Any] = {
    "workspace_id": Annotated[str | None, Field(description="The workspace (ws_…); defaults to the token's own.")],
    "project_id": Annotated[str | None, Field(description="Only this project (prj_…).")],
    "q": Annotated[str | None, Field(description="Only those whose file name contains this text.", max_length=255)],
    "sort": Annotated[
        Sort | None,
        Field(
            description="Order: created (upload time), name, size or taken (date taken: EXIF, else the upload "
            "time); a leading '-' is descending. Newest first when left out."
        ),
    ],
    "status": Annotated[
        Literal["pending", "ready", "error"] | None, Field(description="Only files whose bytes are in this state.")
    ],
    "is_image": Annotated[
        bool | None, Field(description="true: only image files; false: only files that are no image.")
    ],
    "image_state": Annotated[
        Literal["ready", "processing", "failed"] | None,
        Field(description="Only image files whose image is ready, still processing, or failed."),
    ],
    "sha256": Annotated[
        str | None,
        Field(description="Only files with exactly these bytes (SHA-256, hex): ask before uploading a file."),
    ],
    **{spec.name: _fact(spec) for spec in FACT_FILTERS},
    "created_after": Annotated[str | None, Field(description="Only those uploaded after this ISO 8601 time.")],
    "created_before": Annotated[str | None, Field(description="Only those uploaded before this ISO 8601 time.")],
    "collection": Annotated[str | None, Field(description="Only those in this collection (col_…).")],
    "tag": Annotated[
        list[str] | None,
        Field(description="Only those carrying every one of these tags (any case).", max_length=10),
    ],
    "count": Annotated[bool, Field(description="Also answer `total`: how many match on all pages.")],
    "limit": Annotated[
        int | None, Field(description="Page size, 1 to 100; the API's default when left out.", ge=1, le=100)
    ],
    "cursor": Annotated[
        str | None, Field(description="next_cursor of the previous page; pass the same filters and sort with it.")
    ],
}
# What list_images, list_files and image_facets filter by (list_files adds the file states, the lists the paging):
# image_facets takes exactly these.
IMAGE_FILTERS = (
    "workspace_id",
    "project_id",
    "q",
    "sort",
    *(spec.name for spec in FACT_FILTERS),
    "created_after",
    "created_before",
    "collection",
    "tag",
)
PAGING = ("count", "limit", "cursor")


def takes(*names: str):
    """Gives a tool that gathers `**filters` these arguments of FILTERS after its own, so that its schema names each
    with its type and description; `count` is false and the others None when left out."""

    def decorate(func):
        own = inspect.signature(func, eval_str=True)
        kept = [param for param in own.parameters.values() if param.kind is not inspect.Parameter.VAR_KEYWORD]
        added = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=False if name == "count" else None,
                annotation=FILTERS[name],
            )
            for name in names
        ]
        func.__signature__ = own.replace(parameters=kept + added)
        return func

    return decorate


def paged(filters: dict) -> dict:
    """The filters as the client sends them: `count` only when asked for."""
    return {**filters, "count": filters.get("count") or None}


IdsArg = Annotated[
    list[str] | None, Field(description="Image file ids (fil_…); or give query instead.", max_length=10_000)
]
QueryArg = Annotated[
    dict[str, Any] | None,
    Field(
        description="Instead of ids: list_images's filters as an object (project_id, q, tag, collection, format, "
        "has_alt_text, created_after, created_before, sort): every image they match, on all pages."
    ),
]

# Fields an assistant rarely needs and that cost much of its context: left out unless asked for.
BULKY = ("exif", "placeholder", "requireSignedURLs", "cfImageId", "workspaceId", "object", "variants")


def compact(image: dict, include_exif: bool, crops: bool = True) -> dict:
    """The Image JSON without the bulky fields (a page of 50 full images is tens of kilobytes of context); a list
    leaves out the crops too (get_image has them)."""
    if include_exif:
        return image
    bulky = BULKY if crops else (*BULKY, "crops")
    return {key: value for key, value in image.items() if key not in bulky}


def strict(tool: Tool) -> Tool:
    """Refuses arguments the tool does not take, so a misspelt filter is an error and not a silently wrong answer."""
    base = tool.fn_metadata.arg_model
    tool.fn_metadata.arg_model = type(
        base.__name__, (base,), {"model_config": ConfigDict(**base.model_config, extra="forbid")}
    )
    tool.parameters = {**tool.parameters, "additionalProperties": False}
    return tool


def _call(func, *args, **kwargs):
    """An API error becomes a tool error the assistant can read (its detail and code), not a crash of the server."""
    try:
        return func(*args, **kwargs)
    except ApiError as exc:
        raise ToolError(f"{exc.detail} ({exc.code})") from None


def _list_images(client: Client):
    @takes(*IMAGE_FILTERS, *PAGING)
    def list_images(include_exif: IncludeExif = False, **filters) -> ImageList:
        page = _call(client.list_images, **paged(filters))
        return {**page, "data": [compact(image, include_exif, crops=False) for image in page["data"]]}

    return list_images


def _update_image(client: Client):
    def update_image(
        file_id: FileId,
        alt_text: Annotated[
            str | None,
            Field(
                description="Alt text describing the image for people who cannot "
                "see it (at most 1000 characters); empty removes it.",
                max_length=1000,
            ),
        ] = None,
        decorative: Annotated[
            bool | None,
            Field(description="true: the image is decoration and carries no alt text; false: it is content."),
        ] = None,
        focal_x: Annotated[
            float | None,
            Field(
                description="Focal point, 0 (left) to 1 (right); crops keep it in frame. Give focal_y too.", ge=0, le=1
            ),
        ] = None,
        focal_y: Annotated[float | None, Field(description="Focal point, 0 (top) to 1 (bottom).", ge=0, le=1)] = None,
        reset_focal_point: Annotated[bool, Field(description="true: crops centre the image again.")] = False,
        name: Annotated[
            str | None, Field(description="A new display name for the file.", min_length=1, max_length=255)
        ] = None,
    ) -> Image:
        changes = {
            key: value
            for key, value in (("altText", alt_text), ("decorative", decorative), ("name", name))
            if value is not None
        }
        if (focal_x is None) != (focal_y is None) or (reset_focal_point and focal_x is not None):
            raise ToolError("Give focal_x and focal_y together, or reset_focal_point alone.")
        if focal_x is not None:
            changes["focalPoint"] = {"x": focal_x, "y": focal_y}
        elif reset_focal_point:
            changes["focalPoint"] = None
        if not changes:
            raise ToolError(
                "Nothing to change: give alt_text, decorative, focal_x and focal_y, reset_focal_point or name."
            )
        return compact(_call(client.update_image, file_id, **changes), False)

    return update_image


def _organise_tools(client: Client) -> list:
    def list_collections(
        project_id: Annotated[str | None, Field(description="Only this project's collections (prj_…).")] = None,
    ) -> CollectionList:
        return _call(client.list_collections, project_id)

    def create_collection(
        project_id: Annotated[str, Field(description="The project (prj_…) it belongs to.", min_length=1)],
        name: Annotated[str, Field(description="Its name, unique in the project in any case.", min_length=1)],
    ) -> Collection:
        return _call(client.create_collection, project_id, name)

    def add_to_collection(
        collection_id: Annotated[str, Field(description="The collection (col_…).", min_length=1)],
        ids: IdsArg = None,
        query: QueryArg = None,
    ) -> CollectionChange:
        if (ids is None) == (query is None):
            raise ToolError("Give ids or query, not both.")
        return _call(client.add_to_collection, collection_id, ids=ids, query=query)

    def tag_images(
        ids: IdsArg = None,
        query: QueryArg = None,
        add: Annotated[list[str] | None, Field(description="Tags to add.", max_length=50)] = None,
        remove: Annotated[list[str] | None, Field(description="Tags to remove.", max_length=50)] = None,
    ) -> TagsChange:
        if (ids is None) == (query is None):
            raise ToolError("Give ids or query, not both.")
        if not add and not remove:
            raise ToolError("Give at least one tag to add or remove.")
        return _call(client.change_tags, ids=ids, query=query, add=add, remove=remove)

    def suggest_tags(
        prefix: Annotated[str | None, Field(description="The start of the tag, any case.", max_length=64)] = None,
    ) -> TagList:
        return _call(client.suggest_tags, prefix)

    return [list_collections, create_collection, add_to_collection, tag_images, suggest_tags]


def _one_image_tools(client: Client) -> list:
    def get_image(file_id: FileId, include_exif: IncludeExif = False) -> Image:
        return compact(_call(client.get_image, file_id), include_exif)

    def set_crop(
        file_id: FileId,
        preset: Annotated[str, Field(description="The workspace's crop preset, e.g. hero, card or social.")],
        x: Annotated[int | None, Field(description="Left edge in the image's pixels.", ge=0)] = None,
        y: Annotated[int | None, Field(description="Top edge in pixels.", ge=0)] = None,
        width: Annotated[int | None, Field(description="Width in pixels, of the preset's ratio.", ge=1)] = None,
        height: Annotated[int | None, Field(description="Height in pixels.", ge=1)] = None,
        automatic: Annotated[bool, Field(description="true: clear the stored crop (back to automatic).")] = False,
    ) -> Image:
        rect = {"x": x, "y": y, "width": width, "height": height}
        given = [value is not None for value in rect.values()]
        if automatic == any(given) or (any(given) and not all(given)):
            raise ToolError("Give x, y, width and height together, or automatic=true alone.")
        return compact(_call(client.update_image, file_id, crops={preset: None if automatic else rect}), False)

    def delete_image(
        file_id: FileId,
        permanent: Annotated[bool, Field(description="Remove for good instead of moving to the trash.")] = False,
    ) -> Deleted:
        return _call(client.delete_image, file_id, permanent=permanent)

    return [get_image, set_crop, delete_image]


def _list_files(client: Client):
    @takes(*IMAGE_FILTERS[:4], "status", "is_image", "image_state", "sha256", *IMAGE_FILTERS[4:], *PAGING)
    def list_files(**filters) -> FileList:
        return _call(client.list_files, **paged(filters))

    return list_files


def _image_facets(client: Client):
    # list_images's filters without its paging, as the engine's facet parameters are (`sort` changes no count, but is
    # taken so a list's arguments can be passed as they are); tests/test_cross_face.py holds them to the engine's.
    @takes(*IMAGE_FILTERS)
    def image_facets(**filters) -> ImageFacets:
        return _call(client.image_facets, **filters)

    return image_facets


def _file_tools(client: Client) -> list:
    @takes("workspace_id", "project_id", "q", "sort", "is_image", "created_after", "created_before", *PAGING)
    def list_trash(**filters) -> TrashList:
        return _call(client.list_trash, **paged(filters))

    def restore_file(file_id: FileId) -> File:
        return _call(client.restore_file, file_id)

    def retry_file(file_id: FileId) -> File:
        return _call(client.retry_file, file_id)

    def create_upload_url(
        project_id: Annotated[str, Field(description="The project the file goes to (prj_…).", min_length=1)],
        max_bytes: Annotated[
            int | None, Field(description="Largest file accepted; the server's limit by default.", ge=1)
        ] = None,
        expires_in: Annotated[
            int | None, Field(description="Seconds the URL stays usable, 30 to 3600 (300).", ge=30, le=3600)
        ] = None,
        alt_text: Annotated[str | None, Field(description="Alt text for the image.", max_length=1000)] = None,
    ) -> UploadUrl:
        return _call(
            client.create_upload_url, project_id, max_bytes=max_bytes, expires_in=expires_in, alt_text=alt_text
        )

    def import_file_from_url(
        url: Annotated[str, Field(description="The file's http(s) address.", min_length=1, max_length=2048)],
        project_id: Annotated[str, Field(description="The project the file goes to (prj_…).", min_length=1)],
    ) -> File:
        return _call(client.import_url, url, project_id)

    return [list_trash, restore_file, retry_file, create_upload_url, import_file_from_url]


class SavedView(BaseModel):
    """A saved view: a name for a project's filters, search and sort (list parameters as a query string)."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="The view's id (viw_…).")
    projectId: str
    name: str
    query: str = Field(description="The list parameters, e.g. `has_alt_text=false&sort=-size`.")
    layout: str = Field(description="How the gallery shows it: grid or table.")
    url: str = Field(description="The view in the gallery; anyone in the workspace can open it.")


class SavedViewList(BaseModel):
    """The token's saved views, by name."""

    model_config = ConfigDict(extra="allow")

    object: str = "list"
    data: list[SavedView]


ViewId = Annotated[str, Field(description="The saved view's id (viw_…).", min_length=1, max_length=32)]


def _view_tools(client: Client) -> list:
    def list_views(
        project_id: Annotated[str | None, Field(description="Only this project's views (prj_…).")] = None,
    ) -> SavedViewList:
        return _call(client.list_views, project_id=project_id)

    @takes(*PAGING)
    def run_view(view_id: ViewId, include_exif: IncludeExif = False, **paging) -> ImageList:
        page = _call(client.run_view, view_id, **paged(paging))
        return {**page, "data": [compact(image, include_exif, crops=False) for image in page["data"]]}

    return [list_views, run_view]


def _version_tools(client: Client) -> list:
    def replace_image(
        file_id: FileId,
        path: Annotated[
            str, Field(description="A local image file (on this machine) with the new bytes.", min_length=1)
        ],
        name: Annotated[
            str | None, Field(description="Rename the file once the new version is current.", max_length=255)
        ] = None,
    ) -> FileVersion:
        return _call(client.replace_file, file_id, path, name=name)

    def list_versions(file_id: FileId) -> FileVersionList:
        return _call(client.list_versions, file_id)

    def restore_version(
        file_id: FileId, number: Annotated[int, Field(description="The version to bring back.", ge=1)]
    ) -> FileVersion:
        return _call(client.restore_version, file_id, number)

    return [replace_image, list_versions, restore_version]


READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)
# What each tool tells the assistant: its title, its description and the hints of MCP's tool annotations.
TOOLS = {
    "list_images": dict(
        title="List images",
        annotations=READ_ONLY,
        description=(
            "List the images of the workspace, newest first unless `sort` says otherwise, one page at a time. "
            "Filter by project_id, q (name or alt text contains, any case and accents), camera, camera_make, lens, "
            "taken_after/taken_before, orientation, min/max_width/height, min/max_size, source, colour, format, "
            "has_alt_text (false: still to describe), created_after/created_before, collection (col_…), tag (a "
            "list: images carrying every one); filters combine with AND. "
            "When has_more is true, call again with cursor=next_cursor and the same filters for the next page. "
            "EXIF and crops are left out unless include_exif is true (get_image lists the crops)."
        ),
    ),
    "image_facets": dict(
        title="Count images by facet",
        annotations=READ_ONLY,
        description=(
            "For the images matching the same filters as list_images (its arguments but count, limit, cursor and "
            "include_exif; sort is taken and changes no count), each facet's most frequent values with counts: "
            "camera, cameraMake, lens, orientation, colour, format, source, hasAltText (e.g. to answer 'which "
            "cameras took our portraits'). `exact` is false when the counts are estimates (over 5,000 matches). "
            "Narrow a list by a value with the filter of the same name."
        ),
    ),
    "list_files": dict(
        title="List files",
        annotations=READ_ONLY,
        description=(
            "List the files of the workspace (images and other files), newest first unless `sort` says otherwise, "
            "one page at a time. Filter by project_id, q (name contains), status (of the bytes), is_image, "
            "image_state (ready, processing, failed), sha256 (exact bytes), the image facts of list_images, collection, "
            "tag, created_after/created_before. When has_more is true, call "
            "again with cursor=next_cursor and the same filters."
        ),
    ),
    "get_image": dict(
        title="Get an image",
        annotations=READ_ONLY,
        description=(
            "Get one image by its file id: name, dimensions, size, alt text, focal point, public and variant "
            "delivery URLs, and crops (per crop preset: url, rect in pixels or null, auto); its EXIF tags only "
            "with include_exif."
        ),
    ),
    "update_image": dict(
        title="Edit an image",
        description=(
            "Change an image's alt text, decorative flag, focal point or display name; only what is given changes. "
            "Alt text on a decorative image makes it content; decorative=true removes the alt text."
        ),
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
        ),
    ),
    "set_crop": dict(
        title="Set an image's crop",
        description=(
            "Store the rectangle an image uses for one of the workspace's crop presets (x, y, width, height in the "
            "image's pixels, of the preset's aspect ratio), or clear it with automatic=true. get_image lists every "
            "preset's crop with its delivery URL."
        ),
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
        ),
    ),
    "delete_image": dict(
        title="Delete an image",
        description=(
            "Delete an image by its file id (also one still being processed): it and its file disappear from every "
            "list at once and its CDN copy is removed, but the file goes to the workspace's trash until "
            "restorableUntil, from where restore_file brings it back at the same URL. permanent=true removes it for "
            "good (bytes included), which cannot be undone."
        ),
        annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False),
    ),
    "list_trash": dict(
        title="List the trash",
        annotations=READ_ONLY,
        description=(
            "List deleted files still in the workspace's trash, with when each is removed for good (purgeAfter). "
            "Filter and sort as list_files does; follow next_cursor with the same filters for more."
        ),
    ),
    "restore_file": dict(
        title="Restore a file from the trash",
        description=(
            "Bring a deleted file back from the trash by its id; an image is made again under the same id and public "
            "delivery URL (status processing until it is ready). Fails when it is not in the trash."
        ),
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False
        ),
    ),
    "retry_file": dict(
        title="Retry an image",
        description=(
            "Retry making the image of a file whose image failed for a passing reason (it starts afresh), or try one "
            "that is waiting for the images service now instead of after its backoff. Fails when the file is neither "
            "failed nor waiting, or failed for good (damaged, not an image, too large)."
        ),
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
        ),
    ),
    "similar_images": dict(
        title="Find similar images",
        annotations=READ_ONLY,
        description=(
            "Find the workspace's near duplicates of an image (the same photo resized, recompressed, re-exported or "
            "slightly cropped) by perceptual hash, nearest first; distance is how many of 64 bits differ."
        ),
    ),
    "list_duplicates": dict(
        title="List groups of duplicates",
        annotations=READ_ONLY,
        description=(
            "List groups of near-duplicate images, each under its oldest image (keep, the suggestion). A page may "
            "hold no group and still have more: follow next_cursor until it is null."
        ),
    ),
    "merge_duplicates": dict(
        title="Merge duplicates",
        description=(
            "Keep one image and move the others to the trash (restore_file undoes it); the kept image takes their alt "
            "text and focal point where it has none, their tags, and their collections of its project."
        ),
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=True, idempotentHint=False, openWorldHint=False
        ),
    ),
    "import_file_from_url": dict(
        title="Import a file from a URL",
        description=(
            "The server fetches the file at url (public addresses only, every redirect checked, within the upload "
            "size and time limits) and stores it in project_id like an upload; an image file becomes an image. A "
            "failure says why: url_address_refused, url_not_found, file_too_large, url_timed_out, url_fetch_failed."
        ),
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=True
        ),
    ),
    "create_upload_url": dict(
        title="Create a one-time upload URL",
        description=(
            "Make a URL that accepts exactly one file (multipart field `file`, no credentials) within expires_in "
            "seconds and max_bytes; the file goes into project_id and becomes an image if it is one. Give the URL "
            "to whoever should upload; its secret is shown only in this answer."
        ),
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False
        ),
    ),
    "replace_image": dict(
        title="Replace an image's bytes",
        description=(
            "Replace an image's bytes with a local file: they become its next version under the same file id and "
            "stable url; alt text, focal point, crops and every other field stay. Answers the version, pending until "
            "the worker has it ready (the current version serves meanwhile); list_versions says when it is current "
            "or why it failed."
        ),
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False
        ),
    ),
    "list_versions": dict(
        title="List an image's versions",
        annotations=READ_ONLY,
        description="List an image's versions, newest first: number, state, when, who, size and dimensions.",
    ),
    "restore_version": dict(
        title="Restore an old version",
        description=(
            "Make an old version of an image current again; it becomes a new version (nothing in the history is "
            "lost), pending until it is ready."
        ),
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False
        ),
    ),
    "list_collections": dict(
        title="List collections",
        annotations=READ_ONLY,
        description="List the workspace's collections (or one project's) by name: id, name, projectId, imageCount.",
    ),
    "create_collection": dict(
        title="Create a collection",
        description="Create an empty, named collection in a project; names are unique in a project in any case.",
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False
        ),
    ),
    "add_to_collection": dict(
        title="Add images to a collection",
        description=(
            "Add images to a collection by their ids, or every image a query of list_images's filters matches (e.g. "
            '{"tag": ["team"], "has_alt_text": false}); images of other projects are skipped.'
        ),
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
        ),
    ),
    "tag_images": dict(
        title="Tag images",
        description=(
            "Add and remove tags (free text, any case) on images by their ids, or on every image a query of "
            "list_images's filters matches. Tags are the workspace's; suggest_tags lists the ones in use."
        ),
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
        ),
    ),
    "suggest_tags": dict(
        title="Suggest tags",
        annotations=READ_ONLY,
        description="The workspace's tags starting with prefix (any case), most used first, with how many images.",
    ),
    "list_views": dict(
        title="List saved views",
        annotations=READ_ONLY,
        description=(
            "List the saved views of this token (a named project query such as 'Missing alt text'): id, name, "
            "query (list parameters), layout and the gallery URL. run_view lists a view's images."
        ),
    ),
    "run_view": dict(
        title="Run a saved view",
        annotations=READ_ONLY,
        description=(
            "List the images of a saved view by its id (any view of the workspace, also one shared by someone else), "
            "in the view's sort with its filters, one page at a time; follow next_cursor with the same view_id."
        ),
    ),
}


def _duplicate_tools(client: Client) -> list:
    def similar_images(
        file_id: FileId,
        threshold: Annotated[
            int | None, Field(description="At most this many differing bits, 0 to 12 (default 12).", ge=0, le=12)
        ] = None,
        limit: Annotated[int | None, Field(description="How many, 1 to 50 (default 20).", ge=1, le=50)] = None,
    ) -> SimilarList:
        found = _call(client.similar_images, file_id, threshold, limit)
        return {**found, "data": [{**n, "image": compact(n["image"], False, crops=False)} for n in found["data"]]}

    def list_duplicates(
        project_id: Annotated[str | None, Field(description="Only this project's images (prj_…).")] = None,
        cursor: Annotated[str | None, Field(description="next_cursor of the previous page.")] = None,
    ) -> DuplicateGroups:
        page = _call(client.list_duplicates, project_id, cursor)
        for group in page["data"]:
            group["images"] = [{**n, "image": compact(n["image"], False, crops=False)} for n in group["images"]]
        return page

    def merge_duplicates(
        keep: Annotated[str, Field(description="The image to keep (fil_…).")],
        merge: Annotated[
            list[str], Field(description="The images merged into it, 1 to 50.", min_length=1, max_length=50)
        ],
    ) -> MergeResult:
        merged = _call(client.merge_duplicates, keep, merge)
        return {**merged, "kept": compact(merged["kept"], False)}

    return [similar_images, list_duplicates, merge_duplicates]


def build_server(client: Client) -> MCPServer:
    """The MCP server over one API client: every tool calls the API, so it is held to the same permissions."""
    functions = [_list_images(client), _image_facets(client), _list_files(client), *_one_image_tools(client)]
    functions.append(_update_image(client))
    functions += _file_tools(client) + _duplicate_tools(client) + _version_tools(client)
    functions += _organise_tools(client) + _view_tools(client)
    functions.sort(key=lambda func: list(TOOLS).index(func.__name__))
    tools = [Tool.from_function(func, **TOOLS[func.__name__]) for func in functions]
    return MCPServer(
        "aeontel-images",
        title="aeontel Images",
        version=_version(),
        instructions=INSTRUCTIONS,
        log_level="WARNING",
        tools=[strict(tool) for tool in tools],
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aeontel")
    except PackageNotFoundError:
        return "0"


def serve(settings: Settings, http: bool = False, host: str = "127.0.0.1", port: int = 8765) -> None:
    with Client.from_settings(settings) as client:
        server = build_server(client)
        if http:
            print(
                f"aeontel MCP server: http://{host}:{port}/mcp (streamable HTTP) for {settings.api_url}",
                file=sys.stderr,
                flush=True,
            )
            server.run("streamable-http", host=host, port=port)
        else:
            server.run("stdio")
