"""JSON shapes of the product's objects, kept below every face so the API, the gallery, CLI and MCP share one."""

from __future__ import annotations

from flask import url_for

from app.domain.common import isoformat
from app.domain.failures import retryable
from app.domain.files import File
from app.domain.image_edits import focal_point
from app.domain.image_status import image_state
from app.domain.images import NAMED_VARIANTS, Image, delivery_url


def file_json(file: File) -> dict:
    """A list first loads its page's provisioning and image rows in one go (`image_status.preload`)."""
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
        "error": {"code": file.error_code, "message": file.error_message, "retryable": retryable(file.error_code)}
        if file.status == "error"
        else None,
        "isImage": file.is_image,
        # null for a file that is not an image; else where it is on its way: processing | waiting | ready | failed.
        "image": image_state(file) if file.deleted_at is None else None,
        "createdAt": isoformat(file.created_at),
        "updatedAt": isoformat(file.updated_at),
        "contentUrl": url_for("api.file_content", file_id=file.id, _external=True),
    }


def trashed_file_json(file: File) -> dict:
    """A file in the trash: the file as it was, when it was deleted and until when it can be restored."""
    return {**file_json(file), "deletedAt": isoformat(file.deleted_at), "purgeAfter": isoformat(file.purge_after)}


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
        **sent_json(image),
    }


def sent_json(image: Image) -> dict:
    """What Images was sent: the original as uploaded, or a master derived from it; the original is kept unchanged."""
    master = None
    if image.source == "master":
        master = {
            "size": image.master_size,
            "width": image.master_width,
            "height": image.master_height,
            "format": image.master_format,
        }
    return {
        "source": image.source or "original",
        "master": master,
        "original": {
            "size": image.size,
            "width": image.original_width or image.width,
            "height": image.original_height or image.height,
            "format": image.format,
        },
    }


def list_json(items: list[dict], next_cursor: str | None, total: int | None = None) -> dict:
    page = {"object": "list", "data": items, "has_more": next_cursor is not None, "next_cursor": next_cursor}
    if total is not None:
        page["total"] = total
    return page


def webhook_json(endpoint, secret: str | None = None) -> dict:
    """A webhook endpoint; `secret` only in the answers that create or rotate it (and GET …/secret)."""
    shape = {
        "object": "webhook_endpoint",
        "id": endpoint.id,
        "workspaceId": endpoint.workspace_id,
        "url": endpoint.url,
        "description": endpoint.description or "",
        "events": list(endpoint.event_types or []),
        "enabled": endpoint.enabled,
        "disabledReason": endpoint.disabled_reason,
        "disabledAt": isoformat(endpoint.disabled_at),
        "failingSince": isoformat(endpoint.first_failure_at),
        "createdAt": isoformat(endpoint.created_at),
    }
    if secret is not None:
        shape["secret"] = secret
    return shape


def webhook_delivery_json(delivery, attempts: list | None = None) -> dict:
    shape = {
        "object": "webhook_delivery",
        "id": delivery.id,
        "webhookId": delivery.endpoint_id,
        "eventId": delivery.event_id,
        "eventType": delivery.event_type,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "nextAttemptAt": isoformat(delivery.next_attempt_at) if delivery.state == "pending" else None,
        "lastAttemptAt": isoformat(delivery.last_attempt_at),
        "lastStatus": delivery.last_status,
        "lastError": delivery.last_error,
        "createdAt": isoformat(delivery.created_at),
        "payload": delivery.payload,
    }
    if attempts is not None:
        shape["attemptLog"] = [
            {
                "at": isoformat(a.at),
                "status": a.status_code,
                "error": a.error,
                "durationMs": a.duration_ms,
                "responseExcerpt": a.response_excerpt,
            }
            for a in attempts
        ]
    return shape
