import hashlib
import io
import os
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from sqlalchemy import func, select

from app.domain.events import Event
from app.domain.files import File
from app.extensions import db


def upload(client, tenant, data: bytes, name="photo.jpg", content_type="image/jpeg", project_id=None, scope="write"):
    """A new file each time, also for bytes already uploaded (tests/api/test_exact_duplicates.py has the default)."""
    form = {"file": (io.BytesIO(data), name, content_type), "project_id": project_id or tenant.project_id}
    return client.post(
        "/api/files?duplicates=allow", data=form, headers=tenant.auth(scope), content_type="multipart/form-data"
    )


def count(model, app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_upload_streams_hashes_sniffs_and_announces(client, tenant, app, corpus):
    data = (corpus / "Canon_40D.jpg").read_bytes()
    response = upload(client, tenant, data, name="canon.png", content_type="image/png")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["mimeType"] == "image/jpeg"  # sniffed from the bytes, not the client's claim
    assert body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["status"] == "ready" and body["isImage"] is True
    assert body["workspaceId"] == tenant.workspace_id and body["projectId"] == tenant.project_id
    assert response.headers["Location"].endswith(f"/api/files/{body['id']}")
    with app.app_context():
        stored = db.session.get(File, body["id"])
        assert stored.storage_key == f"{tenant.workspace_id}/{body['id']}"
        events = db.session.scalars(select(Event).where(Event.subject_id == body["id"])).all()
        assert [e.type for e in events] == ["file.ready"]
        assert events[0].payload["mimeType"] == "image/jpeg"
        stored_path = app.extensions["storage"].path(stored.storage_key)
        assert stored_path.read_bytes() == data
        job_ids = app.extensions["queue"].queue("events").job_ids
        assert job_ids == [f"event-{events[0].id}"]
    assert os.listdir(app.config["UPLOAD_TMP_DIR"]) == []


def test_text_named_like_a_photo_is_text(client, tenant):
    response = upload(client, tenant, b"just some words, not a picture\n", name="photo.jpg")
    assert response.status_code == 201
    assert response.json["mimeType"] == "text/plain"
    assert response.json["isImage"] is False


def test_svg_is_sniffed_as_svg(client, tenant):
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>'
    assert (
        upload(client, tenant, svg, name="x.bin", content_type="application/octet-stream").json["mimeType"]
        == "image/svg+xml"
    )


def test_ids_are_time_ordered_and_listing_pages_newest_first(client, tenant):
    ids = []
    for n in range(5):
        ids.append(upload(client, tenant, f"file {n}".encode(), name=f"{n}.txt").json["id"])
    assert ids == sorted(ids)
    seen, cursor = [], None
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/api/files?{urlencode(query)}", headers=tenant.auth("read")).json
        assert page["object"] == "list" and len(page["data"]) <= 2
        seen += [item["id"] for item in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert seen == list(reversed(ids))


def test_list_filters_by_project_and_rejects_bad_parameters(client, tenant, other_tenant):
    upload(client, tenant, b"hello", name="a.txt")
    listed = client.get(f"/api/files?project_id={tenant.project_id}", headers=tenant.auth("read")).json
    assert len(listed["data"]) == 1
    for query, parameter in (("limit=0", "limit"), ("limit=abc", "limit"), ("cursor=%%%", "cursor")):
        response = client.get(f"/api/files?{query}", headers=tenant.auth("read"))
        assert response.status_code == 400, query
        assert response.mimetype == "application/problem+json"
        assert response.json["parameter"] == parameter
    foreign = client.get(f"/api/files?project_id={other_tenant.project_id}", headers=tenant.auth("read"))
    assert foreign.status_code == 404
    foreign_ws = client.get(f"/api/files?workspace_id={other_tenant.workspace_id}", headers=tenant.auth("read"))
    assert foreign_ws.status_code == 404 and foreign_ws.json["code"] == "workspace_not_found"


def test_content_redirects_to_a_signed_url_that_expires(client, tenant, app, live_server):
    data = os.urandom(50_000)
    file_id = upload(client, tenant, data, name="blob.bin").json["id"]
    response = client.get(f"/api/files/{file_id}/content", headers=tenant.auth("read"))
    assert response.status_code == 302
    url = response.headers["Location"]
    assert url.startswith(live_server.url + "/storage/")
    fetched = requests.get(url, timeout=5)
    assert fetched.status_code == 200 and fetched.content == data
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    tampered_sig = f"{live_server.url}{parts.path}?exp={query['exp'][0]}&sig={'0' * 64}"
    assert requests.get(tampered_sig, timeout=5).status_code == 403
    longer = f"{live_server.url}{parts.path}?exp={int(query['exp'][0]) + 3600}&sig={query['sig'][0]}"
    assert requests.get(longer, timeout=5).status_code == 403
    other_key = f"{live_server.url}/storage/{tenant.workspace_id}/fil_other?{parts.query}"
    assert requests.get(other_key, timeout=5).status_code == 403
    with app.app_context():
        storage = app.extensions["storage"]
        key = f"{tenant.workspace_id}/{file_id}"
        expired = int(time.time()) - 1
        assert (
            requests.get(
                f"{live_server.url}/storage/{key}?exp={expired}&sig={storage.signature(key, expired)}", timeout=5
            ).status_code
            == 403
        )
    for traversal in ("/storage/..%2F..%2Fetc/passwd", "/storage/../../etc/passwd", "/storage/a/..%2f..%2fx"):
        assert requests.get(live_server.url + traversal + "?exp=9999999999&sig=00", timeout=5).status_code in (403, 404)


def test_delete_removes_row_at_once_and_bytes_in_a_job(client, tenant, app, run_jobs):
    file_id = upload(client, tenant, b"bytes to delete", name="d.txt").json["id"]
    key = f"{tenant.workspace_id}/{file_id}"
    with app.app_context():
        assert app.extensions["storage"].exists(key)
    response = client.delete(f"/api/files/{file_id}?permanent=true", headers=tenant.auth())
    assert response.status_code == 200 and response.json == {
        "id": file_id,
        "object": "file",
        "deleted": True,
        "restorableUntil": None,
    }
    assert client.get(f"/api/files/{file_id}", headers=tenant.auth("read")).status_code == 404
    assert client.delete(f"/api/files/{file_id}", headers=tenant.auth()).status_code == 404
    run_jobs()
    with app.app_context():
        assert not app.extensions["storage"].exists(key)
        types = db.session.scalars(select(Event.type).where(Event.subject_id == file_id).order_by(Event.id)).all()
        assert types == ["file.ready", "file.deleted"]
        assert db.session.scalar(select(func.count()).select_from(Event).where(Event.dispatched_at.is_(None))) == 0


def test_bad_requests_get_problems_and_leave_nothing(client, tenant, other_tenant, app):
    def problem(response, status, code):
        assert response.status_code == status, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
        body = response.json
        assert body["status"] == status and body["code"] == code and body["detail"] and body["title"]
        return body

    auth = tenant.auth()
    problem(
        client.post(
            "/api/files", data={"project_id": tenant.project_id}, headers=auth, content_type="multipart/form-data"
        ),
        400,
        "file_missing",
    )
    problem(upload(client, tenant, b""), 400, "empty_file")
    problem(client.post("/api/files", json={"file": "x"}, headers=auth), 415, "multipart_required")
    problem(
        client.post(
            "/api/files", data={"file": (io.BytesIO(b"x"), "a.txt")}, headers=auth, content_type="multipart/form-data"
        ),
        400,
        "project_id_missing",
    )
    problem(upload(client, tenant, b"x", project_id="prj_doesnotexist"), 404, "project_not_found")
    problem(upload(client, tenant, b"x", project_id=other_tenant.project_id), 404, "project_not_found")
    problem(client.post("/api/files", data={}), 401, "unauthorized")
    problem(client.get("/api/files", headers={"Authorization": "Bearer aet_nope"}), 401, "invalid_token")
    problem(client.get("/api/files", headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    problem(upload(client, tenant, b"x", scope="read"), 403, "insufficient_scope")
    problem(client.get("/api/nothing-here", headers=auth), 404, "not_found")
    problem(client.put("/api/files", headers=auth), 405, "method_not_allowed")
    theirs = upload(client, other_tenant, b"secret").json["id"]
    for method in ("get", "delete"):
        problem(getattr(client, method)(f"/api/files/{theirs}", headers=auth), 404, "file_not_found")
    problem(client.get(f"/api/files/{theirs}/content", headers=auth), 404, "file_not_found")
    problem(client.get("/api/files/" + "x" * 500, headers=auth), 404, "file_not_found")
    assert count(File, app) == 1  # only the other workspace's file
    assert os.listdir(app.config["UPLOAD_TMP_DIR"]) == []


def test_too_large_is_refused_with_nothing_stored(tenant, app, live_server):
    """Over real HTTP: Werkzeug's test client spools big bodies into files it never closes."""
    limit = app.config["MAX_UPLOAD_BYTES"]

    def post(size: int, fill: bytes) -> requests.Response:
        return requests.post(
            f"{live_server.url}/api/files",
            headers=tenant.auth(),
            timeout=30,
            data={"project_id": tenant.project_id},
            files={"file": ("big.bin", fill * size)},
        )

    response = post(limit + 1, b"\0")
    assert response.status_code == 413 and response.json()["code"] == "file_too_large"
    big = post(limit + 200 * 1024, b"\0")
    assert big.status_code == 413 and big.headers["Content-Type"] == "application/problem+json"
    assert post(limit, b"\1").status_code == 201
    assert count(File, app) == 1
    assert os.listdir(app.config["UPLOAD_TMP_DIR"]) == []
    assert len(os.listdir(os.path.join(app.config["STORAGE_ROOT"], tenant.workspace_id))) == 1


def test_hostile_names_become_safe_display_names(client, tenant, app):
    cases = {
        "../../etc/passwd": "passwd",
        "..\\..\\boot.ini": "boot.ini",
        "..": "untitled",
        "a\x00b\x1fc\x7f.txt": "abc.txt",
        "<script>alert(1)</script>.png": "script>.png",
        "x" * 1000 + ".jpeg": "x" * 250 + ".jpeg",
        "  spaced\tout  ": "spaced out",
    }
    for raw, expected in cases.items():
        body = upload(client, tenant, b"content", name=raw).json
        assert body["name"] == expected, raw
        with app.app_context():
            assert db.session.get(File, body["id"]).storage_key == f"{tenant.workspace_id}/{body['id']}"


def test_unwritable_storage_answers_503_and_leaves_nothing(make_app, tenant, app, tmp_path):
    root = tmp_path / "storage"
    broken = make_app(storage_root=str(root), upload_tmp_dir=str(tmp_path / "up"))
    root.rmdir()
    root.write_text("the storage folder is gone and a file stands in its way")
    response = upload(broken.test_client(), tenant, b"some bytes")
    assert response.status_code == 503 and response.json["code"] == "storage_unavailable"
    assert response.mimetype == "application/problem+json"
    assert count(File, app) == 0
    assert os.listdir(tmp_path / "up") == []


def test_the_sweeper_fails_uploads_a_dead_process_left_pending(app, tenant, tmp_path):
    from datetime import timedelta

    from app.domain.common import utcnow
    from app.domain.files import sweep_stale_uploads

    with app.app_context():
        key = f"{tenant.workspace_id}/fil_stale"
        partial = tmp_path / "partial"
        partial.write_bytes(b"half an upload")
        app.extensions["storage"].put_file(key, str(partial))
        db.session.add(
            File(
                id="fil_stale",
                workspace_id=tenant.workspace_id,
                project_id=tenant.project_id,
                name="x",
                mime_type="image/jpeg",
                size=1,
                sha256="0" * 64,
                storage_key=key,
                status="pending",
                created_at=utcnow() - timedelta(hours=2),
            )
        )
        db.session.add(
            File(
                id="fil_fresh",
                workspace_id=tenant.workspace_id,
                project_id=tenant.project_id,
                name="y",
                mime_type="image/jpeg",
                size=1,
                sha256="0" * 64,
                storage_key=f"{tenant.workspace_id}/fil_fresh",
                status="pending",
                created_at=utcnow(),
            )
        )
        db.session.commit()
        assert sweep_stale_uploads() == 1
        stale = db.session.get(File, "fil_stale")
        assert stale.status == "error" and stale.error_code == "upload_interrupted"
        assert not app.extensions["storage"].exists(key)
        assert db.session.get(File, "fil_fresh").status == "pending"


def test_the_sweeper_passes_over_a_spool_that_vanishes_while_it_looks(app, tenant):
    """The worker's sweep lists the spool folder, then looks at each entry; an upload that is stored in between
    takes its spool away. A dangling link is an entry listed whose file is already gone: the sweep must go on."""
    from app.domain.files import sweep_stale_uploads

    with app.app_context():
        directory = app.config["UPLOAD_TMP_DIR"]
        os.makedirs(directory, exist_ok=True)
        vanished = os.path.join(directory, "upload-vanished.part")
        os.symlink(os.path.join(directory, "stored-meanwhile"), vanished)
        try:
            assert sweep_stale_uploads() == 0
        finally:
            os.unlink(vanished)
