"""The sort by date taken (SQLite, or PostgreSQL with TEST_DATABASE_URL): file.taken_at follows the image's facts
(EXIF, else the upload time) and is the upload time of a file with no image; paging a random library with ties by
`taken` and `-taken` yields every file exactly once in order; migration 0020 backfills it and downgrades cleanly."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta

import pytest
from alembic.script import ScriptDirectory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, inspect, select, text

from app.domain import accounts, images, queries
from app.domain.common import new_id, utcnow
from app.domain.files import File, FileTally
from app.domain.images import Image
from app.extensions import db
from tests.services import throwaway_database

CANON_EXIF = {"DateTimeOriginal": "2008:05:30 15:56:01", "Make": "Canon", "Model": "Canon EOS 40D"}
# A few instants, so random libraries have many ties the id must break.
MOMENTS = [datetime(2001, 1, 1, tzinfo=UTC) + timedelta(days=d, microseconds=m) for d in (0, 3, 900) for m in (0, 7)]


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


def add_file(workspace_id: str, project_id: str, *, image_taken: datetime | None = None, picture=True, **fields):
    """A file row (and, with `image_taken`, its image row whose facts say it was taken then)."""
    file_id = new_id("fil")
    file = File(
        id=file_id,
        workspace_id=workspace_id,
        project_id=project_id,
        name=f"{file_id}.jpg",
        mime_type="image/jpeg" if picture else "text/plain",
        size=1,
        sha256=f"{random.getrandbits(256):064x}",
        storage_key=f"{workspace_id}/{file_id}",
        status="ready",
        **fields,
    )
    db.session.add(file)
    db.session.flush()
    if image_taken is not None:
        exif = {"DateTimeOriginal": image_taken.strftime("%Y:%m:%d %H:%M:%S")}
        image = Image(file_id=file_id, workspace_id=workspace_id, cf_image_id=file_id, width=4, height=3, size=1)
        image.format, image.exif = "jpeg", exif
        image.extract_facts(file)
        db.session.add(image)
    return file


def test_taken_at_is_the_images_date_taken_else_the_upload_time(ctx, tenant):
    uploaded = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)
    plain = add_file(tenant.workspace_id, tenant.project_id, picture=False, created_at=uploaded)
    photo = add_file(tenant.workspace_id, tenant.project_id, image_taken=datetime(2008, 5, 30, 15, 56, 1, tzinfo=UTC))
    db.session.commit()
    assert db.session.get(File, plain.id).taken_at == uploaded  # no image: when it was uploaded
    assert db.session.get(File, photo.id).taken_at == datetime(2008, 5, 30, 15, 56, 1, tzinfo=UTC)
    # An image without a date in its EXIF falls back to the upload time, on the image and the file alike.
    image = db.session.get(Image, photo.id)
    image.exif = {}
    image.extract_facts(photo)
    db.session.commit()
    assert db.session.get(File, photo.id).taken_at == image.taken_at == photo.created_at


def test_the_facts_backfill_sets_the_files_date_taken(ctx, tenant):
    photo = add_file(tenant.workspace_id, tenant.project_id, image_taken=datetime(2008, 5, 30, 15, 56, 1, tzinfo=UTC))
    db.session.commit()
    photo.taken_at = photo.created_at  # as a row written before the column was kept
    db.session.commit()
    images.restart_backfill()
    images.backfill_facts(batch_size=1)
    assert db.session.get(File, photo.id).taken_at == datetime(2008, 5, 30, 15, 56, 1, tzinfo=UTC)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(
    library=st.lists(st.tuples(st.sampled_from(MOMENTS), st.booleans()), min_size=1, max_size=20),
    sort=st.sampled_from(["taken", "-taken"]),
    subject=st.sampled_from(["files", "images"]),
    limit=st.integers(1, 6),
)
def test_paging_by_date_taken_yields_every_file_once_in_order(ctx, tenant, other_tenant, library, sort, subject, limit):
    project = accounts.create_project(tenant.workspace_id, "Random").id
    made = []
    for moment, has_image in library:
        if has_image:
            made.append(add_file(tenant.workspace_id, project, image_taken=moment))
        else:
            made.append(add_file(tenant.workspace_id, project, picture=False, created_at=moment))
    add_file(other_tenant.workspace_id, other_tenant.project_id, image_taken=MOMENTS[0])  # never listed
    db.session.commit()
    wanted = [f for f, (_, has_image) in zip(made, library, strict=True) if has_image or subject == "files"]
    expected = sorted(wanted, key=lambda f: (f.taken_at, f.id), reverse=sort.startswith("-"))
    found, cursor, pages = [], None, 0
    while True:
        page = queries.run(
            queries.parse(
                {"sort": sort, "limit": limit, "cursor": cursor, "subject": subject},
                workspace_id=tenant.workspace_id,
                project_id=project,
            )
        )
        found += [entry.file.id for entry in page.entries]
        pages += 1
        assert pages <= len(library) + 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert found == [f.id for f in expected]
    # The workspace-wide list too (the other index).
    everything = queries.run(queries.parse({"sort": sort, "limit": 100}, workspace_id=tenant.workspace_id))
    listed = [entry.file.id for entry in everything.entries]
    assert len(listed) == len(set(listed))
    db.session.execute(delete(Image))
    db.session.execute(delete(File))
    db.session.commit()


def test_the_sort_walks_its_index(ctx, tenant):
    """The list sorted by date taken is answered from (project_id, taken_at, id) or (workspace_id, taken_at, id), not
    by sorting the scope (checked on SQLite, whose planner picks the index on a small table too)."""
    add_file(tenant.workspace_id, tenant.project_id, image_taken=MOMENTS[0])
    db.session.commit()
    for scope, index in (({"project_id": tenant.project_id}, "ix_file_project_id_taken_at_id"), ({}, "taken_at_id")):
        query = queries.parse({"sort": "-taken", "limit": 5} | scope, workspace_id=tenant.workspace_id)
        statement = queries._select(query).order_by(*queries._order(query)).limit(6)
        compiled = statement.compile(db.session.get_bind(), compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
        plan = " ".join(str(row) for row in db.session.execute(text(prefix + str(compiled))))
        if db.engine.dialect.name == "sqlite":
            assert index in plan and "TEMP B-TREE" not in plan, plan


INDEXES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'index'",
    "postgresql": "SELECT indexname FROM pg_indexes",
}
TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT 'file_name_fts'",  # PostgreSQL searches through a trigram index instead
}


def test_migration_0020_backfills_and_downgrades(make_app):
    """On a fresh database (the dialect under test): downgrading past 0020 drops the column and indexes and keeps
    0015's triggers and search tables; upgrading again backfills every file's date taken in SQL."""
    from flask_migrate import downgrade, upgrade

    with throwaway_database(os.environ.get("TEST_DATABASE_URL")) as url:
        application = make_app(database_url=url)
        with application.app_context():
            upgrade()
            before = ScriptDirectory.from_config(application.extensions["migrate"].migrate.get_config()).get_revision(
                "0020_file_taken_at"
            )
            ws = accounts.create_workspace("Old")
            project = accounts.create_project(ws.id, "Website")
            ws_id, project_id = ws.id, project.id
            uploaded = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
            plain = add_file(ws_id, project_id, picture=False, created_at=uploaded).id
            photo = add_file(ws_id, project_id, image_taken=datetime(2008, 5, 30, 15, 56, 1, tzinfo=UTC)).id
            db.session.commit()
            db.session.remove()
            downgrade(revision=before.down_revision)
            schema = inspect(db.engine)
            assert "taken_at" not in {column["name"] for column in schema.get_columns("file")}
            assert not set(db.session.scalars(text(INDEXES[db.engine.dialect.name]))) & {
                "ix_file_workspace_id_taken_at_id",
                "ix_file_project_id_taken_at_id",
                "ix_file_project_id_status_id",  # 0021's, gone with it; 0009's counting index is back
            }
            assert "ix_file_project_id_mime_type_status" in set(
                db.session.scalars(text(INDEXES[db.engine.dialect.name]))
            )
            assert "file_name_fts" in set(db.session.scalars(text(TABLES[db.engine.dialect.name])))
            db.session.remove()
            upgrade()
            indexes = set(db.session.scalars(text(INDEXES[db.engine.dialect.name])))
            assert "ix_file_project_id_status_id" in indexes and "ix_file_project_id_mime_type_status" not in indexes
            taken = next(c for c in inspect(db.engine).get_columns("file") if c["name"] == "taken_at")
            assert taken["nullable"] == (db.engine.dialect.name == "sqlite")  # see the migration's docstring
            assert db.session.get(File, plain).taken_at == uploaded
            assert db.session.get(File, photo).taken_at == datetime(2008, 5, 30, 15, 56, 1, tzinfo=UTC)
            # 0015's triggers still count new files, and the search still finds names.
            add_file(ws_id, project_id, picture=False, created_at=utcnow())
            db.session.commit()
            tally = db.session.scalar(select(func.sum(FileTally.n)).where(FileTally.project_id == project_id))
            assert tally == 3
            found = queries.run(queries.parse({"q": plain, "sort": "taken"}, workspace_id=ws_id))
            assert [entry.file.id for entry in found.entries] == [plain]
            db.session.remove()
            db.engine.dispose()
