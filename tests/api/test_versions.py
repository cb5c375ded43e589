"""Replace and history (issue 23): new bytes become the next version of the same file; the stable URL shows the old
pixels until the new ones are ready and the new ones after, with no gap; a failed replace leaves the current version
serving; old versions can be listed and restored (as a new version); everything goes when the file is purged."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.domain.accounts import Workspace
from app.domain.common import utcnow
from app.domain.events import Event
from app.domain.files import File
from app.domain.removals import IMAGES_COPY, STORED_OBJECT, PendingRemoval, work_due
from app.domain.versions import FileVersion
from app.extensions import db
from tests.api.conftest import upload_image

CONTENT, VERSIONS = "/api/files/{file_id}/content", "/api/files/{file_id}/versions"
ONE_VERSION, RESTORE = "/api/files/{file_id}/versions/{number}", "/api/files/{file_id}/versions/{number}/restore"


def _image(live_server, tenant, file_id) -> dict:
    answer = requests.get(f"{live_server.url}/api/images/{file_id}", headers=tenant.auth("read"), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _replace(live_server, tenant, file_id, data: bytes, filename="new.jpg", **form):
    return requests.put(
        f"{live_server.url}/api/files/{file_id}/content",
        headers=tenant.auth(),
        files={"file": (filename, data, "image/jpeg")},
        data=form,
        timeout=30,
    )


def _lands_on(url: str) -> str:
    """Where the stable URL redirects now (checking the redirect's caching), and that it delivers."""
    first = requests.get(url, allow_redirects=False, timeout=10)
    assert first.status_code == 302, first.text
    assert first.headers["Cache-Control"] == "public, max-age=60"
    assert requests.get(first.headers["Location"], timeout=30).status_code == 200
    return first.headers["Location"]


@pytest.fixture
def provisioned(live_server, tenant, corpus, run_jobs, client):
    file_id = upload_image(live_server, tenant, corpus, "Canon_40D.jpg", "beach.jpg")
    run_jobs()
    edited = client.patch(
        f"/api/images/{file_id}",
        headers=tenant.auth(),
        json={"altText": "A beach at dusk", "focalPoint": {"x": 0.25, "y": 0.75}},
    )
    assert edited.status_code == 200, edited.get_json()
    return file_id


def test_replace_keeps_the_id_and_fields_and_the_stable_url_follows_with_no_gap(
    live_server, tenant, corpus, run_jobs, provisioned, app, conforms
):
    file_id = provisioned
    before = _image(live_server, tenant, file_id)
    assert before["version"] == 1 and before["url"] == f"{live_server.url}/i/{file_id}/public"
    assert _lands_on(before["url"]) == before["versionedUrl"]

    answer = _replace(live_server, tenant, file_id, (corpus / "Nikon_D70.jpg").read_bytes())
    body = conforms(answer, CONTENT, "PUT")
    assert answer.status_code == 202 and body["state"] == "pending" and body["number"] == 2
    assert answer.headers["Location"].endswith(f"/api/files/{file_id}/versions/2")
    # Not ready yet: the current version still serves, through the same stable URL.
    assert _image(live_server, tenant, file_id)["version"] == 1
    assert _lands_on(before["url"]) == before["versionedUrl"]

    run_jobs()
    after = _image(live_server, tenant, file_id)
    assert after["version"] == 2 and after["url"] == before["url"]
    assert after["versionedUrl"] != before["versionedUrl"] and after["cfImageId"] == f"{file_id}.v2"
    assert (after["width"], after["height"]) != (before["width"], before["height"])
    for kept in ("fileId", "name", "altText", "focalPoint", "projectId", "createdAt"):
        assert after[kept] == before[kept], kept
    assert _lands_on(after["url"]) == after["versionedUrl"]
    # The old version's own URL keeps its pixels while its copy is kept (7 days by default).
    assert requests.get(before["versionedUrl"], timeout=30).status_code == 200

    listed = requests.get(f"{live_server.url}/api/files/{file_id}/versions", headers=tenant.auth("read"), timeout=10)
    page = conforms(listed, VERSIONS, "GET")
    assert [(v["number"], v["state"]) for v in page["data"]] == [(2, "current"), (1, "previous")]
    assert page["data"][0]["createdBy"].startswith("token:") and page["data"][1]["createdBy"] is None
    assert page["data"][1]["versionedUrl"] == before["versionedUrl"] and page["data"][1]["copyUntil"]
    with app.app_context():
        replaced = db.session.scalars(select(Event).where(Event.type == "image.replaced")).one()
        assert replaced.payload["previousVersion"] == {"number": 1, "cfImageId": file_id}
        assert replaced.payload["version"] == {"number": 2, "cfImageId": f"{file_id}.v2"}
        file = db.session.get(File, file_id)
        assert file.name == "beach.jpg" and file.storage_key.startswith(f"{tenant.workspace_id}/{file_id}-v2-")
        # The date taken is the new bytes' (the Nikon's EXIF), on the image and on the file the sort walks.
        assert after["takenAt"].startswith("2008-03-15T09:52:01") and before["takenAt"].startswith("2008-05-30")
        assert file.taken_at.isoformat().startswith("2008-03-15T09:52:01")


def test_a_replace_may_rename_the_file(live_server, tenant, corpus, run_jobs, provisioned):
    answer = _replace(live_server, tenant, provisioned, (corpus / "Nikon_D70.jpg").read_bytes(), "team.jpg")
    assert answer.status_code == 202 and answer.json()["name"] is None
    answer = _replace(live_server, tenant, provisioned, b"", "x.jpg")
    assert answer.status_code == 400 and answer.json()["code"] == "empty_file"
    run_jobs()
    renamed = _replace(live_server, tenant, provisioned, (corpus / "Canon_40D.jpg").read_bytes(), "c.jpg", name="Final")
    assert renamed.status_code == 202 and renamed.json()["name"] == "Final"
    run_jobs()
    assert _image(live_server, tenant, provisioned)["name"] == "Final"


def test_a_damaged_replacement_fails_with_a_reason_and_the_current_version_serves_on(
    live_server, tenant, corpus, run_jobs, provisioned, app
):
    before = _image(live_server, tenant, provisioned)
    whole = (corpus / "Nikon_D70.jpg").read_bytes()
    answer = _replace(live_server, tenant, provisioned, whole[: len(whole) // 2])  # its data ends early
    assert answer.status_code == 202
    run_jobs()
    failed = requests.get(
        f"{live_server.url}/api/files/{provisioned}/versions/2", headers=tenant.auth("read"), timeout=10
    ).json()
    assert failed["state"] == "failed" and failed["error"]["code"].startswith("image_") and failed["error"]["message"]
    after = _image(live_server, tenant, provisioned)
    assert after["version"] == 1 and after["versionedUrl"] == before["versionedUrl"]
    assert _lands_on(after["url"]) == before["versionedUrl"]
    with app.app_context():
        assert db.session.scalars(select(Event.type).where(Event.type == "image.replace_failed")).all()
    # A failed replace does not block the next one.
    assert _replace(live_server, tenant, provisioned, (corpus / "Nikon_D70.jpg").read_bytes()).status_code == 202


def test_refusals(live_server, tenant, other_tenant, corpus, provisioned, client, conforms):
    not_image = _replace(live_server, tenant, provisioned, b"just some words\n" * 10, "a.txt")
    assert conforms(not_image, CONTENT, "PUT")["code"] == "replacement_not_an_image" and not_image.status_code == 415
    first = _replace(live_server, tenant, provisioned, (corpus / "Nikon_D70.jpg").read_bytes())
    second = _replace(live_server, tenant, provisioned, (corpus / "Nikon_D70.jpg").read_bytes())
    assert first.status_code == 202 and second.status_code == 409
    assert conforms(second, CONTENT, "PUT")["code"] == "replace_in_progress"
    foreign = _replace(live_server, other_tenant, provisioned, (corpus / "Nikon_D70.jpg").read_bytes())
    assert foreign.status_code == 404 and foreign.json()["code"] == "file_not_found"
    missing = client.put(
        f"/api/files/{provisioned}/content", headers=tenant.auth(), data={}, content_type="multipart/form-data"
    )
    assert missing.status_code == 400 and missing.get_json()["code"] == "file_missing"
    nothing = client.get(f"/api/files/{provisioned}/versions/9", headers=tenant.auth("read"))
    assert nothing.status_code == 404 and nothing.get_json()["code"] == "version_not_found"


def test_restore_brings_an_old_version_back_as_a_new_one(live_server, tenant, corpus, run_jobs, provisioned, conforms):
    first = _image(live_server, tenant, provisioned)
    assert _replace(live_server, tenant, provisioned, (corpus / "Nikon_D70.jpg").read_bytes()).status_code == 202
    run_jobs()
    current = requests.post(
        f"{live_server.url}/api/files/{provisioned}/versions/2/restore", headers=tenant.auth(), timeout=10
    )
    assert current.status_code == 409 and current.json()["code"] == "version_current"
    restored = requests.post(
        f"{live_server.url}/api/files/{provisioned}/versions/1/restore", headers=tenant.auth(), timeout=10
    )
    body = conforms(restored, RESTORE, "POST")
    assert restored.status_code == 202 and body["number"] == 3 and body["restoredFrom"] == 1
    run_jobs()
    back = _image(live_server, tenant, provisioned)
    assert back["version"] == 3 and (back["width"], back["height"]) == (first["width"], first["height"])
    assert back["takenAt"] == first["takenAt"]  # the restored bytes' date taken, on the file too
    file = requests.get(f"{live_server.url}/api/files/{provisioned}", headers=tenant.auth("read"), timeout=10).json()
    assert file["takenAt"] == first["takenAt"]
    versions = requests.get(
        f"{live_server.url}/api/files/{provisioned}/versions", headers=tenant.auth("read"), timeout=10
    ).json()["data"]
    assert [v["state"] for v in versions] == ["current", "previous", "previous"]
    assert versions[0]["sha256"] == versions[2]["sha256"] != versions[1]["sha256"]


def test_old_copies_go_after_the_workspace_setting_and_everything_goes_with_the_purge(
    live_server, tenant, corpus, run_jobs, provisioned, app, client
):
    with app.app_context():
        workspace = db.session.get(Workspace, tenant.workspace_id)
        workspace.settings = {**(workspace.settings or {}), "version_copy_days": 0}
        db.session.commit()
    before = _image(live_server, tenant, provisioned)
    assert _replace(live_server, tenant, provisioned, (corpus / "Nikon_D70.jpg").read_bytes()).status_code == 202
    run_jobs()
    with app.app_context():
        assert db.session.scalars(select(PendingRemoval).where(PendingRemoval.kind == IMAGES_COPY)).one()
        work_due()
        keys = set(db.session.scalars(select(FileVersion.storage_key).where(FileVersion.file_id == provisioned)))
    assert requests.get(before["versionedUrl"], timeout=30).status_code == 404
    after = _image(live_server, tenant, provisioned)
    assert _lands_on(after["url"]) == after["versionedUrl"]
    assert len(keys) == 2

    purged = client.delete(f"/api/files/{provisioned}?permanent=true", headers=tenant.auth())
    assert purged.status_code == 200
    assert requests.get(after["url"], allow_redirects=False, timeout=10).status_code == 404
    with app.app_context():
        assert not db.session.scalars(select(FileVersion).where(FileVersion.file_id == provisioned)).all()
        targets = set(
            db.session.scalars(select(PendingRemoval.target).where(PendingRemoval.kind == STORED_OBJECT)).all()
        )
        assert keys <= targets
        work_due()
        storage = app.extensions["storage"]
        assert not any(storage.exists(key) for key in keys)


def test_the_database_refuses_two_current_versions(provisioned, app):
    with app.app_context():
        file = db.session.get(File, provisioned)
        for number in (1, 2):
            db.session.add(
                FileVersion(
                    file_id=file.id,
                    number=number,
                    workspace_id=file.workspace_id,
                    state="current",
                    storage_key=file.storage_key,
                    mime_type=file.mime_type,
                    size=file.size,
                    sha256=file.sha256,
                    created_at=utcnow(),
                    attempts=0,
                    transient_failures=0,
                    next_attempt_at=utcnow(),
                )  # fmt: skip
            )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_a_replaced_image_comes_back_from_the_trash_as_its_current_version(
    live_server, tenant, corpus, run_jobs, provisioned, client
):
    assert _replace(live_server, tenant, provisioned, (corpus / "Nikon_D70.jpg").read_bytes()).status_code == 202
    run_jobs()
    replaced = _image(live_server, tenant, provisioned)
    assert client.delete(f"/api/images/{provisioned}", headers=tenant.auth()).status_code == 200
    run_jobs()
    assert client.post(f"/api/files/{provisioned}/restore", headers=tenant.auth()).status_code == 200
    run_jobs()
    back = _image(live_server, tenant, provisioned)
    assert back["version"] == 2 and (back["width"], back["height"]) == (replaced["width"], replaced["height"])
    assert back["altText"] == "A beach at dusk" and _lands_on(back["url"]) == back["versionedUrl"]
    listed = client.get(f"/api/files/{provisioned}/versions", headers=tenant.auth("read")).get_json()["data"]
    assert [(v["number"], v["state"]) for v in listed] == [(2, "current"), (1, "previous")]
    assert listed[0]["versionedUrl"] == back["versionedUrl"] and listed[1]["versionedUrl"] is None


def _portrait_png() -> bytes:
    """A blue portrait picture without EXIF: another orientation, colour, format and no camera."""
    from io import BytesIO

    from PIL import Image as Picture

    out = BytesIO()
    Picture.new("RGB", (300, 600), (30, 60, 200)).save(out, "PNG")
    return out.getvalue()


def test_a_replace_moves_the_image_in_the_fact_filters_and_counts_and_keeps_its_tags_and_collections(
    live_server, tenant, run_jobs, provisioned, client
):
    """The facts (camera, orientation, colour, format…) are the current version's: a replace moves the image between
    filter results and facet counts, a restore moves it back; tags and collections stay with the file."""
    file_id, read = provisioned, tenant.auth("read")
    made = client.post(
        "/api/collections", json={"projectId": tenant.project_id, "name": "Coast"}, headers=tenant.auth()
    )
    assert made.status_code == 201, made.json
    collection_id = made.json["id"]
    added = client.post(f"/api/collections/{collection_id}/images", json={"ids": [file_id]}, headers=tenant.auth())
    assert added.status_code == 200, added.json
    tagged = client.post("/api/images/tags", json={"ids": [file_id], "add": ["Beach"]}, headers=tenant.auth())
    assert tagged.status_code == 200, tagged.json

    def listed(**query) -> list[str]:
        answer = client.get("/api/images", query_string={"count": "true", **query}, headers=read)
        assert answer.status_code == 200, answer.json
        assert answer.json["total"] == len(answer.json["data"])
        return [item["fileId"] for item in answer.json["data"]]

    def counts(facet: str) -> dict:
        answer = client.get("/api/images/facets", query_string={"project_id": tenant.project_id}, headers=read)
        assert answer.status_code == 200, answer.json
        return {v["value"]: v["count"] for v in answer.json["facets"][facet]}

    before = _image(live_server, tenant, file_id)
    assert before["orientation"] == "landscape" and before["cameraMake"] == "Canon"
    assert listed(orientation="landscape") == [file_id] and listed(orientation="portrait") == []
    assert counts("orientation") == {"landscape": 1} and listed(camera="Canon EOS 40D") == [file_id]

    assert _replace(live_server, tenant, file_id, _portrait_png(), "blue.png").status_code == 202
    run_jobs()
    after = _image(live_server, tenant, file_id)
    assert after["version"] == 2 and after["orientation"] == "portrait" and after["colour"] == "blue"
    assert after["format"] == "png" and "cameraMake" not in after and "cameraModel" not in after
    assert listed(orientation="portrait") == [file_id] and listed(orientation="landscape") == []
    assert counts("orientation") == {"portrait": 1} and listed(camera="Canon EOS 40D") == []
    assert listed(colour="blue") == [file_id] and listed() == [file_id]  # one image still, counted once
    assert after["tags"] == before["tags"] == ["Beach"] and after["collections"] == before["collections"]
    assert before["collections"] == [collection_id]
    assert listed(tag="beach") == [file_id] and listed(collection=collection_id) == [file_id]

    restored = client.post(f"/api/files/{file_id}/versions/1/restore", headers=tenant.auth())
    assert restored.status_code == 202, restored.json
    run_jobs()
    back = _image(live_server, tenant, file_id)
    assert back["version"] == 3 and back["orientation"] == "landscape" and back["cameraMake"] == "Canon"
    assert listed(orientation="landscape") == [file_id] and counts("orientation") == {"landscape": 1}
    assert back["tags"] == ["Beach"] and back["collections"] == [collection_id]
