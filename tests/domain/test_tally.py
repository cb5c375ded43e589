"""`file_tally` against a fresh count of the files after statements that change many rows at once: bulk trash and
restore, status and type changes, image rows in and out, moves between projects, and mixed statements whose rows go
to different buckets (issue 22: PostgreSQL keeps the tally per statement, SQLite per row)."""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Integer, and_, case, cast, delete, exists, func, insert, literal, select, text, update

from app.domain.files import File, FileTally
from app.domain.images import Image
from app.extensions import db
from tests.factories import Factory

MIMES = ["image/jpeg", "image/png", "application/pdf", "text/plain"]
STATUSES = ["pending", "processing", "ready", "error"]
NOW = datetime(2026, 12, 5, tzinfo=UTC)


@pytest.fixture
def projects(ctx):
    from app.domain import accounts

    tenant = Factory(ctx).workspace()
    second = accounts.create_project(tenant.workspace_id, "Archive")
    db.session.commit()
    return tenant.workspace_id, [tenant.project_id, second.id]


class Library:
    """Files and images of two projects changed only by multi-row SQL statements, one transaction each."""

    def __init__(self, workspace_id: str, project_ids: list[str]):
        self.workspace_id, self.project_ids, self.next = workspace_id, project_ids, 0

    def insert(self, count: int, mime: str, status: str, project: int = 0, trashed: bool = False) -> None:
        rows = [
            {
                "id": f"t{self.next + i:06d}",
                "workspace_id": self.workspace_id,
                "project_id": self.project_ids[project],
                "name": f"file-{self.next + i}",
                "mime_type": mime,
                "size": 1,
                "sha256": "0" * 64,
                "storage_key": f"k/{self.next + i}",
                "status": status,
                "deleted_at": NOW if trashed else None,
            }
            for i in range(count)
        ]
        self.next += count
        if rows:
            db.session.execute(insert(File), rows)

    def chosen(self, modulus: int, remainder: int):
        """Every file whose number leaves `remainder` divided by `modulus`: a spread-out selection of rows."""
        return cast(func.substr(File.id, 2), Integer) % modulus == remainder

    def run(self, op: str, chosen, project: int = 0) -> None:
        statements = {
            "trash": lambda: update(File).where(chosen, File.deleted_at.is_(None)).values(deleted_at=NOW),
            "restore": lambda: update(File).where(chosen).values(deleted_at=None),
            "ready": lambda: update(File).where(chosen).values(status="ready"),
            "error": lambda: update(File).where(chosen).values(status="error"),
            # Rows go both ways in one statement: live to trash and back, ready to error and back.
            "flip": lambda: (
                update(File)
                .where(chosen)
                .values(
                    deleted_at=case((File.deleted_at.is_(None), NOW), else_=None),
                    status=case((File.status == "ready", "error"), else_="ready"),
                )
            ),
            "retype": lambda: (
                update(File)
                .where(chosen)
                .values(mime_type=case((File.mime_type.like("image/%"), "application/pdf"), else_="image/png"))
            ),
            "move": lambda: update(File).where(chosen).values(project_id=self.project_ids[project]),
            "rename": lambda: update(File).where(chosen).values(name=File.name + "x"),  # no bucket changes
            "image_in": lambda: insert(Image).from_select(
                ["file_id", "workspace_id", "cf_image_id", "width", "height", "size", "format"],
                select(File.id, File.workspace_id, File.id, literal(1), literal(1), literal(1), literal("jpeg")).where(
                    chosen, ~exists().where(Image.file_id == File.id)
                ),
            ),
            "image_out": lambda: delete(Image).where(Image.file_id.in_(select(File.id).where(chosen))),
            # The app deletes a file's image row before the file (files.remove's hooks): so does this.
            "purge": lambda: delete(File).where(chosen, ~exists().where(Image.file_id == File.id)),
        }
        db.session.execute(statements[op]())

    def tally(self) -> Counter:
        rows = db.session.execute(
            select(FileTally.project_id, FileTally.live, FileTally.kind, FileTally.status, FileTally.n).where(
                FileTally.project_id.in_(self.project_ids)
            )
        )
        return Counter({(p, bool(live), kind, status): n for p, live, kind, status, n in rows if n})

    def counted(self) -> Counter:
        kind = case(
            (exists().where(Image.file_id == File.id), "image"),
            (File.mime_type.like("image/%"), "picture"),
            else_="other",
        )
        rows = db.session.execute(
            select(File.project_id, File.deleted_at.is_(None), kind, File.status, func.count())
            .where(File.project_id.in_(self.project_ids))
            .group_by(File.project_id, File.deleted_at.is_(None), kind, File.status)
        )
        return Counter({(p, bool(live), k, status): n for p, live, k, status, n in rows})

    def agrees(self, after: str) -> None:
        assert self.tally() == self.counted(), after

    def empty(self) -> None:
        db.session.execute(delete(Image).where(Image.workspace_id == self.workspace_id))
        db.session.execute(delete(File).where(File.workspace_id == self.workspace_id))
        db.session.execute(delete(FileTally).where(FileTally.project_id.in_(self.project_ids)))
        db.session.commit()


def seed(library: Library, each: int) -> None:
    """Files of every type and status in both projects, some trashed, a third of them with image rows."""
    for project in (0, 1):
        for mime in MIMES:
            for status in STATUSES:
                library.insert(each, mime, status, project, trashed=status == "error")
    db.session.commit()
    library.run("image_in", library.chosen(3, 0))
    db.session.commit()


def test_bulk_statements_keep_the_tally_exact(projects):
    library = Library(*projects)
    seed(library, each=12)
    library.agrees("seed")
    steps = [
        ("trash", library.chosen(2, 0)),  # many rows of every bucket to the trash at once
        ("restore", library.chosen(4, 0)),
        ("error", library.chosen(3, 1)),
        ("image_out", library.chosen(2, 1)),  # images leave: their files become pictures (or other)
        ("image_in", library.chosen(5, 2)),
        ("flip", library.chosen(2, 1)),  # rows cross in both directions; some buckets net to zero
        ("retype", library.chosen(3, 2)),
        ("rename", literal(True)),
        ("purge", library.chosen(7, 3)),
    ]
    for op, chosen in steps:
        library.run(op, chosen)
        db.session.commit()
        library.agrees(op)
    library.run("move", literal(True), project=1)
    db.session.commit()
    library.agrees("move")
    assert library.counted()[(library.project_ids[0], True, "image", "ready")] == 0


def test_a_statement_that_moves_no_file_between_buckets_writes_no_tally_row(projects):
    """The update trigger sees every update (no column list with transition tables): one that changes no bucket
    leaves the tally rows as they were; on PostgreSQL not even a new row version."""
    library = Library(*projects)
    seed(library, each=3)
    before, versions = library.tally(), _tally_versions(library)
    library.run("rename", literal(True))
    db.session.execute(update(File).values(status=File.status, deleted_at=File.deleted_at))
    db.session.commit()
    assert library.tally() == before and _tally_versions(library) == versions


def test_rows_that_swap_buckets_in_one_statement_net_to_nothing(projects):
    library = Library(*projects)
    library.insert(4, "image/png", "ready")
    library.insert(4, "image/png", "error")
    db.session.commit()
    before = library.tally()
    library.run("flip", literal(True))  # four ready become error and four error become ready, live to trash too
    db.session.commit()
    library.agrees("flip")
    library.run("flip", literal(True))
    db.session.commit()
    assert library.tally() == before == library.counted()
    versions = _tally_versions(library)
    number = cast(func.substr(File.id, 2), Integer)
    swapped = and_(File.status == "ready", number < 2) | and_(File.status == "error", number.between(4, 5))
    db.session.execute(
        update(File).where(swapped).values(status=case((File.status == "ready", "error"), else_="ready"))
    )
    db.session.commit()
    assert library.counted() != Counter() and library.tally() == before == library.counted()
    assert _tally_versions(library) == versions  # two left ready, two came: the net is zero, nothing written


def _tally_versions(library: Library):
    if db.engine.dialect.name != "postgresql":
        return None
    return sorted(db.session.execute(text("SELECT project_id, kind, status, live, xmin::text FROM file_tally")))


OPERATIONS = st.tuples(
    st.sampled_from(
        [
            "trash",
            "restore",
            "ready",
            "error",
            "flip",
            "retype",
            "move",
            "rename",
            "image_in",
            "image_out",
            "purge",
            "insert",
        ]
    ),
    st.integers(min_value=1, max_value=3),  # modulus
    st.integers(min_value=0, max_value=2),  # remainder
    st.integers(min_value=0, max_value=1),  # the project moved to or inserted into
    st.sampled_from(MIMES),
)
# Small on purpose: every example runs a dozen statements against the real database (PostgreSQL on CI too).
EXAMPLES = 15 if os.environ.get("TEST_DATABASE_URL") else 30


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=8))
def test_any_sequence_of_bulk_statements_keeps_the_tally_equal_to_a_count(projects, operations):
    library = Library(*projects)
    try:
        seed(library, each=2)
        for op, modulus, remainder, project, mime in operations:
            if op == "insert":
                library.insert(modulus * 3, mime, STATUSES[remainder], project)
            else:
                library.run(op, library.chosen(modulus, remainder % modulus), project)
            db.session.commit()
            library.agrees(f"{op} {modulus} {remainder}")
    finally:
        db.session.rollback()
        library.empty()


def test_the_migration_goes_down_to_row_triggers_and_up_again_with_exact_counts(make_app):
    """0019 on a database of its own: down to 0015's row triggers and up to the statement ones, counting the same."""
    from flask_migrate import downgrade, upgrade

    from app.domain import accounts
    from tests.services import throwaway_database

    with throwaway_database(os.environ.get("TEST_DATABASE_URL")) as url:
        application = make_app(database_url=url)
        with application.app_context():
            upgrade()
            workspace = accounts.create_workspace("Acme")
            library = Library(workspace.id, [accounts.create_project(workspace.id, p).id for p in ("A", "B")])
            seed(library, each=4)
            for revision, per in (("0018_saved_views", "ROW"), ("head", "STATEMENT"), ("0018_saved_views", "ROW")):
                db.session.commit()
                (upgrade if revision == "head" else downgrade)(revision=revision)
                assert _tally_triggers() in ({per}, set())  # SQLite has row triggers throughout
                for op, modulus in (("trash", 2), ("image_out", 3), ("flip", 4), ("image_in", 2), ("purge", 5)):
                    library.run(op, library.chosen(modulus, 1))
                    db.session.commit()
                    library.agrees(f"{op} at {revision}")
            db.session.commit()
            upgrade()
            assert _tally_triggers() in ({"STATEMENT"}, set())
            db.session.remove()
            db.engine.dispose()


def _tally_triggers() -> set[str]:
    if db.engine.dialect.name != "postgresql":
        return set()
    rows = db.session.execute(text("SELECT tgname, tgtype FROM pg_trigger WHERE tgname LIKE 'file_tally%'"))
    return {"ROW" if tgtype & 1 else "STATEMENT" for _, tgtype in rows}  # TRIGGER_TYPE_ROW is bit 0
