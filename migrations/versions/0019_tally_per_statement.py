"""tally per statement (issue 22): on PostgreSQL `file_tally` is kept by statement-level triggers over transition
tables, one +n/−n per bucket a statement changes, instead of 0015's row triggers, which piled one row version of the
same tally row per file a statement touched; SQLite keeps 0015's row triggers

Revision ID: 0019_tally_per_statement
Revises: 0018_saved_views
Create Date: 2026-12-05 06:50:00

"""
import importlib.util
from pathlib import Path

from alembic import op

revision = '0019_tally_per_statement'
down_revision = '0018_saved_views'
branch_labels = None
depends_on = None

# 0015's kind rules: image (the file has an image row), picture (an image file without one), other.
def _no_image_kind(mime):
    return f"CASE WHEN {mime} LIKE 'image/%' THEN 'picture' ELSE 'other' END"


def _kind(imaged, mime):
    return f"CASE WHEN {imaged} THEN 'image' ELSE {_no_image_kind(mime)} END"


def _imaged(row):
    return f"EXISTS (SELECT 1 FROM image WHERE image.file_id = {row}.id)"


def _bucket(row, kind):
    return f"{row}.project_id, {row}.deleted_at IS NULL, {kind}, {row}.status"


def _apply(deltas):
    """One upsert per statement: the deltas (project_id, live, kind, status, d) summed per bucket, zero nets skipped,
    in bucket order so that two statements lock the tally rows they share in the same order. A negative net for a
    bucket without a row (a tally that had already drifted) writes that row negative, where 0015 changed nothing."""
    return (
        "INSERT INTO file_tally AS t (project_id, live, kind, status, n) "
        f"SELECT project_id, live, kind, status, sum(d) FROM ({deltas}) AS delta(project_id, live, kind, status, d) "
        "GROUP BY project_id, live, kind, status HAVING sum(d) <> 0 ORDER BY project_id, live, kind, status "
        "ON CONFLICT (project_id, live, kind, status) DO UPDATE SET n = t.n + EXCLUDED.n"
    )


def _function(name, body):
    return f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN {body}; RETURN NULL; END $$ LANGUAGE plpgsql"


def _files_added_or_taken(rows, d):
    return _apply(f"SELECT {_bucket('r', _kind(_imaged('r'), 'r.mime_type'))}, {d} FROM {rows} AS r")


# An update joins its old and new rows by id (ids never change) and counts only the rows whose bucket columns
# changed: PostgreSQL allows no column list on a trigger with transition tables, so this one sees every update.
_CHANGED = (
    "SELECT o.project_id AS o_project_id, o.deleted_at AS o_deleted_at, o.mime_type AS o_mime_type, "
    "o.status AS o_status, n.project_id, n.deleted_at, n.mime_type, n.status, "
    f"{_imaged('n')} AS imaged FROM old_files AS o JOIN new_files AS n ON n.id = o.id "
    "WHERE (o.project_id, o.deleted_at, o.mime_type, o.status) IS DISTINCT FROM "
    "(n.project_id, n.deleted_at, n.mime_type, n.status)"
)
_FILES_UPDATED = _apply(
    "SELECT b.* FROM (" + _CHANGED + ") AS c CROSS JOIN LATERAL (VALUES "
    f"(c.o_project_id, c.o_deleted_at IS NULL, {_kind('c.imaged', 'c.o_mime_type')}, c.o_status, -1), "
    f"(c.project_id, c.deleted_at IS NULL, {_kind('c.imaged', 'c.mime_type')}, c.status, 1)) AS b"
)


def _images_moved(rows, before, after):
    """An image row's insert (or delete) moves its file from the picture/other bucket to image (or back)."""
    return _apply(
        f"SELECT b.* FROM {rows} AS i JOIN file AS f ON f.id = i.file_id CROSS JOIN LATERAL (VALUES "
        f"({_bucket('f', before)}, -1), ({_bucket('f', after)}, 1)) AS b"
    )


_PICTURE_OR_OTHER = _no_image_kind("f.mime_type")
# (trigger, table, event, transition tables, function, body)
STATEMENT_TRIGGERS = [
    ("file_tally_insert", "file", "INSERT", "NEW TABLE AS new_files", "file_tally_files_inserted",
     _files_added_or_taken("new_files", 1)),
    ("file_tally_delete", "file", "DELETE", "OLD TABLE AS old_files", "file_tally_files_deleted",
     _files_added_or_taken("old_files", -1)),
    ("file_tally_update", "file", "UPDATE", "OLD TABLE AS old_files NEW TABLE AS new_files",
     "file_tally_files_updated", _FILES_UPDATED),
    ("file_tally_image_insert", "image", "INSERT", "NEW TABLE AS new_images", "file_tally_images_inserted",
     _images_moved("new_images", _PICTURE_OR_OTHER, "'image'")),
    ("file_tally_image_delete", "image", "DELETE", "OLD TABLE AS old_images", "file_tally_images_deleted",
     _images_moved("old_images", "'image'", _PICTURE_OR_OTHER)),
]


def create_statement_triggers():
    """The SQL that creates the statement-level triggers (the tally benchmark swaps them in and out too)."""
    return [
        sql
        for trigger, table, event, transitions, function, body in STATEMENT_TRIGGERS
        for sql in (
            _function(function, body),
            f"CREATE TRIGGER {trigger} AFTER {event} ON {table} REFERENCING {transitions} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        )
    ]


def drop_statement_triggers():
    return [
        sql
        for trigger, table, _, _, function, _ in STATEMENT_TRIGGERS
        for sql in (f"DROP TRIGGER {trigger} ON {table}", f"DROP FUNCTION {function}()")
    ]


def _image_facts():
    """Migration 0015, whose row triggers a downgrade puts back (loaded from its file: one source of their SQL)."""
    spec = importlib.util.spec_from_file_location("image_facts_0015", Path(__file__).with_name("0015_image_facts.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROW_TRIGGERS_DROP = [
    "DROP TRIGGER file_tally_image ON image",
    "DROP TRIGGER file_tally_update ON file",
    "DROP TRIGGER file_tally_insert_delete ON file",
    "DROP FUNCTION file_tally_image()",
    "DROP FUNCTION file_tally_file()",
]


def create_row_triggers():
    return [_image_facts().POSTGRES_TRIGGERS]


# SQLite has row triggers only, one writer at a time, and updates a row in place (no row versions to pile up):
# 0015's triggers stay there, and the tally rows stay exact across the change, so nothing is recounted.
def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for statement in ROW_TRIGGERS_DROP + create_statement_triggers():
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for statement in drop_statement_triggers() + create_row_triggers():
        op.execute(statement)
