"""The stable delivery URL: `/i/<file id>/<variant>` redirects to the current version's images-service URL.

Cloudflare Images cannot replace the bytes of an image id, so a replace makes a new copy (`<file id>.v<n>`); this
redirect is what keeps a link working across versions with no gap: it points at the old copy until the new one is
ready, then at the new one. It is cached for STABLE_URL_MAX_AGE seconds (60 by default), which is how long a browser
may go on showing the old pixels after a replace.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, redirect, request

from app.delivery_signing import sign_delivery_url, verify_signed_path
from app.domain import images

bp = Blueprint("delivery", __name__)
# A named variant or the flexible options the images service takes (`w=400,fit=cover`, `trim=1;2;3;4`, ...).
VARIANT = re.compile(r"^[A-Za-z0-9=,.;:%_-]{1,300}$")


def stable_url(file_id: str, variant: str, signed: bool) -> str:
    """Always on PUBLIC_URL, whoever asks and however they reached the app (the worker's webhook payloads too), so
    the stable URL of an image is one string."""
    url = f"{current_app.config['PUBLIC_URL'].rstrip('/')}/i/{file_id}/{variant}"
    if not signed:
        return url
    return sign_delivery_url(url, current_app.secret_key, ttl=current_app.config["SIGNED_URL_TTL"])


@bp.get("/i/<file_id>/<variant>")
def stable(file_id: str, variant: str):
    """No session or token, like the images service's own URLs; a private image's URL carries `exp` and `sig`."""
    if not VARIANT.match(variant):
        abort(404)
    image = images.serving(file_id)
    if image is None:
        abort(404)
    max_age = int(current_app.config["STABLE_URL_MAX_AGE"])
    if image.require_signed_urls:
        refused = verify_signed_path(request.path, request.query_string.decode(), [current_app.secret_key])
        if refused is not None:
            abort(403, refused)
        cache = f"private, max-age={max_age}"
    else:
        cache = f"public, max-age={max_age}"
    response = redirect(images.delivery_url(image, variant), 302)
    response.headers["Cache-Control"] = cache
    return response
