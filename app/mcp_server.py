"""The MCP server: `list_images`, `get_image`, `delete_image`, `retry_file`, `list_trash`, `restore_file` and
`create_upload_url` for AI assistants, through `app.client` only."""

from __future__ import annotations

import sys
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
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
    """The Image JSON of the aeontel API (further fields pass through unchanged)."""

    model_config = ConfigDict(extra="allow")

    object: str = "image"
    fileId: str = Field(description="The image's id: the id of the file it was made from.")
    cfImageId: str | None = Field(None, description="The id of the copy in Cloudflare Images.")
    workspaceId: str
    projectId: str | None = None
    name: str | None = Field(None, description="The file's display name.")
    mimeType: str | None = None
    width: int | None = Field(None, description="Width in pixels as Images has it (the master's when a master was "
                                                "sent), EXIF orientation applied.")
    height: int | None = Field(None, description="Height in pixels, as displayed.")
    size: int | None = Field(None, description="Bytes of the original.")
    format: str | None = None
    exif: dict[str, Any] = Field(default_factory=dict)
    url: str | None = Field(None, description="The public delivery URL.")
    variants: dict[str, str] = Field(default_factory=dict, description="Delivery URL of each named variant.")
    createdAt: str | None = None
    source: str | None = Field(None, description="What Images was sent: `original` (as uploaded) or `master` (derived "
                                                 "because the original breaks Images' limits or format list).")
    master: PictureFacts | None = Field(None, description="The master sent to Images; null when the original was.")
    original: PictureFacts | None = Field(None, description="The original as uploaded, kept unchanged.")


class ImageList(BaseModel):
    """One page of images, newest first."""

    object: str = "list"
    data: list[Image]
    has_more: bool = Field(description="Whether another page follows.")
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")


class FileImageState(BaseModel):
    """Where a file is on its way to becoming an image."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(description="processing | waiting (for the images service, retried automatically) | ready | "
                                    "failed")
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
    restorableUntil: str | None = Field(None, description="Until when restore_file brings it back; null when it was "
                                                          "removed for good.")


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


def build_server(client: Client) -> MCPServer:
    server = MCPServer("aeontel-images", title="aeontel Images", version=_version(), instructions=INSTRUCTIONS,
                       log_level="WARNING")

    def call(func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ApiError as exc:
            raise ToolError(f"{exc.detail} ({exc.code})") from None

    @server.tool(
        title="List images",
        description=(
            "List the images of the workspace, newest first, one page at a time. Filter by project_id. "
            "When has_more is true, call again with cursor=next_cursor for the next page."),
        annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False),
    )
    def list_images(
        workspace_id: Annotated[str | None, Field(description="The workspace (ws_…); defaults to the token's own.")] = None,
        project_id: Annotated[str | None, Field(description="Only images in this project (prj_…).")] = None,
        limit: Annotated[int | None, Field(description="Page size, 1 to 100; the API's default when left out.",
                                           ge=1, le=100)] = None,
        cursor: Annotated[str | None, Field(description="next_cursor of the previous page.")] = None,
    ) -> ImageList:
        return call(client.list_images, workspace_id=workspace_id, project_id=project_id, limit=limit, cursor=cursor)

    @server.tool(
        title="Get an image",
        description="Get one image by its file id: name, dimensions, size, EXIF, public and variant delivery URLs.",
        annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False),
    )
    def get_image(file_id: FileId) -> Image:
        return call(client.get_image, file_id)

    @server.tool(
        title="Delete an image",
        description=(
            "Delete an image by its file id: it and its file disappear from every list at once and its CDN copy is "
            "removed, but the file goes to the workspace's trash until restorableUntil, from where restore_file "
            "brings it back at the same URL. permanent=true removes it for good (bytes included), which cannot be "
            "undone."),
        annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False),
    )
    def delete_image(
        file_id: FileId,
        permanent: Annotated[bool, Field(description="Remove for good instead of moving to the trash.")] = False,
    ) -> Deleted:
        return call(client.delete_image, file_id, permanent=permanent)

    @server.tool(
        title="List the trash",
        description="List deleted files still in the workspace's trash, with when each is removed for good "
                    "(purgeAfter). Filter by project_id; follow next_cursor for more.",
        annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False),
    )
    def list_trash(
        project_id: Annotated[str | None, Field(description="Only this project's trash (prj_…).")] = None,
        limit: Annotated[int | None, Field(description="Page size, 1 to 100.", ge=1, le=100)] = None,
        cursor: Annotated[str | None, Field(description="next_cursor of the previous page.")] = None,
    ) -> TrashList:
        return call(client.list_trash, project_id=project_id, limit=limit, cursor=cursor)

    @server.tool(
        title="Restore a file from the trash",
        description="Bring a deleted file back from the trash by its id; an image is made again under the same id "
                    "and public delivery URL (status processing until it is ready). Fails when it is not in the trash.",
        annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False,
                                    openWorldHint=False),
    )
    def restore_file(file_id: FileId) -> File:
        return call(client.restore_file, file_id)

    @server.tool(
        title="Retry an image",
        description=(
            "Retry making the image of a file whose image failed (it starts afresh), or try one that is waiting for "
            "the images service now instead of after its backoff. Fails when the file is neither failed nor waiting."),
        annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False),
    )
    def retry_file(file_id: FileId) -> File:
        return call(client.retry_file, file_id)

    @server.tool(
        title="Create a one-time upload URL",
        description=(
            "Make a URL that accepts exactly one file (multipart field `file`, no credentials) within expires_in "
            "seconds and max_bytes; the file goes into project_id and becomes an image if it is one. Give the URL "
            "to whoever should upload; its secret is shown only in this answer."),
        annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False,
                                    openWorldHint=False),
    )
    def create_upload_url(
        project_id: Annotated[str, Field(description="The project the file goes to (prj_…).", min_length=1)],
        max_bytes: Annotated[int | None, Field(description="Largest file accepted; the server's limit by default.",
                                               ge=1)] = None,
        expires_in: Annotated[int | None, Field(description="Seconds the URL stays usable, 30 to 3600 (300).",
                                                ge=30, le=3600)] = None,
        alt_text: Annotated[str | None, Field(description="Alt text for the image.", max_length=1000)] = None,
    ) -> UploadUrl:
        return call(client.create_upload_url, project_id, max_bytes=max_bytes, expires_in=expires_in,
                    alt_text=alt_text)

    return server


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
            print(f"aeontel MCP server: http://{host}:{port}/mcp (streamable HTTP) for {settings.api_url}",
                  file=sys.stderr, flush=True)
            server.run("streamable-http", host=host, port=port)
        else:
            server.run("stdio")
