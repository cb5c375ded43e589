"""The JSON API under /api."""

from flask import Blueprint

from app.api.problems import register_error_handlers

bp = Blueprint("api", __name__, url_prefix="/api")
register_error_handlers(bp)

from app.api import files, images, methods, openapi, trash, uploads, webhooks  # noqa: E402,F401  (routes register themselves on bp)


def init_app(app) -> None:
    from app.api import cors
    from app.extensions import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)
    cors.init_app(app)
