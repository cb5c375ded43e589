"""One-time upload URLs: made with a write token, used once by a client with no secret, refused clearly otherwise."""

from __future__ import annotations

import io
import os
import threading
from datetime import timedelta

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.errors import DomainError
from app.domain.files import File
from app.domain.upload_urls import MAX_EXPIRES_IN, MIN_EXPIRES_IN, UploadUrl, parse_limits


def png_bytes(colour=(200, 30, 30), size=(24, 16)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def make_url(client, tenant, **body):
    response = client.post("/api/uploads", headers=tenant.auth(), json={"projectId": tenant.project_id, **body})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def path_of(url: str) -> str:
    return "/api/" + url.split("/api/", 1)[1]


def post_file(client, url, data: bytes, name="photo.png", headers=None):
    return client.post(
        path_of(url), data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data", headers=headers or {}
    )


def test_a_url_takes_one_file_which_becomes_an_image_with_the_alt_text(
    client, tenant, app, run_jobs, conforms, live_server
):
    made = make_url(
        client, tenant, maxBytes=100_000, expiresIn=120, metadata={"altText": "A red rectangle", "name": "hero.png"}
    )
    conforms(
        client.post("/api/uploads", headers=tenant.auth(), json={"projectId": tenant.project_id}),
        "/api/uploads",
        "POST",
    )
    assert made["maxBytes"] == 100_000 and made["projectId"] == tenant.project_id and made["state"] == "open"
    secret = made["uploadUrl"].rsplit("/", 1)[1]
    from app.extensions import db

    with app.app_context():
        row = db.session.get(UploadUrl, made["id"])
        assert row is not None and secret not in (row.secret_hash, row.id)  # only a hash is stored

    used = post_file(client, made["uploadUrl"], png_bytes())  # no Authorization header at all
    assert used.status_code == 201, used.get_data(as_text=True)
    conforms(used, "/api/uploads/{upload_id}/{secret}", "POST")
    assert used.json["state"] == "used" and used.json["file"]["name"] == "hero.png"
    assert used.json["file"]["workspaceId"] == tenant.workspace_id and used.json["file"]["isImage"]

    run_jobs()
    status = client.get(path_of(made["uploadUrl"]))
    conforms(status, "/api/uploads/{upload_id}/{secret}", "GET")
    assert status.json["image"]["fileId"] == used.json["file"]["id"]
    assert status.json["image"]["altText"] == "A red rectangle"
    assert status.json["image"]["width"] == 24 and status.json["image"]["height"] == 16
    image = client.get(f"/api/images/{used.json['file']['id']}", headers=tenant.auth("read")).json
    assert image["altText"] == "A red rectangle"

    again = post_file(client, made["uploadUrl"], png_bytes())
    assert again.status_code == 409 and again.json["code"] == "upload_url_used"
    conforms(again, "/api/uploads/{upload_id}/{secret}", "POST")
    with app.app_context():
        assert db.session.query(File).count() == 1


def test_wrong_secret_unknown_id_expired_and_no_file_are_refused_clearly(client, tenant, app):
    made = make_url(client, tenant)
    upload_id = made["id"]
    wrong = client.post(
        f"/api/uploads/{upload_id}/not-the-secret",
        data={"file": (io.BytesIO(b"x"), "a.txt")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 404 and wrong.json["code"] == "upload_url_not_found"
    unknown = post_file(client, made["uploadUrl"].replace(upload_id, "upl_01J0000000000000000000ZZZZ"), b"x")
    assert unknown.status_code == 404 and unknown.json == wrong.json
    assert client.get(f"/api/uploads/{upload_id}/not-the-secret").status_code == 404

    other = client.post(path_of(made["uploadUrl"]), data={"other": "x"}, content_type="multipart/form-data")
    assert other.status_code == 400 and other.json["code"] == "unknown_field" and other.json["parameter"] == "other"
    missing = client.post(path_of(made["uploadUrl"]), data={}, content_type="multipart/form-data")
    assert missing.status_code == 400 and missing.json["code"] == "file_missing"
    not_multipart = client.post(path_of(made["uploadUrl"]), data=b"raw", content_type="application/octet-stream")
    assert not_multipart.status_code == 415

    from app.extensions import db

    with app.app_context():
        row = db.session.get(UploadUrl, upload_id)
        row.expires_at = row.created_at - timedelta(seconds=1)
        db.session.commit()
    expired = post_file(client, made["uploadUrl"], png_bytes())
    assert expired.status_code == 410 and expired.json["code"] == "upload_url_expired"
    with app.app_context():
        assert db.session.query(File).count() == 0
        assert db.session.get(UploadUrl, upload_id).state == "open"


def test_a_file_over_the_urls_limit_is_refused_and_the_url_stays_usable(tenant, app, live_server):
    """Over real HTTP, so the spool meets the bytes as a browser sends them."""
    made = requests.post(
        f"{live_server.url}/api/uploads",
        headers=tenant.auth(),
        timeout=30,
        json={"projectId": tenant.project_id, "maxBytes": 1000},
    ).json()
    big = requests.post(made["uploadUrl"], files={"file": ("big.bin", b"\0" * 1001)}, timeout=30)
    assert big.status_code == 413 and big.json()["code"] == "file_too_large"
    assert "1,000 bytes" in big.json()["detail"] and (big.json()["limit"], big.json()["value"]) == ("file_size", 1000)
    assert os.listdir(app.config["UPLOAD_TMP_DIR"]) == []
    far = requests.post(made["uploadUrl"], files={"file": ("far.bin", b"\0" * 300_000)}, timeout=30)
    assert far.status_code == 413 and far.json()["value"] == 1000  # refused on its Content-Length alone
    fits = requests.post(made["uploadUrl"], files={"file": ("ok.bin", b"\1" * 1000)}, timeout=30)
    assert fits.status_code == 201 and fits.json()["file"]["size"] == 1000


def test_two_simultaneous_posts_make_exactly_one_file(tenant, app, live_server):
    made = requests.post(
        f"{live_server.url}/api/uploads", headers=tenant.auth(), timeout=30, json={"projectId": tenant.project_id}
    ).json()
    barrier, answers = threading.Barrier(4), []

    def send(index: int) -> None:
        barrier.wait()
        answers.append(
            requests.post(made["uploadUrl"], files={"file": (f"{index}.bin", b"data %d" % index)}, timeout=30)
        )

    threads = [threading.Thread(target=send, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201, 409, 409, 409], [answer.text for answer in answers]
    from app.extensions import db

    with app.app_context():
        assert db.session.query(File).count() == 1


def test_making_urls_needs_write_scope_and_valid_limits(client, tenant, other_tenant, app):
    response = client.post("/api/uploads", headers=tenant.auth("read"), json={"projectId": tenant.project_id})
    assert response.status_code == 403 and response.json["code"] == "insufficient_scope"
    assert client.post("/api/uploads", json={"projectId": tenant.project_id}).status_code == 401
    theirs = client.post("/api/uploads", headers=tenant.auth(), json={"projectId": other_tenant.project_id})
    assert theirs.status_code == 404 and theirs.json["code"] == "project_not_found"
    no_project = client.post("/api/uploads", headers=tenant.auth(), json={})
    assert no_project.status_code == 400 and no_project.json["parameter"] == "projectId"
    not_json = client.post("/api/uploads", headers=tenant.auth(), data="x", content_type="text/plain")
    assert not_json.status_code == 415
    too_big = client.post(
        "/api/uploads",
        headers=tenant.auth(),
        json={"projectId": tenant.project_id, "maxBytes": app.config["MAX_UPLOAD_BYTES"] + 1},
    )
    assert too_big.status_code == 400 and too_big.json["parameter"] == "maxBytes"
    odd = client.post(
        "/api/uploads", headers=tenant.auth(), json={"projectId": tenant.project_id, "metadata": {"caption": "x"}}
    )
    assert odd.status_code == 400 and odd.json["code"] == "invalid_metadata"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    max_bytes=st.one_of(st.none(), st.integers(-10, 10**9), st.booleans(), st.text(max_size=3)),
    expires_in=st.one_of(st.none(), st.integers(-10, 10**5), st.floats(allow_nan=True)),
)
def test_limits_are_accepted_exactly_inside_their_ranges(max_bytes, expires_in):
    server_max = 10**8
    body = {"maxBytes": max_bytes, "expiresIn": expires_in}
    bytes_ok = max_bytes is None or (type(max_bytes) is int and 1 <= max_bytes <= server_max)
    expiry_ok = expires_in is None or (type(expires_in) is int and MIN_EXPIRES_IN <= expires_in <= MAX_EXPIRES_IN)
    if bytes_ok and expiry_ok:
        limits = parse_limits(body, server_max)
        assert 1 <= limits.max_bytes <= server_max and MIN_EXPIRES_IN <= limits.expires_in <= MAX_EXPIRES_IN
    else:
        with pytest.raises(DomainError) as refused:
            parse_limits(body, server_max)
        assert refused.value.extra["parameter"] in ("maxBytes", "expiresIn")


def test_expired_urls_are_forgotten_an_hour_later_and_their_files_stay(client, tenant, app):
    from app.domain.upload_urls import STATUS_READABLE_FOR, purge_expired
    from app.extensions import db

    used, fresh = make_url(client, tenant), make_url(client, tenant)
    assert post_file(client, used["uploadUrl"], b"kept").status_code == 201
    with app.app_context():
        row = db.session.get(UploadUrl, used["id"])
        row.expires_at = row.created_at - STATUS_READABLE_FOR - timedelta(seconds=1)
        db.session.commit()
    assert client.get(path_of(used["uploadUrl"])).status_code == 410
    with app.app_context():
        assert purge_expired() == 1
        assert db.session.get(UploadUrl, used["id"]) is None and db.session.get(UploadUrl, fresh["id"]) is not None
        assert db.session.query(File).count() == 1
    assert client.get(path_of(used["uploadUrl"])).status_code == 404
