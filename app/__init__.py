"""The composition root: create_app builds the web app from settings, and nothing here runs on import."""

from __future__ import annotations

import dataclasses
import logging
import os

from flask import Flask, g, request, url_for

from app.config import PROJECT_ROOT, Settings


def create_app(overrides: dict | None = None) -> Flask:
    """`overrides` holds settings by their lower-case names (see app.config) or raw upper-case Flask keys."""
    overrides = dict(overrides or {})
    settings = Settings.from_env()
    field_names = {f.name for f in dataclasses.fields(settings)}
    settings = dataclasses.replace(settings, **{k: overrides.pop(k) for k in list(overrides) if k in field_names})
    settings = settings.ready()  # a production process without a good SECRET_KEY stops here

    app = Flask(
        __name__,
        instance_path=settings.instance_dir,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(settings.as_flask_config())
    app.config.update(overrides)
    for directory in (app.instance_path, app.config["UPLOAD_TMP_DIR"]):
        os.makedirs(directory, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from app.http import BodyDeadline, SpoolingRequest, discard_spools

    app.request_class = SpoolingRequest
    app.wsgi_app = BodyDeadline(app.wsgi_app, app.config["BODY_READ_TIMEOUT"], app.config["BODY_MIN_RATE"])

    from app.adapters.cloudflare import CloudflareImages
    from app.adapters.queue import RQQueue
    from app.adapters.ratelimit import RedisRateLimiter
    from app.adapters.storage import build_storage
    from app.extensions import compress, csrf, db, htmx, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    htmx.init_app(app)
    csrf.init_app(app)
    compress.init_app(app)
    from app.domain import services

    app.extensions[services.STORAGE] = build_storage(app.config)
    app.extensions[services.QUEUE] = RQQueue(app.config["REDIS_URL"], app.config["REDIS_TIMEOUT"])
    app.extensions[services.IMAGES] = CloudflareImages.from_config(app.config)
    app.extensions[services.RATE_LIMITER] = RedisRateLimiter.from_config(app.config)  # a malformed rule fails here
    # The domain names the API's download URL without knowing the API's routes (no url_for below the faces).
    app.extensions[services.CONTENT_URL] = lambda file_id: url_for("api.file_content", file_id=file_id, _external=True)

    from app import api, web
    from app.domain import register_models

    register_models()
    api.init_app(app)
    web.init_app(app)
    from app.web import security

    security.init_app(app)  # security headers on every response
    _api_errors_outside_blueprint(app)
    _database_unavailable(app)
    app.teardown_request(lambda exc: discard_spools(request))
    return app


def _api_errors_outside_blueprint(app: Flask) -> None:
    """Unrouted /api paths (404, 405) answer problem+json too, not the HTML error page."""
    from werkzeug.exceptions import HTTPException

    from app.api.problems import from_http_exception

    @app.errorhandler(HTTPException)
    def handle(error: HTTPException):
        if request.path.startswith("/api/") or request.path == "/api":
            return from_http_exception(error)
        return error


DATABASE_RETRY_AFTER = 5  # seconds: about one busy timeout; long enough for a lock holder or a failover to finish


def _database_unavailable(app: Flask) -> None:
    """A database that is busy past its timeout or unreachable answers 503 with Retry-After, never 500."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from app.api.problems import problem
    from app.extensions import db
    from app.web.render import render

    def handle(error: Exception):
        app.logger.warning("database unavailable on %s %s: %s", request.method, request.path, error)
        try:
            db.session.rollback()  # nothing of this request is half written
        except Exception:  # noqa: BLE001 - the connection may be gone; the session is discarded at teardown anyway
            pass
        headers = {"Retry-After": str(DATABASE_RETRY_AFTER)}
        detail = (
            f"The database is busy or cannot be reached; nothing was changed. Try again in {DATABASE_RETRY_AFTER}"
            " seconds."
        )
        if request.path.startswith("/api/") or request.path == "/api":
            return problem(503, "database_unavailable", detail, headers=headers)
        g.user = None  # the page header would look the user up in the database that just failed
        return render("error.html", "gallery/_error.html", status=503, headers=headers, message=detail, status_code=503)

    app.register_error_handler(OperationalError, handle)
    app.register_error_handler(PoolTimeout, handle)
