"""Models and services; no Flask request objects here."""


def register_models() -> None:
    """Imports every model module so SQLAlchemy's metadata (and Alembic) sees all tables and handlers."""
    from app.domain import accounts, events, files, images, removals  # noqa: F401
