"""The JSON API under /api."""

from flask import Blueprint

from app.api.problems import register_error_handlers

bp = Blueprint("api", __name__, url_prefix="/api")
register_error_handlers(bp)

# The routes register themselves on bp.
from app.api import (  # noqa: E402,F401
    crop_presets,
    duplicates,
    files,
    images,
    methods,
    openapi,
    organise,
    trash,
    tus,
    uploads,
    versions,
    views,
    webhooks,
)


def init_app(app) -> None:
    from app.api import cors
    from app.extensions import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)
    cors.init_app(app)
