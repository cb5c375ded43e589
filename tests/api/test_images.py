"""GET/DELETE /api/images over real provisioned images: shape, pagination, filters, isolation, session auth, cascade."""

from urllib.parse import urlencode

import requests

from app.domain.files import File
from app.domain.images import Image
from app.extensions import db
from tests.services import deadline_for, wait_until

LIST, ONE = "/api/images", "/api/images/{file_id}"


def test_list_answers_the_workspaces_images_newest_first_in_the_one_image_shape(
    client, gallery, conforms, images_service
):
    response = client.get(LIST, headers=gallery.a.auth("read"))
    body = conforms(response, LIST, "GET")
    assert [item["fileId"] for item in body["data"]] == gallery.a_all
    assert body["has_more"] is False and body["next_cursor"] is None
    canon = next(item for item in body["data"] if item["name"] == "Beach-Sunset.jpg")
    assert (canon["width"], canon["height"], canon["mimeType"], canon["format"]) == (100, 68, "image/jpeg", "jpeg")
    assert canon["exif"]["Make"] == "Canon" and canon["workspaceId"] == gallery.a.workspace_id
    assert canon["cfImageId"] == canon["fileId"] and canon["projectId"] == gallery.a.project_id
    assert canon["versionedUrl"] == canon["variants"]["public"] and canon["versionedUrl"].startswith(images_service.url)
    assert canon["versionedUrl"].endswith(f"/{canon['cfImageId']}/public") and canon["version"] == 1
    assert canon["url"].endswith(f"/i/{canon['fileId']}/public")  # the stable URL: the product's redirect
    assert canon["placeholder"]["dominantColor"].startswith("#")
    portrait = next(item for item in body["data"] if item["name"] == "portrait.jpg")
    assert (portrait["width"], portrait["height"]) == (450, 600)  # EXIF orientation applied
    delivered = requests.get(canon["variants"]["thumbnail"], timeout=10)
    assert delivered.status_code == 200 and delivered.headers["Content-Type"].startswith("image/")


def test_explicit_own_workspace_and_get_one(client, gallery, conforms):
    listed = client.get(f"{LIST}?workspace_id={gallery.a.workspace_id}", headers=gallery.a.auth("read"))
    assert [item["fileId"] for item in conforms(listed, LIST, "GET")["data"]] == gallery.a_all
    file_id = gallery.a_ids[1]
    one = client.get(f"/api/images/{file_id}", headers=gallery.a.auth("read"))
    body = conforms(one, ONE, "GET")
    assert body["fileId"] == file_id and body["name"] == "team.jpg" and body["exif"]["Make"] == "NIKON CORPORATION"
    assert body == next(item for item in listed.json["data"] if item["fileId"] == file_id)


def test_cursor_pagination_walks_every_page_exactly_once(client, gallery, conforms):
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = conforms(client.get(f"{LIST}?{urlencode(query)}", headers=gallery.a.auth("read")), LIST, "GET")
        pages += 1
        assert len(page["data"]) <= 2
        seen += [item["fileId"] for item in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        assert gallery.a_all[len(seen) - 1] not in page["next_cursor"]  # opaque, not a raw id
        cursor = page["next_cursor"]
    assert seen == gallery.a_all and pages == 3
    bad = client.get(f"{LIST}?cursor=not-a-cursor", headers=gallery.a.auth("read"))
    assert conforms(bad, LIST, "GET")["parameter"] == "cursor" and bad.status_code == 400


def test_filters_by_project_and_by_name(client, gallery, conforms):
    auth = gallery.a.auth("read")
    blog = conforms(client.get(f"{LIST}?project_id={gallery.a_second_project}", headers=auth), LIST, "GET")
    assert [item["fileId"] for item in blog["data"]] == gallery.a_second_ids
    website = conforms(client.get(f"{LIST}?project_id={gallery.a.project_id}", headers=auth), LIST, "GET")
    assert [item["fileId"] for item in website["data"]] == sorted(gallery.a_ids, reverse=True)
    sun = conforms(client.get(f"{LIST}?q=SUN", headers=auth), LIST, "GET")
    assert sorted(item["name"] for item in sun["data"]) == ["Beach-Sunset.jpg", "sunrise.JPG"]
    assert client.get(f"{LIST}?q=%25", headers=auth).json["data"] == []  # LIKE wildcards are literal
    both = client.get(f"{LIST}?q=sun&project_id={gallery.a.project_id}&limit=1", headers=auth).json
    assert [item["name"] for item in both["data"]] == ["sunrise.JPG"] and both["has_more"] is True
    long_q = client.get(f"{LIST}?q={'x' * 256}", headers=auth)
    assert long_q.status_code == 400 and conforms(long_q, LIST, "GET")["parameter"] == "q"


def test_limit_is_validated_and_named(client, gallery, conforms):
    auth = gallery.a.auth("read")
    for bad in ("0", "101", "abc", "-1", "2.5"):
        response = client.get(f"{LIST}?limit={bad}", headers=auth)
        body = conforms(response, LIST, "GET")
        assert response.status_code == 400 and body["code"] == "invalid_limit" and body["parameter"] == "limit", bad
    assert len(client.get(f"{LIST}?limit=100", headers=auth).json["data"]) == 5
    assert len(client.get(f"{LIST}?limit=1", headers=auth).json["data"]) == 1


def test_there_is_no_create_call(client, tenant, conforms):
    for headers in (tenant.auth("write"), {}):
        response = client.post(LIST, headers=headers)
        body = conforms(response, LIST, "POST")
        assert response.status_code == 405 and response.mimetype == "application/problem+json"
        assert "POST /api/files" in body["detail"] and body["see"] == "/api/files"
        assert "GET" in response.headers["Allow"] and "POST" not in response.headers["Allow"]


def test_unauthenticated_and_read_only_callers(client, gallery, conforms):
    file_id = gallery.a_ids[0]
    for path, method in ((LIST, "GET"), (f"/api/images/{file_id}", "GET"), (f"/api/images/{file_id}", "DELETE")):
        response = client.open(path, method=method)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
        conforms(response, LIST if path == LIST else ONE, method)
    refused = client.delete(f"/api/images/{file_id}", headers=gallery.a.auth("read"))
    assert refused.status_code == 403 and conforms(refused, ONE, "DELETE")["code"] == "insufficient_scope"
    assert client.get(f"/api/images/{file_id}", headers=gallery.a.auth("read")).status_code == 200


def _same_problem(foreign, missing):
    """Another workspace's object and a nonexistent one are indistinguishable but for the id echoed back."""
    assert foreign.status_code == missing.status_code == 404
    a, b = foreign.get_json(), missing.get_json()
    assert a.keys() == b.keys() and {k: a[k] for k in a if k != "detail"} == {k: b[k] for k in b if k != "detail"}
    assert foreign.headers.get("Content-Type") == missing.headers.get("Content-Type")


def _snapshot(app, workspace_id):
    from sqlalchemy import select

    with app.app_context():
        return (
            sorted(db.session.scalars(select(Image.file_id).where(Image.workspace_id == workspace_id))),
            sorted(db.session.scalars(select(File.id).where(File.workspace_id == workspace_id))),
        )


def test_a_token_of_a_sees_and_changes_nothing_of_b(client, gallery, app, conforms):
    before = _snapshot(app, gallery.b.workspace_id)
    auth = gallery.a.auth("write")
    _same_problem(
        client.get(f"{LIST}?workspace_id={gallery.b.workspace_id}", headers=auth),
        client.get(f"{LIST}?workspace_id=ws_00000000000000000000000000", headers=auth),
    )
    _same_problem(
        client.get(f"{LIST}?project_id={gallery.b.project_id}", headers=auth),
        client.get(f"{LIST}?project_id=prj_0000000000000000000000000", headers=auth),
    )
    assert not set(gallery.b_ids) & {item["fileId"] for item in client.get(LIST, headers=auth).json["data"]}
    for file_id in gallery.b_ids:
        for method in ("GET", "DELETE"):
            foreign = client.open(f"/api/images/{file_id}", method=method, headers=auth)
            _same_problem(
                foreign, client.open("/api/images/fil_00000000000000000000000000", method=method, headers=auth)
            )
            assert conforms(foreign, ONE, method)["code"] == "image_not_found"
        for path in (f"/api/files/{file_id}", f"/api/files/{file_id}/content"):
            assert client.get(path, headers=auth).status_code == 404
        assert client.delete(f"/api/files/{file_id}", headers=auth).status_code == 404
    assert _snapshot(app, gallery.b.workspace_id) == before
    own = client.get(LIST, headers=gallery.b.auth("read")).json["data"]
    assert sorted(item["fileId"] for item in own) == sorted(gallery.b_ids)


def test_a_session_user_of_a_sees_and_changes_nothing_of_b(gallery, app, browser, conforms):
    user = browser(gallery.a, "owner")
    before = _snapshot(app, gallery.b.workspace_id)
    _same_problem(
        user.get(f"{LIST}?workspace_id={gallery.b.workspace_id}"),
        user.get(f"{LIST}?workspace_id=ws_00000000000000000000000000"),
    )
    for file_id in gallery.b_ids:
        _same_problem(user.get(f"/api/images/{file_id}"), user.get("/api/images/fil_00000000000000000000000000"))
        _same_problem(user.delete(f"/api/images/{file_id}"), user.delete("/api/images/fil_00000000000000000000000000"))
        # Naming B's workspace explicitly does not help either: a call naming a file takes no workspace_id.
        explicit = user.delete(f"/api/images/{file_id}?workspace_id={gallery.b.workspace_id}")
        assert explicit.status_code == 400 and conforms(explicit, ONE, "DELETE")["parameter"] == "workspace_id"
        assert user.get(f"/api/files/{file_id}").status_code == 404
        assert user.delete(f"/api/files/{file_id}").status_code == 404
    assert _snapshot(app, gallery.b.workspace_id) == before
    mine = conforms(user.get(f"{LIST}?workspace_id={gallery.a.workspace_id}"), LIST, "GET")
    assert [item["fileId"] for item in mine["data"]] == gallery.a_all


def test_session_users_read_by_membership_and_write_by_role(gallery, app, browser, conforms):
    viewer = browser(gallery.a, "viewer")
    missing = viewer.get(LIST)
    assert missing.status_code == 400 and conforms(missing, LIST, "GET")["parameter"] == "workspace_id"
    listed = conforms(viewer.get(f"{LIST}?workspace_id={gallery.a.workspace_id}&limit=2"), LIST, "GET")
    assert [item["fileId"] for item in listed["data"]] == gallery.a_all[:2]
    file_id = gallery.a_ids[0]
    assert conforms(viewer.get(f"/api/images/{file_id}"), ONE, "GET")["fileId"] == file_id
    refused = viewer.delete(f"/api/images/{file_id}")
    assert refused.status_code == 403 and conforms(refused, ONE, "DELETE")["code"] == "insufficient_role"
    assert viewer.delete(f"/api/files/{file_id}").status_code == 403
    # A member of both workspaces reaches each by membership, with the role it holds there.
    both = browser(gallery.a, "editor", also=[(gallery.b, "viewer")])
    assert both.get(f"/api/images/{gallery.b_ids[0]}").status_code == 200
    assert both.delete(f"/api/images/{gallery.b_ids[0]}").status_code == 403
    assert both.delete(f"/api/images/{file_id}").status_code == 200
    assert both.delete(f"/api/images/{file_id}").status_code == 404


def test_session_writes_need_the_csrf_token(gallery, app, browser, conforms):
    editor = browser(gallery.a, "editor")
    file_id = gallery.a_ids[0]
    for csrf in (None, "forged-token", browser(gallery.a, "editor").csrf_token):
        response = editor.delete(f"/api/images/{file_id}", csrf=csrf)
        body = conforms(response, ONE, "DELETE")
        assert response.status_code == 400 and body["code"] == "csrf_failed", csrf
    assert _snapshot(app, gallery.a.workspace_id)[0] == sorted(gallery.a_all)
    # A bearer request is not a browser's: no CSRF token needed, and the cookie does not widen it.
    assert editor.client.get(f"/api/images/{file_id}", headers=gallery.b.auth("write")).status_code == 404
    done = editor.delete(f"/api/images/{file_id}")
    assert done.status_code == 200 and conforms(done, ONE, "DELETE") == {
        "object": "image",
        "fileId": file_id,
        "deleted": True,
        "restorableUntil": done.json["restorableUntil"],
    }
    assert done.json["restorableUntil"]  # in the trash


def test_a_session_user_uploads_through_the_files_endpoint(gallery, browser, corpus):
    import io

    editor = browser(gallery.a, "editor")
    form = {"file": (io.BytesIO((corpus / "Canon_40D.jpg").read_bytes()), "c.jpg"), "project_id": gallery.a.project_id}
    # The gallery already holds these bytes: keep both, so this is a new file (201).
    created = editor.post("/api/files?duplicates=allow", data=form, content_type="multipart/form-data")
    assert created.status_code == 201 and created.json["workspaceId"] == gallery.a.workspace_id
    form = {"file": (io.BytesIO(b"x"), "c.txt"), "project_id": gallery.b.project_id}
    assert editor.post("/api/files", data=form, content_type="multipart/form-data").status_code == 400
    form = {"file": (io.BytesIO(b"x"), "c.txt"), "project_id": gallery.a.project_id}
    assert editor.post("/api/files", data=form, content_type="multipart/form-data", csrf=False).status_code == 400
    viewer = browser(gallery.a, "viewer")
    form = {"file": (io.BytesIO(b"x"), "c.txt"), "project_id": gallery.a.project_id}
    assert viewer.post("/api/files", data=form, content_type="multipart/form-data").status_code == 403


def test_delete_cascades_into_the_file_the_bytes_and_the_images_copy(client, gallery, app, run_jobs, conforms):
    file_id = gallery.a_ids[2]
    auth = gallery.a.auth("write")
    with app.app_context():
        key = db.session.get(File, file_id).storage_key
        assert app.extensions["storage"].exists(key)
        assert [c["id"] for c in app.extensions["images"].list(creator=file_id)["images"]] == [file_id]
    deleted = client.delete(f"/api/images/{file_id}?permanent=true", headers=auth)
    assert conforms(deleted, ONE, "DELETE") == {
        "object": "image",
        "fileId": file_id,
        "deleted": True,
        "restorableUntil": None,
    }
    again = client.delete(f"/api/images/{file_id}", headers=auth)
    assert again.status_code == 404 and conforms(again, ONE, "DELETE")["code"] == "image_not_found"
    assert client.get(f"/api/images/{file_id}", headers=auth).status_code == 404
    assert client.get(f"/api/files/{file_id}", headers=auth).status_code == 404  # the file row went at once
    assert file_id not in {item["fileId"] for item in client.get(LIST, headers=auth).json["data"]}

    def removed() -> bool:
        run_jobs()
        with app.app_context():
            return not app.extensions["images"].list(creator=file_id)["images"] and not app.extensions[
                "storage"
            ].exists(key)

    deadline = deadline_for(app.config, failures=0)
    wait_until(removed, deadline, "the Images copy and the stored bytes to be removed", interval=0.2)
    with app.app_context():
        assert db.session.get(Image, file_id) is None and db.session.get(File, file_id) is None
    others = client.get(LIST, headers=auth).json["data"]
    assert sorted(item["fileId"] for item in others) == sorted(set(gallery.a_all) - {file_id})


def test_nul_characters_are_refused_before_they_reach_the_database(client, tenant, browser, conforms):
    """PostgreSQL cannot compare a string holding NUL; every such input answers a named 400, never a 500."""
    auth = tenant.auth()
    for path, documented, parameter in (
        ("/api/images/a%00b", ONE, "file_id"),
        (f"{LIST}?project_id=a%00b", LIST, "project_id"),
        (f"{LIST}?workspace_id=a%00b", LIST, "workspace_id"),
        (f"{LIST}?q=a%00b", LIST, "q"),
        ("/api/files/a%00b", "/api/files/{file_id}", "file_id"),
        ("/api/files?project_id=a%00b", "/api/files", "project_id"),
    ):
        response = client.get(path, headers=auth)
        assert response.status_code == 400 and conforms(response, documented, "GET")["parameter"] == parameter, path
    # A cursor that decodes to a NUL-bearing id is not one the API gave out.
    crafted = client.get(f"{LIST}?cursor=eyJhZnRlciI6ICJhXHUwMDAwYiJ9", headers=auth)
    assert crafted.status_code == 400 and crafted.get_json()["code"] == "invalid_cursor"
    user = browser(tenant, "editor")
    assert user.get(f"{LIST}?workspace_id=a%00b").status_code == 400
    assert user.delete("/api/images/a%00b").status_code == 400
