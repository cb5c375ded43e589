"""Issue 23, exact duplicates: bytes a workspace already has are answered with the existing file (200,
`duplicateOf`) on every upload path unless `duplicates=allow`; `GET /api/files?sha256=` asks before sending.
Real SQLite or PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import hashlib
import io
import uuid

from sqlalchemy import func, select

from app.domain.files import File
from app.extensions import db
from tests.reliability.reliability_support import scalar


def post(client, tenant, data: bytes, name: str, query: str = "", project_id: str | None = None, key=None):
    headers = tenant.auth()
    if key:
        headers["Idempotency-Key"] = key
    form = {"file": (io.BytesIO(data), name, "text/plain"), "project_id": project_id or tenant.project_id}
    return client.post(f"/api/files{query}", data=form, headers=headers, content_type="multipart/form-data")


def stored(app, sha256: str) -> int:
    return scalar(app, select(func.count()).select_from(File).where(File.sha256 == sha256))


def test_the_same_bytes_answer_the_existing_file(app, client, tenant, conforms):
    data = f"report {uuid.uuid4()}".encode()
    first = post(client, tenant, data, "report.txt")
    assert first.status_code == 201 and "duplicateOf" not in first.get_json()
    again = post(client, tenant, data, "copy of report.txt")
    assert again.status_code == 200, again.get_json()
    body = again.get_json()
    assert body["id"] == first.get_json()["id"] == body["duplicateOf"]
    assert body["name"] == "report.txt"  # the existing file, as it is
    assert again.headers["Location"].endswith(f"/api/files/{body['id']}")
    conforms(again, "/api/files", "post")
    assert stored(app, hashlib.sha256(data).hexdigest()) == 1


def test_allow_stores_a_second_file(app, client, tenant):
    data = f"allowed {uuid.uuid4()}".encode()
    first = post(client, tenant, data, "a.txt").get_json()
    second = post(client, tenant, data, "b.txt", query="?duplicates=allow")
    assert second.status_code == 201 and second.get_json()["id"] != first["id"]
    assert "duplicateOf" not in second.get_json()
    assert stored(app, hashlib.sha256(data).hexdigest()) == 2


def test_a_bad_duplicates_value_is_a_problem(client, tenant):
    answer = post(client, tenant, b"x", "x.txt", query="?duplicates=maybe")
    assert answer.status_code == 400 and answer.get_json()["code"] == "invalid_parameter"
    assert answer.get_json()["parameter"] == "duplicates"


def test_scope_is_the_workspace_not_the_project(app, client, tenant, factory, other_tenant):
    data = f"shared {uuid.uuid4()}".encode()
    first = post(client, tenant, data, "one.txt").get_json()
    with app.app_context():
        from app.domain import accounts

        second_project = accounts.create_project(tenant.workspace_id, "Second").id
        db.session.commit()
    again = post(client, tenant, data, "two.txt", project_id=second_project)
    assert again.status_code == 200 and again.get_json()["duplicateOf"] == first["id"]
    assert again.get_json()["projectId"] == tenant.project_id
    # Another workspace's bytes are none of this workspace's business: it stores its own.
    elsewhere = post(client, other_tenant, data, "one.txt")
    assert elsewhere.status_code == 201 and elsewhere.get_json()["id"] != first["id"]


def test_a_file_in_the_trash_is_not_a_duplicate(client, tenant):
    data = f"trashed {uuid.uuid4()}".encode()
    first = post(client, tenant, data, "gone.txt").get_json()
    assert client.delete(f"/api/files/{first['id']}", headers=tenant.auth()).status_code == 200
    again = post(client, tenant, data, "gone.txt")
    assert again.status_code == 201 and again.get_json()["id"] != first["id"]


def test_a_repeat_with_the_same_key_replays_the_duplicate_answer(client, tenant):
    data = f"keyed {uuid.uuid4()}".encode()
    first = post(client, tenant, data, "k.txt").get_json()
    key = str(uuid.uuid4())
    one = post(client, tenant, data, "k.txt", key=key)
    two = post(client, tenant, data, "k.txt", key=key)
    assert one.status_code == two.status_code == 200
    assert one.get_json() == two.get_json() and one.get_json()["duplicateOf"] == first["id"]


def test_hash_first_finds_the_file_before_the_bytes_are_sent(client, tenant, other_tenant, conforms):
    data = f"hash first {uuid.uuid4()}".encode()
    digest = hashlib.sha256(data).hexdigest()
    before = client.get(f"/api/files?sha256={digest}", headers=tenant.auth("read"))
    assert before.status_code == 200 and before.get_json()["data"] == []
    made = post(client, tenant, data, "h.txt").get_json()
    after = client.get(f"/api/files?sha256={digest.upper()}", headers=tenant.auth("read"))
    conforms(after, "/api/files", "get")
    assert [f["id"] for f in after.get_json()["data"]] == [made["id"]]
    assert client.get(f"/api/files?sha256={digest}", headers=other_tenant.auth("read")).get_json()["data"] == []
    bad = client.get("/api/files?sha256=xyz", headers=tenant.auth("read"))
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "sha256"


def test_a_one_time_upload_url_answers_the_existing_file(client, tenant, conforms):
    data = f"url {uuid.uuid4()}".encode()
    first = post(client, tenant, data, "u.txt").get_json()
    made = client.post("/api/uploads", json={"projectId": tenant.project_id}, headers=tenant.auth())
    assert made.status_code == 201, made.get_json()
    url = made.get_json()["uploadUrl"]
    path = url[url.index("/api/") :]
    used = client.post(path, data={"file": (io.BytesIO(data), "u.txt")}, content_type="multipart/form-data")
    assert used.status_code == 200, used.get_json()
    assert used.get_json()["file"]["id"] == used.get_json()["file"]["duplicateOf"] == first["id"]
    status = client.get(path)
    assert status.get_json()["file"]["id"] == first["id"]
