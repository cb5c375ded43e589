"""library facts and counts (issue 22): EXIF facts in indexed image columns, folded names for the search `q` (a
pg_trgm index on PostgreSQL, an FTS5 trigram table on SQLite), the backfill's progress row, and `file_tally`, a
count per project/live/kind/status that triggers keep in the transaction of every change

Revision ID: 0015_image_facts
Revises: 0012_image_crops
Create Date: 2026-12-05 03:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0015_image_facts'
down_revision = '0014_collections_tags'
branch_labels = None
depends_on = None

FACTS = ("camera_make", "camera_model", "lens", "taken_at", "orientation", "colour", "format", "source")

# The bucket of a file row: kind is image (it has an image row), picture (an image file without one) or other.
_KIND = ("CASE WHEN EXISTS (SELECT 1 FROM image WHERE image.file_id = {row}.id) THEN 'image' "
         "WHEN {row}.mime_type LIKE 'image/%' THEN 'picture' ELSE 'other' END")


def _bucket(row, kind=None):
    return (f"project_id = {row}.project_id AND live = ({row}.deleted_at IS NULL) "
            f"AND kind = {kind or _KIND.format(row=row)} AND status = {row}.status")


def _add(row, kind=None):
    kind = kind or _KIND.format(row=row)
    return (f"INSERT INTO file_tally (project_id, live, kind, status, n) "
            f"VALUES ({row}.project_id, {row}.deleted_at IS NULL, {kind}, {row}.status, 1) "
            f"ON CONFLICT (project_id, live, kind, status) DO UPDATE SET n = file_tally.n + 1")


def _take(row, kind=None):
    return f"UPDATE file_tally SET n = n - 1 WHERE {_bucket(row, kind)}"


def _file_of_image(row):
    return f"(SELECT * FROM file WHERE file.id = {row}.file_id)"


POSTGRES_TRIGGERS = f"""
CREATE FUNCTION file_tally_file() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN {_take('OLD')}; END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN {_add('NEW')}; END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER file_tally_insert_delete AFTER INSERT OR DELETE ON file
  FOR EACH ROW EXECUTE FUNCTION file_tally_file();
CREATE TRIGGER file_tally_update AFTER UPDATE OF project_id, deleted_at, mime_type, status ON file
  FOR EACH ROW WHEN (OLD.project_id IS DISTINCT FROM NEW.project_id OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
    OR OLD.mime_type IS DISTINCT FROM NEW.mime_type OR OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION file_tally_file();
CREATE FUNCTION file_tally_image() RETURNS trigger AS $$
DECLARE f file%ROWTYPE;
BEGIN
  SELECT * INTO f FROM file WHERE file.id = (CASE WHEN TG_OP = 'INSERT' THEN NEW.file_id ELSE OLD.file_id END);
  IF NOT FOUND THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    {_take('f', "(CASE WHEN f.mime_type LIKE 'image/%' THEN 'picture' ELSE 'other' END)")};
    {_add('f', "'image'")};
  ELSE
    {_take('f', "'image'")};
    {_add('f', "(CASE WHEN f.mime_type LIKE 'image/%' THEN 'picture' ELSE 'other' END)")};
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER file_tally_image AFTER INSERT OR DELETE ON image
  FOR EACH ROW EXECUTE FUNCTION file_tally_image();
"""

_NO_IMAGE_KIND = "(CASE WHEN f.mime_type LIKE 'image/%' THEN 'picture' ELSE 'other' END)"


def _sqlite_image_trigger(event, row, before, after):
    # SQLite triggers have no variables: the file row is read through a one-row SELECT for each statement.
    take = (f"UPDATE file_tally SET n = n - 1 WHERE EXISTS (SELECT 1 FROM file f WHERE f.id = {row}.file_id "
            f"AND file_tally.project_id = f.project_id AND file_tally.live = (f.deleted_at IS NULL) "
            f"AND file_tally.kind = {before} AND file_tally.status = f.status)")
    add = (f"INSERT INTO file_tally (project_id, live, kind, status, n) "
           f"SELECT f.project_id, f.deleted_at IS NULL, {after}, f.status, 1 FROM file f WHERE f.id = {row}.file_id "
           f"ON CONFLICT (project_id, live, kind, status) DO UPDATE SET n = file_tally.n + 1")
    return f"CREATE TRIGGER file_tally_image_{event.lower()} AFTER {event} ON image BEGIN {take}; {add}; END"


SQLITE_STATEMENTS = [
    f"CREATE TRIGGER file_tally_insert AFTER INSERT ON file BEGIN {_add('NEW')}; END",
    f"CREATE TRIGGER file_tally_delete AFTER DELETE ON file BEGIN {_take('OLD')}; END",
    "CREATE TRIGGER file_tally_update AFTER UPDATE OF project_id, deleted_at, mime_type, status ON file "
    "WHEN OLD.project_id IS NOT NEW.project_id OR OLD.deleted_at IS NOT NEW.deleted_at "
    "OR OLD.mime_type IS NOT NEW.mime_type OR OLD.status IS NOT NEW.status "
    f"BEGIN {_take('OLD')}; {_add('NEW')}; END",
    _sqlite_image_trigger("INSERT", "NEW", _NO_IMAGE_KIND, "'image'"),
    _sqlite_image_trigger("DELETE", "OLD", "'image'", _NO_IMAGE_KIND),
    # The search's trigram tables, external content over the folded columns, kept by triggers.
    "CREATE VIRTUAL TABLE file_name_fts USING fts5(name_folded, content='file', content_rowid='rowid', "
    "tokenize='trigram')",
    "CREATE VIRTUAL TABLE image_alt_fts USING fts5(alt_folded, content='image', content_rowid='rowid', "
    "tokenize='trigram')",
]
for table, fts, column in (("file", "file_name_fts", "name_folded"), ("image", "image_alt_fts", "alt_folded")):
    insert = f"INSERT INTO {fts}(rowid, {column}) VALUES (NEW.rowid, NEW.{column})"
    remove = f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', OLD.rowid, OLD.{column})"
    SQLITE_STATEMENTS += [
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert}; END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {remove}; END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {column} ON {table} BEGIN {remove}; {insert}; END",
    ]

SEED_TALLY = (
    "INSERT INTO file_tally (project_id, live, kind, status, n) "
    f"SELECT project_id, deleted_at IS NULL, {_KIND.format(row='file')}, status, count(*) FROM file "
    f"GROUP BY project_id, deleted_at IS NULL, {_KIND.format(row='file')}, status"
)


def upgrade():
    for name in ("camera_make", "camera_model", "lens"):
        op.add_column('image', sa.Column(name, sa.String(length=128), nullable=True))
    op.add_column('image', sa.Column('taken_at', sa.DateTime(), nullable=True))
    op.add_column('image', sa.Column('orientation', sa.String(length=9), nullable=True))
    op.add_column('image', sa.Column('colour', sa.String(length=8), nullable=True))
    op.add_column('image', sa.Column('alt_folded', sa.Text(), nullable=True))
    op.add_column('file', sa.Column('name_folded', sa.Text(), nullable=True))
    for name in FACTS:
        op.create_index(f'ix_image_workspace_id_{name}_file_id', 'image', ['workspace_id', name, 'file_id'])
    op.create_table(
        'facts_backfill',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('last_file_id', sa.String(length=32), nullable=True),
        sa.Column('done', sa.BigInteger(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_facts_backfill')),
    )
    op.create_table(
        'file_tally',
        sa.Column('project_id', sa.String(length=32), nullable=False),
        sa.Column('live', sa.Boolean(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('project_id', 'live', 'kind', 'status', name=op.f('pk_file_tally')),
    )
    # Until the backfill folds accents, the lower-cased text already finds most names.
    op.execute("UPDATE file SET name_folded = lower(name)")
    op.execute("UPDATE image SET alt_folded = lower(alt_text) WHERE alt_text IS NOT NULL")
    op.execute(SEED_TALLY)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_file_name_folded_trgm ON file USING gin (name_folded gin_trgm_ops)")
        op.execute("CREATE INDEX ix_image_alt_folded_trgm ON image USING gin (alt_folded gin_trgm_ops)")
        op.execute(POSTGRES_TRIGGERS)
    else:
        for statement in SQLITE_STATEMENTS:
            op.execute(statement)
        op.execute("INSERT INTO file_name_fts(file_name_fts) VALUES ('rebuild')")
        op.execute("INSERT INTO image_alt_fts(image_alt_fts) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER file_tally_image ON image")
        op.execute("DROP TRIGGER file_tally_update ON file")
        op.execute("DROP TRIGGER file_tally_insert_delete ON file")
        op.execute("DROP FUNCTION file_tally_image()")
        op.execute("DROP FUNCTION file_tally_file()")
        op.execute("DROP INDEX ix_image_alt_folded_trgm")
        op.execute("DROP INDEX ix_file_name_folded_trgm")
    else:
        for name in ("file_tally_insert", "file_tally_delete", "file_tally_update", "file_tally_image_insert",
                     "file_tally_image_delete"):
            op.execute(f"DROP TRIGGER {name}")
        for fts in ("file_name_fts", "image_alt_fts"):
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER {fts}_{event}")
            op.execute(f"DROP TABLE {fts}")
    op.drop_table('file_tally')
    op.drop_table('facts_backfill')
    for name in FACTS:
        op.drop_index(f'ix_image_workspace_id_{name}_file_id', table_name='image')
    op.drop_column('file', 'name_folded')
    for name in ("alt_folded", "colour", "orientation", "taken_at", "lens", "camera_model", "camera_make"):
        op.drop_column('image', name)
