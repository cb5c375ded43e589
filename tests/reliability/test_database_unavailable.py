"""A database that is busy past its timeout or cannot be reached answers 503 with Retry-After, and writes nothing."""

from __future__ import annotations

import contextlib
import io
import sqlite3
from pathlib import Path

from reliability_support import distinct_jpeg
from sqlalchemy import func, select


@contextlib.contextmanager
def write_lock(database_url: str):
    """Another connection holds the write lock (SQLite: the database; PostgreSQL: the file table) until the end."""
    if database_url.startswith("sqlite"):
        holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        holder = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"))
        holder.execute('LOCK TABLE "file" IN EXCLUSIVE MODE')
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


def file_count(app) -> int:
    from app.domain.files import File
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(File))


def leftovers(app) -> list[Path]:
    found = list(Path(app.config["UPLOAD_TMP_DIR"]).glob("upload-*"))
    return found + [p for p in Path(app.config["STORAGE_ROOT"]).rglob("*") if p.is_file()]


def test_an_upload_while_the_database_is_locked_answers_503_and_leaves_nothing(make_app, tenant, database_url):
    app = make_app(database_busy_timeout=0.5)
    client = app.test_client()
    before = file_count(app)
    with write_lock(database_url):
        answer = client.post(
            "/api/files",
            headers=tenant.auth(),
            data={"project_id": tenant.project_id, "file": (io.BytesIO(distinct_jpeg(3)), "locked.jpg")},
        )
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    assert answer.json["code"] == "database_unavailable" and int(answer.headers["Retry-After"]) > 0
    assert file_count(app) == before and leftovers(app) == []
    # The lock gone, the same upload goes through.
    again = client.post(
        "/api/files",
        headers=tenant.auth(),
        data={"project_id": tenant.project_id, "file": (io.BytesIO(distinct_jpeg(3)), "locked.jpg")},
    )
    assert again.status_code == 201 and file_count(app) == before + 1


def unreachable_url(database_url: str, tmp_path: Path) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'no-such-folder' / 'gone.db'}"
    return "postgresql://postgres@127.0.0.1:9/gone"  # nothing listens on the discard port


def test_an_unreachable_database_answers_503_in_the_api_and_the_gallery(make_app, tenant, database_url, tmp_path):
    app = make_app(database_url=unreachable_url(database_url, tmp_path), database_busy_timeout=1)
    client = app.test_client()
    api = client.get("/api/images", headers=tenant.auth())
    assert api.status_code == 503 and api.json["code"] == "database_unavailable" and api.headers["Retry-After"]
    with client.session_transaction() as session:
        session["user_id"] = "usr_somebody"
    page = client.get(f"/w/{tenant.workspace_id}/p/{tenant.project_id}/content")
    assert page.status_code == 503 and page.headers["Retry-After"]
    text = page.get_data(as_text=True)
    assert "<html" in text and "Temporarily unavailable" in text and "database is busy" in text
    fragment = client.get(f"/w/{tenant.workspace_id}/p/{tenant.project_id}/content", headers={"HX-Request": "true"})
    assert fragment.status_code == 503 and "<html" not in fragment.get_data(as_text=True)
    assert 'id="error"' in fragment.get_data(as_text=True)
