"""The MCP server: `list_images`, `get_image`, `update_image`, `delete_image`, `retry_file`, `list_trash`,
`restore_file` and `create_upload_url` for AI assistants, through `app.client` only."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from app.client import ApiError, Client, Settings

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
    of the API's fields pass through only when include_exif is true."""

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
    url: str | None = Field(None, description="The public delivery URL.")
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


class ImageList(BaseModel):
    """One page of images; with count=true also `total`, how many images match on all pages."""

    model_config = ConfigDict(extra="allow")

    object: str = "list"
    data: list[Image]
    has_more: bool = Field(description="Whether another page follows.")
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")


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
    """One page of the trash."""

    object: str = "list"
    data: list[TrashedFile]
    has_more: bool
    next_cursor: str | None


class UploadUrl(BaseModel):
    """A one-time upload URL: POST one file to uploadUrl before expiresAt."""

    model_config = ConfigDict(extra="allow")

    object: str = "upload_url"
    id: str
    uploadUrl: str = Field(description="POST the file here (multipart field `file`) with no credentials, once.")
    projectId: str
    maxBytes: int
    expiresAt: str


FileId = Annotated[str, Field(description="The image's file id, e.g. fil_01J…", min_length=1, max_length=64)]
IncludeExif = Annotated[bool, Field(description="Include every EXIF tag (large); left out by default.")]
Sort = Literal["-created", "created", "-name", "name", "-size", "size"]
# Fields an assistant rarely needs and that cost much of its context: left out unless asked for.
BULKY = ("exif", "placeholder", "requireSignedURLs", "cfImageId", "workspaceId", "object", "variants")


def compact(image: dict, include_exif: bool) -> dict:
    """The Image JSON without the bulky fields (a page of 50 full images is tens of kilobytes of context)."""
    if include_exif:
        return image
    return {key: value for key, value in image.items() if key not in BULKY}


def strict(tool: Tool) -> Tool:
    """Refuses arguments the tool does not take, so a misspelt filter is an error and not a silently wrong answer."""
    base = tool.fn_metadata.arg_model
    tool.fn_metadata.arg_model = type(
        base.__name__, (base,), {"model_config": ConfigDict(**base.model_config, extra="forbid")}
    )
    tool.parameters = {**tool.parameters, "additionalProperties": False}
    return tool


def build_server(client: Client) -> MCPServer:
    def call(func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ApiError as exc:
            raise ToolError(f"{exc.detail} ({exc.code})") from None

    def list_images(
        workspace_id: Annotated[
            str | None, Field(description="The workspace (ws_…); defaults to the token's own.")
        ] = None,
        project_id: Annotated[str | None, Field(description="Only images in this project (prj_…).")] = None,
        q: Annotated[
            str | None, Field(description="Only images whose file name contains this text.", max_length=255)
        ] = None,
        sort: Annotated[
            Sort | None,
            Field(
                description="Order: created (upload time), name or size; a leading '-' "
                "is descending. Newest first when left out."
            ),
        ] = None,
        format: Annotated[
            str | None, Field(description="Only this image format: jpeg, png, webp, gif, svg, …", max_length=16)
        ] = None,
        has_alt_text: Annotated[
            bool | None,
            Field(
                description="true: images with alt text; false: images still to describe (no alt text, not decorative)."
            ),
        ] = None,
        created_after: Annotated[
            str | None, Field(description="Only images uploaded after this ISO 8601 time.")
        ] = None,
        created_before: Annotated[
            str | None, Field(description="Only images uploaded before this ISO 8601 time.")
        ] = None,
        count: Annotated[bool, Field(description="Also answer `total`: how many images match on all pages.")] = False,
        limit: Annotated[
            int | None, Field(description="Page size, 1 to 100; the API's default when left out.", ge=1, le=100)
        ] = None,
        cursor: Annotated[
            str | None, Field(description="next_cursor of the previous page; pass the same filters and sort with it.")
        ] = None,
        include_exif: IncludeExif = False,
    ) -> ImageList:
        page = call(
            client.list_images,
            workspace_id=workspace_id,
            project_id=project_id,
            q=q,
            limit=limit,
            cursor=cursor,
            sort=sort,
            format=format,
            has_alt_text=has_alt_text,
            created_after=created_after,
            created_before=created_before,
            count=count or None,
        )
        return {**page, "data": [compact(image, include_exif) for image in page["data"]]}

    def get_image(file_id: FileId, include_exif: IncludeExif = False) -> Image:
        return compact(call(client.get_image, file_id), include_exif)

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
        return compact(call(client.update_image, file_id, **changes), False)

    def delete_image(
        file_id: FileId,
        permanent: Annotated[bool, Field(description="Remove for good instead of moving to the trash.")] = False,
    ) -> Deleted:
        return call(client.delete_image, file_id, permanent=permanent)

    def list_trash(
        project_id: Annotated[str | None, Field(description="Only this project's trash (prj_…).")] = None,
        limit: Annotated[int | None, Field(description="Page size, 1 to 100.", ge=1, le=100)] = None,
        cursor: Annotated[str | None, Field(description="next_cursor of the previous page.")] = None,
    ) -> TrashList:
        return call(client.list_trash, project_id=project_id, limit=limit, cursor=cursor)

    def restore_file(file_id: FileId) -> File:
        return call(client.restore_file, file_id)

    def retry_file(file_id: FileId) -> File:
        return call(client.retry_file, file_id)

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
        return call(client.create_upload_url, project_id, max_bytes=max_bytes, expires_in=expires_in, alt_text=alt_text)

    read_only = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)
    tools = [
        Tool.from_function(
            list_images,
            title="List images",
            annotations=read_only,
            description=(
                "List the images of the workspace, newest first unless `sort` says otherwise, one page at a time. "
                "Filter by project_id, q (name contains), format, has_alt_text, created_after/created_before. "
                "When has_more is true, call again with cursor=next_cursor and the same filters for the next page. "
                "EXIF is left out unless include_exif is true."
            ),
        ),
        Tool.from_function(
            get_image,
            title="Get an image",
            annotations=read_only,
            description=(
                "Get one image by its file id: name, dimensions, size, alt text, focal point, public and variant "
                "delivery URLs; its EXIF tags only with include_exif."
            ),
        ),
        Tool.from_function(
            update_image,
            title="Edit an image",
            description=(
                "Change an image's alt text, decorative flag, focal point or display name; only what is given changes. "
                "Alt text on a decorative image makes it content; decorative=true removes the alt text."
            ),
            annotations=ToolAnnotations(
                readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
            ),
        ),
        Tool.from_function(
            delete_image,
            title="Delete an image",
            description=(
                "Delete an image by its file id (also one still being processed): it and its file disappear from every "
                "list at once and its CDN copy is removed, but the file goes to the workspace's trash until "
                "restorableUntil, from where restore_file brings it back at the same URL. permanent=true removes it for "
                "good (bytes included), which cannot be undone."
            ),
            annotations=ToolAnnotations(
                readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False
            ),
        ),
        Tool.from_function(
            list_trash,
            title="List the trash",
            annotations=read_only,
            description=(
                "List deleted files still in the workspace's trash, with when each is removed for good (purgeAfter). "
                "Filter by project_id; follow next_cursor for more."
            ),
        ),
        Tool.from_function(
            restore_file,
            title="Restore a file from the trash",
            description=(
                "Bring a deleted file back from the trash by its id; an image is made again under the same id and public "
                "delivery URL (status processing until it is ready). Fails when it is not in the trash."
            ),
            annotations=ToolAnnotations(
                readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False
            ),
        ),
        Tool.from_function(
            retry_file,
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
        Tool.from_function(
            create_upload_url,
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
    ]
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
