"""HTTP as clients expect it: one Allow list for OPTIONS and 405s, and no caching of answers that hold signed URLs."""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException

from app.api import bp

# Routes that exist only to explain themselves with a 405 (POST /api/images): never advertised as allowed.
REFUSING_ENDPOINTS = {"api.create_image"}
JSON_TYPES = ("application/json", "application/problem+json")


def allowed_methods() -> list[str]:
    """The methods this request's path really answers, sorted, as both OPTIONS and 405 state them."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in adapter.allowed_methods(request.path):
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint not in REFUSING_ENDPOINTS:
            allowed.append(method)
    return sorted(set(allowed))


@bp.after_request
def _http_conventions(response):
    if request.method == "OPTIONS" and "Allow" in response.headers:
        response.headers["Allow"] = ", ".join(allowed_methods())
    authenticated = g.get("token") is not None or g.get("user") is not None
    if authenticated and response.mimetype in JSON_TYPES:
        # Answers hold expiring signed URLs and one workspace's data: no shared or stored copies.
        response.headers["Cache-Control"] = "private, no-store"
    return response
