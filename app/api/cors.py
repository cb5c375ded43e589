"""CORS for /api through flask-cors: the allow-listed origins with tokens, any origin on one-time upload URLs,
and never credentials, so the gallery's session cookie cannot be used from another origin."""

from __future__ import annotations

from flask import Flask, request
from flask_cors import CORS

from app.api.tus import REQUEST_HEADERS as TUS_REQUEST_HEADERS
from app.api.tus import RESPONSE_HEADERS as TUS_RESPONSE_HEADERS
from app.config import cors_origin_list

# `/api/uploads/<id>/<secret>`: the URL itself is the permission, as with Cloudflare's direct creator upload URLs.
UPLOAD_URL_PATH = r"/api/uploads/[^/]+/[^/]+"
UPLOAD_URL_TUS_PATH = r"/api/uploads/[^/]+/[^/]+/tus/[^/]+"  # the resumable upload such a URL started
ALLOWED_HEADERS = ["Authorization", "Content-Type", "Accept", "Idempotency-Key", *TUS_REQUEST_HEADERS]
EXPOSED_HEADERS = ["Location", "Retry-After", "Link", *TUS_RESPONSE_HEADERS]
METHODS = ["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"]
PREFLIGHT_MAX_AGE = 600


def init_app(app: Flask) -> None:
    """Applied on the app for /api paths only (flask-cors matches the path), so unrouted /api answers get it too."""
    origins = cors_origin_list(app.config.get("CORS_ORIGINS", ""))
    resources = {
        UPLOAD_URL_TUS_PATH: {"origins": "*", "send_wildcard": True, "methods": ["HEAD", "PATCH", "DELETE", "OPTIONS"]},
        UPLOAD_URL_PATH: {"origins": "*", "send_wildcard": True, "methods": ["GET", "POST", "OPTIONS"]},
    }
    if origins:
        resources[r"/api/.*"] = {"origins": "*", "send_wildcard": True} if origins == ["*"] else {"origins": origins}
    CORS(
        app,
        resources=resources,
        supports_credentials=False,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        methods=METHODS,
        max_age=PREFLIGHT_MAX_AGE,
        vary_header=True,
        always_send=False,  # no Origin, no CORS headers: the request did not come from a browser page
    )

    @app.after_request
    def _vary_on_origin(response):
        """Whether an /api answer carries CORS headers depends on `Origin`, so a shared cache must key on it."""
        if request.path.startswith("/api/"):
            response.vary.add("Origin")
        return response
