"""Issue 20: an upload answered `503 … nothing was changed` had been stored (the connection was killed after the
commit, while the answer was built), and a client retrying as Retry-After invites stored it twice. After a commit the
answer is 201; an Idempotency-Key gives a repeat the first answer. Real SQLite or PostgreSQL (TEST_DATABASE_URL):
on PostgreSQL the connection is killed with pg_terminate_backend right after the commit, on SQLite it is closed."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from app.client import Client
from app.domain import accounts, idempotency
from app.domain.common import utcnow
from app.domain.events import Event
from app.domain.files import File
from app.domain.idempotency import IdempotentAnswer
from app.extensions import db
from tests.reliability.reliability_support import distinct_jpeg, scalar


def post(client, tenant, data: bytes, name: str, key: str | None = None, token: str | None = None):
    headers = {"Authorization": f"Bearer {token or tenant.write_token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    form = {"file": (io.BytesIO(data), name, "image/jpeg"), "project_id": tenant.project_id}
    # Keys, not bytes, are what these tests are about: bytes already stored still make a new file here (a key-less
    # repeat of known bytes answers the existing file by default: tests/api/test_exact_duplicates.py).
    return client.post("/api/files?duplicates=allow", data=form, headers=headers, content_type="multipart/form-data")


def files_named(app, name: str) -> int:
    return scalar(app, select(func.count()).select_from(File).where(File.name == name))


@pytest.fixture
def kill_after_the_upload_commit(app, database_url):
    """The connection that commits an upload's `file.ready` dies right after that commit, before anything else."""
    doomed: dict = {}

    def before_flush(session, context, instances):
        if any(isinstance(row, Event) and row.type == "file.ready" for row in session.new):
            session.info["file_ready"] = True

    def before_commit(session):
        if any(isinstance(row, Event) and row.type == "file.ready" for row in session.new):
            session.info["file_ready"] = True
        if session.info.pop("file_ready", False) and "dbapi" not in doomed:
            connection = session.connection()
            doomed["dbapi"] = connection.connection.dbapi_connection
            if connection.dialect.name == "postgresql":
                doomed["pid"] = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()

    def after_commit(session):
        if "dbapi" not in doomed or doomed.get("done"):
            return
        doomed["done"] = True
        if "pid" in doomed:
            # The server goes away as in a failover: this connection is killed and no new one is let in.
            with psycopg.connect(admin, autocommit=True) as other:
                other.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                other.execute("SELECT pg_terminate_backend(%s)", (doomed["pid"],))
        else:
            doomed["dbapi"].close()

    def statement(conn, cursor, sql, *args):
        if doomed.get("done"):
            doomed.setdefault("after", []).append(sql)

    if database_url.startswith("postgresql"):
        import psycopg
        from sqlalchemy.engine import make_url

        name = make_url(database_url).database
        admin = make_url(database_url).set(drivername="postgresql", database="postgres").render_as_string(False)
    with app.app_context():
        engine = db.engine
    hooks = [
        (Session, "before_flush", before_flush),
        (Session, "before_commit", before_commit),
        (Session, "after_commit", after_commit),
        (engine, "before_cursor_execute", statement),
    ]

    def reopen() -> None:
        """The server is back: new connections are let in again."""
        if "pid" in doomed:
            with psycopg.connect(admin, autocommit=True) as other:
                other.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    doomed["reopen"] = reopen
    for target, name_, hook in hooks:
        event.listen(target, name_, hook)
    try:
        yield doomed
    finally:
        for target, name_, hook in hooks:
            event.remove(target, name_, hook)
        reopen()


def test_an_upload_committed_before_its_connection_died_answers_201(app, client, tenant, kill_after_the_upload_commit):
    answer = post(client, tenant, distinct_jpeg(1), "killed-after-commit.jpg")
    kill_after_the_upload_commit["reopen"]()
    assert kill_after_the_upload_commit.get("done"), "the connection was killed after the commit"
    # The answer was built before the commit: nothing asked the database after it (before: a SELECT to refresh the
    # expired row, which failed with the server gone and answered 503 "nothing was changed").
    assert kill_after_the_upload_commit.get("after", []) == []
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.json["status"] == "ready" and answer.json["name"] == "killed-after-commit.jpg"
    assert files_named(app, "killed-after-commit.jpg") == 1
    shown = client.get(f"/api/files/{answer.json['id']}", headers=tenant.auth("read"))
    assert shown.status_code == 200 and shown.json["status"] == "ready"


def test_a_repeat_with_the_same_key_gets_the_first_answer_and_stores_nothing(app, client, tenant):
    key = str(uuid.uuid4())
    first = post(client, tenant, distinct_jpeg(2), "once.jpg", key)
    again = post(client, tenant, distinct_jpeg(2), "once.jpg", key)
    assert first.status_code == again.status_code == 201, again.get_data(as_text=True)
    assert again.json == first.json and again.headers["Location"] == first.headers["Location"]
    assert files_named(app, "once.jpg") == 1


def test_a_key_reused_for_another_upload_is_refused(app, client, tenant):
    key = str(uuid.uuid4())
    assert post(client, tenant, distinct_jpeg(3), "first.jpg", key).status_code == 201
    for data, name in ((distinct_jpeg(4), "first.jpg"), (distinct_jpeg(3), "renamed.jpg")):
        refused = post(client, tenant, data, name, key)
        assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
        assert refused.json["code"] == "idempotency_key_reused"
    assert files_named(app, "renamed.jpg") == 0


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "naïve"])
def test_a_malformed_key_is_a_400(client, tenant, key):
    refused = post(client, tenant, distinct_jpeg(5), "bad-key.jpg", key)
    assert refused.status_code == 400 and refused.json["code"] == "idempotency_key_invalid"


def test_keys_belong_to_their_caller_and_expire(app, client, tenant):
    """Another token's key of the same text is another key; an answer older than KEY_LIFETIME is forgotten."""
    with app.app_context():
        _, other_token = accounts.create_token(tenant.workspace_id, "write")
        db.session.commit()
    key = str(uuid.uuid4())
    mine = post(client, tenant, distinct_jpeg(6), "scoped.jpg", key)
    theirs = post(client, tenant, distinct_jpeg(6), "scoped.jpg", key, token=other_token)
    assert mine.status_code == theirs.status_code == 201 and mine.json["id"] != theirs.json["id"]
    with app.app_context():
        db.session.execute(
            update(IdempotentAnswer)
            .where(IdempotentAnswer.key == key)
            .values(created_at=utcnow() - idempotency.KEY_LIFETIME - timedelta(seconds=1))
        )
        db.session.commit()
        later = post(client, tenant, distinct_jpeg(6), "scoped.jpg", key)
        assert later.status_code == 201 and later.json["id"] not in (mine.json["id"], theirs.json["id"])
        assert idempotency.purge_expired() == 1  # the other token's; the later answer replaced mine
        db.session.remove()


def test_the_python_client_sends_one_key_per_file(app, tenant, live_server, tmp_path):
    path = tmp_path / "client.jpg"
    path.write_bytes(distinct_jpeg(7))
    with Client(live_server.url, tenant.write_token) as api:
        first = api.upload_file(path, tenant.project_id, duplicates="allow")
        second = api.upload_file(path, tenant.project_id, duplicates="allow")
        fixed = [
            api.upload_file(path, tenant.project_id, idempotency_key="fixed-key", duplicates="allow") for _ in range(2)
        ]
    assert first["id"] != second["id"], "two calls are two uploads"
    assert fixed[0] == fixed[1], "the same key is the same upload"
    stored = scalar(
        app,
        select(func.count()).select_from(IdempotentAnswer).where(IdempotentAnswer.workspace_id == tenant.workspace_id),
    )
    assert stored == 3
