"""JSON shapes of the API's objects, one function each, shared by every face of the product."""

from __future__ import annotations

from flask import url_for

from app.domain.common import isoformat
from app.domain.files import File
from app.domain.image_edits import focal_point
from app.domain.image_status import ImageStatus, statuses
from app.domain.images import NAMED_VARIANTS, Image, delivery_url


def file_json(file: File, image_status: ImageStatus | None | bool = True) -> dict:
    """`image_status` is looked up when not given (lists look theirs up in one go with `statuses`)."""
    if image_status is True:
        image_status = statuses([file])[file.id]
    return {
        "object": "file",
        "id": file.id,
        "workspaceId": file.workspace_id,
        "projectId": file.project_id,
        "name": file.name,
        "mimeType": file.mime_type,
        "size": file.size,
        "sha256": file.sha256,
        "status": file.status,
        "error": {"code": file.error_code, "message": file.error_message} if file.status == "error" else None,
        "isImage": file.is_image,
        "createdAt": isoformat(file.created_at),
        "updatedAt": isoformat(file.updated_at),
        "contentUrl": url_for("api.file_content", file_id=file.id, _external=True),
        "image": image_status.as_json() if image_status else None,
    }


def image_json(image: Image, file: File) -> dict:
    """The one Image shape: the API, the CLI, the MCP server and the gallery all use this."""
    return {
        "object": "image",
        "fileId": image.file_id,
        "cfImageId": image.cf_image_id,
        "workspaceId": image.workspace_id,
        "projectId": file.project_id,
        "name": file.name,
        "mimeType": file.mime_type,
        "width": image.width,
        "height": image.height,
        "size": image.size,
        "format": image.format,
        "exif": image.exif or {},
        "url": delivery_url(image, "public"),
        "variants": {name: delivery_url(image, name) for name in NAMED_VARIANTS},
        "requireSignedURLs": image.require_signed_urls,
        "placeholder": {"blurhash": image.placeholder, "dominantColor": image.dominant_color},
        "altText": image.alt_text,
        "decorative": image.decorative,
        "focalPoint": focal_point(image),
        "createdAt": isoformat(image.created_at),
    }


def list_json(items: list[dict], next_cursor: str | None, total: int | None = None) -> dict:
    page = {"object": "list", "data": items, "has_more": next_cursor is not None, "next_cursor": next_cursor}
    if total is not None:
        page["total"] = total
    return page
