"""The local Cloudflare Images stand-in: its own WSGI app, built by create_imagesd_app()."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_to_bytes

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from app.config import Settings

from .errors import ApiError, DeliveryError
from .settings import ImagesdSettings

log = logging.getLogger(__name__)


def parse_faults(text: str) -> list[tuple[int, int]]:
    """`503:2,429:1` → the first two API calls answer 503, the next one 429."""
    plan = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        status, sep, count = item.partition(":")
        if not sep or status not in {"503", "429"} or not count.isdigit():
            raise ValueError(
                f"IMAGESD_FAULTS must look like 503:2,429:1 (status 503 or 429, then a count), not {text!r}"
            )
        plan.append((int(status), int(count)))
    return plan


API_PREFIXES = ("/client/v4/", "/batch/")
# Paths whose errors are answered in the API envelope: the API, the batch host and direct-upload URLs.
ENVELOPE_PREFIXES = (*API_PREFIXES, "/upload/")
ENCODED_SLASH = re.compile(r"%2F", re.IGNORECASE)
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class RawApiPaths:
    """Route API paths from the raw request target, so an image id's encoded `/` (`%2F`) stays part of the id.

    WSGI servers decode PATH_INFO, which turns `v1/a%2Fb/blob` into `v1/a/b/blob`. For API paths this rebuilds
    PATH_INFO from RAW_URI/REQUEST_URI with every escape decoded except `%2F` (and `%` itself, as `%25`); the
    blueprints decode the id once more (`_decode_image_id`). Delivery paths are left alone: ids appear raw there."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
        path = raw.partition("?")[0]
        if path.startswith(API_PREFIXES) and ENCODED_SLASH.search(path):
            pieces = [unquote_to_bytes(piece).replace(b"%", b"%25") for piece in ENCODED_SLASH.split(path)]
            environ["PATH_INFO"] = b"%2F".join(pieces).decode("latin-1")
            environ["imagesd.raw_path"] = True
        return self.wsgi_app(environ, start_response)


def create_imagesd_app(settings: Settings | ImagesdSettings | None = None, **overrides) -> Flask:
    import pillow_heif
    from PIL import Image

    from .api import api, batch
    from .delivery import delivery
    from .direct_upload import upload_host
    from .store import Store
    from .views import Imagesd

    config = settings if isinstance(settings, ImagesdSettings) else ImagesdSettings.from_settings(settings)
    config = config.with_overrides(**overrides) if overrides else config
    faults = parse_faults(config.faults)

    pillow_heif.register_heif_opener()
    # The stand-in checks side and area limits from the header itself, before Pillow would ever decode.
    Image.MAX_IMAGE_PIXELS = None

    store = Store(config.data_dir)
    store.initialize(config.signing_key, faults=faults)
    store.close()

    app = Flask(__name__, static_folder=None)
    # Bodies up to 64 MB are read so the answer can say how big the file was; the 10 MB rule is checked on the file.
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024 * 1024, MAX_FORM_MEMORY_SIZE=1024 * 1024)
    app.json.sort_keys = False
    app.extensions["imagesd"] = Imagesd(settings=config, store=store, has_faults=bool(faults))
    app.register_blueprint(api)
    app.register_blueprint(batch)
    app.register_blueprint(upload_host)
    app.register_blueprint(delivery)
    app.wsgi_app = RawApiPaths(app.wsgi_app)
    _routes_and_errors(app, config)
    return app


def _routes_and_errors(app: Flask, config: ImagesdSettings) -> None:
    """The health check, the catch-all for routes Cloudflare does not have, and errors answered as Cloudflare does."""
    from .views import error_envelope

    @app.route("/client/v4/<path:_rest>", methods=ALL_METHODS)
    @app.route("/batch/<path:_rest>", methods=ALL_METHODS)
    def unknown_api_route(_rest: str):
        """Cloudflare answers a route it does not have with 404 whatever the method; so does the stand-in."""
        raise ApiError(404, 5404, f"No route for {request.method} {request.path}.")

    @app.get("/healthz")
    def healthz():
        return {"ok": True, "account_id": config.account_id, "account_hash": config.account_hash}

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_envelope(exc.status, exc.code, exc.message, exc.headers)

    @app.errorhandler(DeliveryError)
    def delivery_error(exc: DeliveryError):
        return (
            f"ERROR {exc.code}: {exc.message}\n",
            exc.status,
            {
                "Content-Type": "text/plain; charset=utf-8",
                "Cf-Resized": f"err={exc.code}",
                "Cache-Control": "no-store",
            },
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith(ENVELOPE_PREFIXES):
            code = {404: 5404, 405: 5405, 413: 5413}.get(exc.code or 400, 5400)
            message = "The request is larger than 10 MB." if exc.code == 413 else exc.description or exc.name
            return error_envelope(exc.code or 500, code, message)
        return f"ERROR {exc.code}: {exc.name}\n", exc.code or 500, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("imagesd failed on %s %s", request.method, request.path)
        if request.path.startswith(ENVELOPE_PREFIXES):
            return error_envelope(500, 5500, f"The stand-in failed unexpectedly ({exc.__class__.__name__}).")
        return f"ERROR 9500: the stand-in failed unexpectedly ({exc.__class__.__name__})\n", 500
