"""The OpenAPI 3.1 document of /api, generated from the routes' models (app/api/spec.py), and its docs page."""

from __future__ import annotations

from flask import current_app, render_template

from app.api import bp
from app.api.spec import document as generate
from app.api.spec import operation, spec
from app.domain import shapes
from app.domain.webhooks import EVENT_TYPES, TEST_EVENT

REDOC_VERSION = "2.5.4"

INFO = {
    "title": "aeontel Images API",
    "version": "1",
    "description": "Files and images of a workspace. Programs authenticate with `Authorization: Bearer <token>`; the "
    "gallery uses its session cookie plus an `X-CSRFToken` header on writes. Errors are `application/problem+json`. "
    "Lists are newest first and cursor-paginated.\n\n"
    "**CORS.** Origins listed in the `CORS_ORIGINS` setting may call every `/api` path from a browser with a bearer "
    "token: preflights are answered (methods GET, HEAD, POST, PATCH, DELETE; headers Authorization, Content-Type, "
    "Accept, Idempotency-Key and tus's Tus-Resumable, Upload-Length, Upload-Offset, Upload-Metadata, Upload-Checksum; "
    "tus's answer headers are exposed), credentials are never allowed (no `Access-Control-Allow-Credentials`), and a "
    "request whose `Origin` is not this server's is never authenticated by the session cookie. One-time upload URLs "
    "(`/api/uploads/{upload_id}/{secret}`, and the resumable uploads they start under `…/tus/{tus_id}`) answer any "
    "origin.\n\n"
    "**Resumable uploads.** Large files go over tus 1.0 (`/api/tus`, or `POST` with `Tus-Resumable` on a one-time "
    "upload URL): pieces from the offset the server reports, so a dropped connection costs at most the piece in flight.",
}
SIGNED = (
    "Signed per Standard Webhooks: headers `webhook-id` (the message id, the same on retries and redeliveries), "
    "`webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` "
    "with the secret's bytes). Answer 2xx within 10 s; anything else is retried after 5 s, 5 min, 30 min, 2 h, 5 h, "
    "10 h, … for a day."
)


def _webhook_calls() -> dict:
    """What this server POSTs to the endpoints (OpenAPI 3.1 `webhooks`), one per event type."""
    payload = {"$ref": f"#/components/schemas/{shapes.WebhookPayload.__name__}"}
    return {
        event: {
            "post": {
                "operationId": f"on_{event.replace('.', '_')}",
                "tags": ["webhooks"],
                "summary": event,
                "description": SIGNED,
                "security": [],
                "parameters": [
                    {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
                    for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
                ],
                "requestBody": {"required": True, "content": {"application/json": {"schema": payload}}},
                "responses": {"200": {"description": "Received (any 2xx)."}},
            }
        }
        for event in [*EVENT_TYPES, TEST_EVENT]
    }


def document() -> dict:
    """The document for this app (its session cookie's name is part of it)."""
    return generate(current_app._get_current_object(), INFO, _webhook_calls())


@bp.get("/openapi.json")
@operation("getOpenApi", "meta", {200: (None, "OpenAPI 3.1.")}, public=True)
def openapi_document():
    """This document"""
    return document()


# Everything the docs page loads comes from this server (Redoc's attribution logo on its CDN is blocked);
# Redoc needs inline styles and a blob: worker.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'"
)


@bp.get("/docs")
@operation("getDocs", "meta", {200: (None, "An HTML page.")}, public=True)
def docs():
    """This document, rendered for people"""
    return render_template("api/docs.html", redoc_version=REDOC_VERSION), {"Content-Security-Policy": DOCS_CSP}


__all__ = ["document", "spec"]
