"""What a client can see of an image on its way, and HTTP as clients expect it: caching, ETags, Allow, 413s."""

import time

import requests

from app.domain.files import File
from app.domain.images import Image, Provisioning
from app.extensions import db
from tests.api.conftest import upload_image

ONE, FILE = "/api/images/{file_id}", "/api/files/{file_id}"


def test_an_image_on_its_way_says_so_and_is_told_apart_from_a_missing_one(
    client, tenant, corpus, live_server, run_jobs, conforms
):
    import io

    auth = tenant.auth("read")
    file_id = upload_image(live_server, tenant, corpus, "Canon_40D.jpg")
    file = conforms(client.get(f"/api/files/{file_id}", headers=auth), FILE, "GET")
    assert file["image"] == {"status": "processing", "error": None, "nextAttemptAt": None, "attempts": 0}
    early = client.get(f"/api/images/{file_id}", headers=auth)
    body = conforms(early, ONE, "GET")
    assert early.status_code == 409 and body["code"] == "image_not_ready" and body["imageStatus"] == "processing"
    missing = client.get("/api/images/fil_nothere", headers=auth)
    assert missing.status_code == 404 and missing.json["code"] == "image_not_found"
    text = client.post(
        "/api/files",
        data={"file": (io.BytesIO(b"words"), "a.txt"), "project_id": tenant.project_id},
        headers=tenant.auth(),
        content_type="multipart/form-data",
    ).json
    assert text["image"] is None
    assert client.get(f"/api/images/{text['id']}", headers=auth).status_code == 404
    run_jobs()
    assert client.get(f"/api/files/{file_id}", headers=auth).json["image"]["status"] == "ready"
    assert client.get(f"/api/images/{file_id}", headers=auth).status_code == 200
    listed = conforms(client.get("/api/files", headers=auth), "/api/files", "GET")
    assert {item["id"]: item["image"] and item["image"]["status"] for item in listed["data"]} == {
        file_id: "ready",
        text["id"]: None,
    }


def test_an_image_that_failed_says_why(client, tenant, live_server, run_jobs, conforms):
    broken = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
    response = requests.post(
        f"{live_server.url}/api/files",
        headers=tenant.auth(),
        timeout=30,
        data={"project_id": tenant.project_id},
        files={"file": ("broken.jpg", broken)},
    )
    file_id = response.json()["id"]
    run_jobs()
    state = client.get(f"/api/files/{file_id}", headers=tenant.auth("read")).json["image"]
    assert state["status"] == "failed" and state["error"]["code"] and state["error"]["detail"]
    refused = client.get(f"/api/images/{file_id}", headers=tenant.auth("read"))
    assert refused.status_code == 409 and conforms(refused, ONE, "GET")["imageStatus"] == "failed"


def test_deleting_an_image_still_processing_deletes_it_for_good(
    client, tenant, corpus, live_server, app, run_jobs, conforms
):
    file_id = upload_image(live_server, tenant, corpus, "Nikon_D70.jpg")
    deleted = client.delete(f"/api/images/{file_id}", headers=tenant.auth())
    answer = conforms(deleted, ONE, "DELETE")
    assert (answer["object"], answer["fileId"], answer["deleted"]) == ("image", file_id, True)
    deadline = time.monotonic() + 15
    while True:
        run_jobs()
        with app.app_context():
            copies = app.extensions["images"].list(creator=file_id)["images"]
            trashed = db.session.get(File, file_id)
            rows = [db.session.get(model, file_id) for model in (Image, Provisioning)]
        if not copies and rows == [None, None] and trashed.deleted_at is not None:  # in the trash, never an image
            break
        assert time.monotonic() < deadline, f"still there: copies={copies} rows={rows}"
        time.sleep(0.2)
    assert client.get(f"/api/images/{file_id}", headers=tenant.auth()).status_code == 404
    assert client.delete(f"/api/images/{file_id}", headers=tenant.auth()).status_code == 404


def test_authenticated_json_is_never_stored_and_gets_answer_304_to_their_etag(client, gallery, conforms):
    auth = gallery.a.auth("read")
    file_id = gallery.a_ids[0]
    for url in ("/api/images", f"/api/images/{file_id}", "/api/files", f"/api/files/{file_id}", "/api/images/fil_x"):
        assert client.get(url, headers=auth).headers["Cache-Control"] == "private, no-store", url
    for url, path in ((f"/api/images/{file_id}", ONE), (f"/api/files/{file_id}", FILE)):
        first = client.get(url, headers=auth)
        etag = first.headers["ETag"]
        again = client.get(url, headers=auth | {"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
        conforms(again, path, "GET")
        assert client.get(url, headers=auth | {"If-None-Match": '"other"'}).status_code == 200
    before = client.get(f"/api/images/{file_id}", headers=auth).headers["ETag"]
    client.patch(f"/api/images/{file_id}", json={"altText": "changed"}, headers=gallery.a.auth())
    assert client.get(f"/api/images/{file_id}", headers=auth | {"If-None-Match": before}).status_code == 200


def test_options_and_405_state_the_same_methods(client, tenant):
    for path, refused in (
        ("/api/images", "PUT"),
        ("/api/images", "POST"),
        ("/api/images/fil_x", "PUT"),
        ("/api/files", "PATCH"),
        ("/api/files/fil_x", "POST"),
        ("/api/files/fil_x/content", "POST"),  # GET reads the bytes, PUT replaces them
    ):
        options = client.options(path, headers=tenant.auth())
        assert options.status_code == 200
        response = client.open(path, method=refused, headers=tenant.auth())
        assert response.status_code == 405, (path, refused)
        assert set(response.headers["Allow"].split(", ")) == set(options.headers["Allow"].split(", ")), path
        assert refused not in options.headers["Allow"] and "HEAD" in options.headers["Allow"]
    assert set(client.options("/api/images/fil_x").headers["Allow"].split(", ")) == {
        "GET",
        "HEAD",
        "OPTIONS",
        "PATCH",
        "DELETE",
    }


def test_413_says_which_limit_was_hit_and_its_value(tenant, app, live_server):
    url, auth = f"{live_server.url}/api/files", tenant.auth()
    fields = [("project_id", tenant.project_id)] + [(f"f{n}", "x") for n in range(10_000)]
    many = requests.post(url, headers=auth, timeout=60, data=fields, files={"file": ("a.txt", b"a")})
    assert many.status_code == 413 and many.headers["Content-Type"] == "application/problem+json"
    assert (many.json()["code"], many.json()["limit"], many.json()["value"]) == (
        "too_many_form_parts",
        "form_parts",
        app.config["MAX_FORM_PARTS"],
    )
    assert f"{app.config['MAX_FORM_PARTS']:,}" in many.json()["detail"]
    wide = requests.post(
        url,
        headers=auth,
        timeout=60,
        files={"file": ("a.txt", b"a")},
        data={"project_id": tenant.project_id, "note": "x" * (app.config["MAX_FORM_MEMORY_SIZE"] + 1)},
    )
    assert (wide.status_code, wide.json()["limit"], wide.json()["value"]) == (
        413,
        "form_field_size",
        app.config["MAX_FORM_MEMORY_SIZE"],
    )
    limit = app.config["MAX_UPLOAD_BYTES"]
    big = requests.post(
        url,
        headers=auth,
        timeout=60,
        data={"project_id": tenant.project_id},
        files={"file": ("big.bin", b"\0" * (limit + 200 * 1024))},
    )
    assert (big.status_code, big.json()["code"], big.json()["limit"], big.json()["value"]) == (
        413,
        "request_too_large",
        "request_size",
        app.config["MAX_CONTENT_LENGTH"],
    )
    file = requests.post(
        url,
        headers=auth,
        timeout=60,
        data={"project_id": tenant.project_id},
        files={"file": ("big.bin", b"\0" * (limit + 1))},
    )
    assert (file.status_code, file.json()["code"], file.json()["limit"], file.json()["value"]) == (
        413,
        "file_too_large",
        "file_size",
        limit,
    )
