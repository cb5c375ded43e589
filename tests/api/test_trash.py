"""The trash (issue 15): a delete hides a file everywhere and stops delivery at once, keeps its bytes for the
retention period, and a restore brings it back under the same id and delivery URL; purges are database rows."""

from __future__ import annotations

from datetime import timedelta

import requests
from sqlalchemy import select

from app.domain import trash
from app.domain.accounts import Workspace
from app.domain.common import utcnow
from app.domain.events import Event
from app.domain.files import File
from app.domain.images import Image, Provisioning
from app.domain.removals import IMAGES_COPY, STORED_OBJECT, PendingRemoval, work_due
from app.extensions import db
from tests.api.conftest import upload_image
from tests.services import deadline_for, wait_until

ONE_IMAGE, ONE_FILE = "/api/images/{file_id}", "/api/files/{file_id}"
RESTORE, TRASH = "/api/files/{file_id}/restore", "/api/trash"


def _provisioned(live_server, tenant, corpus, run_jobs, app, name="beach.jpg") -> tuple[str, str]:
    file_id = upload_image(live_server, tenant, corpus, "Canon_40D.jpg", name)
    run_jobs()
    image = requests.get(f"{live_server.url}/api/images/{file_id}", headers=tenant.auth("read"), timeout=10).json()
    assert requests.get(image["url"], timeout=10).status_code == 200
    return file_id, image["url"]


def _delivered(url: str) -> bool:
    return requests.get(url, timeout=10).status_code == 200


def _set_days(app, tenant, days) -> None:
    with app.app_context():
        workspace = db.session.get(Workspace, tenant.workspace_id)
        workspace.settings = {**(workspace.settings or {}), "trash_days": days}
        db.session.commit()


def test_delete_hides_everywhere_stops_delivery_and_restore_brings_back_the_same_url(
    client, live_server, tenant, corpus, run_jobs, app, conforms
):
    file_id, url = _provisioned(live_server, tenant, corpus, run_jobs, app)
    auth, read = tenant.auth("write"), tenant.auth("read")
    with app.app_context():
        key = db.session.get(File, file_id).storage_key
    deleted = client.delete(f"/api/images/{file_id}", headers=auth)
    body = conforms(deleted, ONE_IMAGE, "DELETE")
    assert deleted.status_code == 200 and body["deleted"] is True
    with app.app_context():
        until = db.session.get(File, file_id).purge_after
    assert body["restorableUntil"] and timedelta(days=29) < until - utcnow() <= timedelta(days=30)
    # Gone from every read and list at once.
    for path in (f"/api/images/{file_id}", f"/api/files/{file_id}", f"/api/files/{file_id}/content"):
        assert client.get(path, headers=read).status_code == 404, path
    assert file_id not in {row["fileId"] for row in client.get("/api/images", headers=read).json["data"]}
    assert file_id not in {row["id"] for row in client.get("/api/files", headers=read).json["data"]}
    assert client.delete(f"/api/images/{file_id}", headers=auth).status_code == 404
    assert client.delete(f"/api/files/{file_id}", headers=auth).status_code == 404
    # Nothing delivered once the copy's removal ran; the bytes stay for the restore.
    removal = deadline_for(app.config, failures=0)
    wait_until(lambda: (run_jobs(), not _delivered(url))[1], removal, "the Images copy to be removed", interval=0.2)
    with app.app_context():
        assert app.extensions["storage"].exists(key)
        assert not db.session.scalars(select(PendingRemoval).where(PendingRemoval.subject_id == file_id)).all()
    listed = conforms(client.get(TRASH, headers=read), TRASH, "GET")
    assert [row["id"] for row in listed["data"]] == [file_id]
    assert listed["data"][0]["purgeAfter"] == body["restorableUntil"] and listed["data"][0]["image"] is None

    restored = client.post(f"/api/files/{file_id}/restore", headers=auth)
    assert restored.status_code == 200 and conforms(restored, RESTORE, "POST")["id"] == file_id
    assert restored.json["image"]["status"] == "processing"
    run_jobs()
    image = conforms(client.get(f"/api/images/{file_id}", headers=read), ONE_IMAGE, "GET")
    assert image["url"] == url and image["cfImageId"] == file_id and _delivered(url)
    assert conforms(client.get(TRASH, headers=read), TRASH, "GET")["data"] == []
    assert client.post(f"/api/files/{file_id}/restore", headers=auth).status_code == 404  # not in the trash any more
    with app.app_context():
        types = db.session.scalars(select(Event.type).where(Event.subject_id == file_id).order_by(Event.id)).all()
    # image.restored once the image exists again, so its webhook carries the Image
    assert types[-4:] == ["file.restored", "image.provision_requested", "image.created", "image.restored"]
    assert "image.deleted" in types and "file.deleted" in types


def test_restore_before_the_copy_is_removed_adopts_it_and_keeps_alt_text(
    client, live_server, tenant, corpus, run_jobs, app
):
    file_id, url = _provisioned(live_server, tenant, corpus, run_jobs, app)
    with app.app_context():
        db.session.get(Image, file_id).alt_text = "A red bird"
        db.session.commit()
    assert client.delete(f"/api/files/{file_id}", headers=tenant.auth()).json["restorableUntil"]
    # No job ran: the removal row is still pending when the file comes back, and is called off.
    assert client.post(f"/api/files/{file_id}/restore", headers=tenant.auth()).status_code == 200
    with app.app_context():
        assert not db.session.scalars(select(PendingRemoval).where(PendingRemoval.kind == IMAGES_COPY)).all()
    run_jobs()
    image = client.get(f"/api/images/{file_id}", headers=tenant.auth("read")).json
    assert image["url"] == url and image["altText"] == "A red bird" and _delivered(url)


def test_a_removal_that_runs_after_a_restore_leaves_the_copy_alone(client, live_server, tenant, corpus, run_jobs, app):
    file_id, url = _provisioned(live_server, tenant, corpus, run_jobs, app)
    client.delete(f"/api/images/{file_id}", headers=tenant.auth())
    with app.app_context():
        row = db.session.scalars(select(PendingRemoval).where(PendingRemoval.subject_id == file_id)).one()
        row.lease_until = utcnow() + timedelta(seconds=120)  # as if a worker held it while the restore came in
        db.session.commit()
    client.post(f"/api/files/{file_id}/restore", headers=tenant.auth())
    with app.app_context():
        row = db.session.scalars(select(PendingRemoval).where(PendingRemoval.subject_id == file_id)).one()
        assert db.session.get(Provisioning, file_id).next_attempt_at > utcnow() + timedelta(seconds=60)
        row.lease_until = None  # the worker finishes its attempt (here: the next one) after the restore
        db.session.commit()
        assert work_due() == 1  # sees the file live again: leaves the copy alone, and lets provisioning go at once
        assert db.session.get(Provisioning, file_id).next_attempt_at <= utcnow()
    run_jobs()
    image = client.get(f"/api/images/{file_id}", headers=tenant.auth("read")).json
    assert image["url"] == url and _delivered(url)


def test_permanent_and_a_trash_turned_off_remove_for_good(client, live_server, tenant, corpus, run_jobs, app, conforms):
    first, first_url = _provisioned(live_server, tenant, corpus, run_jobs, app, "one.jpg")
    second, _ = _provisioned(live_server, tenant, corpus, run_jobs, app, "two.jpg")
    third, _ = _provisioned(live_server, tenant, corpus, run_jobs, app, "three.jpg")
    auth = tenant.auth()
    with app.app_context():
        keys = {f: db.session.get(File, f).storage_key for f in (first, second, third)}
    gone = client.delete(f"/api/images/{first}?permanent=true", headers=auth)
    assert conforms(gone, ONE_IMAGE, "DELETE")["restorableUntil"] is None
    # permanent on a file already in the trash purges it from there.
    assert client.delete(f"/api/files/{second}", headers=auth).json["restorableUntil"]
    purged = client.delete(f"/api/files/{second}?permanent=1", headers=auth)
    assert conforms(purged, ONE_FILE, "DELETE")["restorableUntil"] is None
    _set_days(app, tenant, 0)
    assert client.delete(f"/api/images/{third}", headers=auth).json["restorableUntil"] is None
    bad = client.delete(f"/api/images/{third}?permanent=maybe", headers=auth)
    assert bad.status_code in (400, 404)
    run_jobs()
    with app.app_context():
        assert all(db.session.get(File, f) is None for f in keys)
        assert not any(app.extensions["storage"].exists(key) for key in keys.values())
    assert not _delivered(first_url)
    for file_id in keys:
        missing = client.post(f"/api/files/{file_id}/restore", headers=auth)
        assert missing.status_code == 404 and conforms(missing, RESTORE, "POST")["code"] == "not_in_trash"


def test_permanent_must_be_a_clear_yes_or_no(client, tenant, live_server, corpus, run_jobs, app, conforms):
    file_id, _ = _provisioned(live_server, tenant, corpus, run_jobs, app)
    bad = client.delete(f"/api/images/{file_id}?permanent=maybe", headers=tenant.auth())
    assert bad.status_code == 400 and conforms(bad, ONE_IMAGE, "DELETE")["parameter"] == "permanent"
    assert client.get(f"/api/images/{file_id}", headers=tenant.auth("read")).status_code == 200


def test_the_purge_pass_empties_the_trash_after_the_retention_from_the_database_alone(
    client, live_server, tenant, corpus, run_jobs, app
):
    kept, _ = _provisioned(live_server, tenant, corpus, run_jobs, app, "kept.jpg")
    due, _ = _provisioned(live_server, tenant, corpus, run_jobs, app, "due.jpg")
    for file_id in (kept, due):
        client.delete(f"/api/images/{file_id}", headers=tenant.auth())
    with app.app_context():
        db.session.get(File, due).purge_after = utcnow() - timedelta(seconds=1)  # its retention ran out
        db.session.commit()
        key = db.session.get(File, due).storage_key
        app.extensions["queue"].connection.flushall()  # Redis forgets every job: the trash is rows, nothing is lost
        assert trash.purge_due() == 1
        assert trash.purge_due() == 0  # idempotent
        assert db.session.get(File, due) is None and db.session.get(File, kept) is not None
        assert {
            row.kind for row in db.session.scalars(select(PendingRemoval).where(PendingRemoval.subject_id == due))
        } >= {STORED_OBJECT}
        while work_due():
            pass
        assert not app.extensions["storage"].exists(key)
        assert app.extensions["storage"].exists(db.session.get(File, kept).storage_key)
    assert [row["id"] for row in client.get(TRASH, headers=tenant.auth("read")).json["data"]] == [kept]


def test_empty_trash_and_the_project_filter(client, live_server, tenant, corpus, run_jobs, app, conforms):
    from app.domain import accounts

    with app.app_context():
        other_project = accounts.create_project(tenant.workspace_id, "Blog").id
        db.session.commit()
    first = upload_image(live_server, tenant, corpus, "Canon_40D.jpg", "a.jpg")
    second = upload_image(live_server, tenant, corpus, "Nikon_D70.jpg", "b.jpg", project_id=other_project)
    run_jobs()
    for file_id in (first, second):
        client.delete(f"/api/files/{file_id}", headers=tenant.auth())
    read = tenant.auth("read")
    only = conforms(client.get(f"{TRASH}?project_id={other_project}", headers=read), TRASH, "GET")
    assert [row["id"] for row in only["data"]] == [second]
    assert client.delete(TRASH, headers=read).status_code == 403
    emptied = client.delete(f"{TRASH}?project_id={tenant.project_id}", headers=tenant.auth())
    assert conforms(emptied, TRASH, "DELETE") == {"object": "trash", "purged": 1}
    assert [row["id"] for row in client.get(TRASH, headers=read).json["data"]] == [second]
    assert conforms(client.delete(TRASH, headers=tenant.auth()), TRASH, "DELETE")["purged"] == 1
    assert client.get(TRASH, headers=read).json["data"] == []


def test_another_workspace_sees_and_restores_nothing(client, live_server, tenant, other_tenant, corpus, run_jobs, app):
    file_id, _ = _provisioned(live_server, tenant, corpus, run_jobs, app)
    client.delete(f"/api/images/{file_id}", headers=tenant.auth())
    assert client.get(TRASH, headers=other_tenant.auth("read")).json["data"] == []
    assert client.post(f"/api/files/{file_id}/restore", headers=other_tenant.auth()).status_code == 404
    assert client.delete(f"/api/files/{file_id}?permanent=true", headers=other_tenant.auth()).status_code == 404
    assert client.delete(TRASH, headers=other_tenant.auth()).json["purged"] == 0
    assert client.post(f"/api/files/{file_id}/restore", headers=tenant.auth("read")).status_code == 403
    assert [row["id"] for row in client.get(TRASH, headers=tenant.auth("read")).json["data"]] == [file_id]


def test_trash_days_setting_is_read_forgivingly(app, tenant):
    for raw, days in ((None, 30), ("7", 7), (-3, 0), ("soon", 30), (10**9, trash.MAX_DAYS), (0, 0)):
        _set_days(app, tenant, raw) if raw is not None else None
        with app.app_context():
            assert trash.trash_days(tenant.workspace_id) == days, raw


def test_the_workers_removal_pass_purges_and_doctor_treats_the_trash_as_gone(
    client, live_server, tenant, corpus, run_jobs, app
):
    from app.domain import doctor
    from worker import run_removals_once

    file_id, url = _provisioned(live_server, tenant, corpus, run_jobs, app)
    client.delete(f"/api/images/{file_id}", headers=tenant.auth())
    with app.app_context():
        key = db.session.get(File, file_id).storage_key
        # No job ran: the trashed image's copy is still delivered, which doctor names; its kept bytes are no orphan.
        found = doctor.run()
        kinds = {(f.kind, f.subject) for f in found.findings}
        assert ("deleted_copy_delivered", file_id) in kinds and not any(k == "orphan_object" for k, _ in kinds)
        db.session.get(File, file_id).purge_after = utcnow() - timedelta(seconds=1)
        db.session.commit()
        db.session.remove()
    run_removals_once(app)  # one pass: the purge, then the removals it recorded and the copy's
    with app.app_context():
        assert db.session.get(File, file_id) is None and not app.extensions["storage"].exists(key)
        assert not db.session.scalars(select(PendingRemoval)).all()
    assert not _delivered(url)


def test_a_private_image_comes_back_signed(client, live_server, tenant, corpus, run_jobs, app):
    """Cloudflare gives private images no custom id: a restore after the copy went makes a new one (its URLs are
    signed and short-lived anyway); one before adopts the copy still there."""
    with app.app_context():
        workspace = db.session.get(Workspace, tenant.workspace_id)
        workspace.settings = {**(workspace.settings or {}), "private_images": True}
        db.session.commit()
    file_id = upload_image(live_server, tenant, corpus, "Canon_40D.jpg", "secret.jpg")
    run_jobs()
    before = client.get(f"/api/images/{file_id}", headers=tenant.auth("read")).json
    assert before["requireSignedURLs"] is True and _delivered(before["url"])
    client.delete(f"/api/images/{file_id}", headers=tenant.auth())
    client.post(f"/api/files/{file_id}/restore", headers=tenant.auth())  # before the removal ran: adopted
    run_jobs()
    adopted = client.get(f"/api/images/{file_id}", headers=tenant.auth("read")).json
    assert adopted["cfImageId"] == before["cfImageId"] and _delivered(adopted["url"])
    client.delete(f"/api/images/{file_id}", headers=tenant.auth())
    run_jobs()
    assert not _delivered(before["url"])
    client.post(f"/api/files/{file_id}/restore", headers=tenant.auth())
    run_jobs()
    again = client.get(f"/api/images/{file_id}", headers=tenant.auth("read")).json
    assert again["requireSignedURLs"] is True and again["cfImageId"] != before["cfImageId"] and _delivered(again["url"])
    with app.app_context():
        copies = app.extensions["images"].list(creator=file_id)["images"]
    assert [copy["id"] for copy in copies] == [again["cfImageId"]]  # exactly one copy, the new one


def test_the_trash_cursor_is_signed_and_bound_to_its_query(
    client, live_server, tenant, other_tenant, corpus, run_jobs, app, conforms
):
    """The trash's cursor was unsigned base64 of the last id: a made-up one listed from anywhere (issue 21)."""
    import base64
    import json

    ids = [upload_image(live_server, tenant, corpus, "Canon_40D.jpg", f"{n}.jpg") for n in "abc"]
    run_jobs()
    for file_id in ids:
        client.delete(f"/api/files/{file_id}", headers=tenant.auth())
    read = tenant.auth("read")
    first = conforms(client.get(f"{TRASH}?limit=2&count=true", headers=read), TRASH, "GET")
    assert [row["id"] for row in first["data"]] == ids[::-1][:2] and first["total"] == 3
    rest = client.get(f"{TRASH}?limit=2&cursor={first['next_cursor']}", headers=read).json
    assert [row["id"] for row in rest["data"]] == [ids[0]] and rest["has_more"] is False
    made_up = base64.urlsafe_b64encode(json.dumps({"after": ids[2]}).encode()).decode().rstrip("=")
    for query, auth in (
        (f"cursor={made_up}", read),  # the old unsigned shape
        (f"cursor={first['next_cursor']}&sort=name", read),  # another query
        (f"cursor={first['next_cursor']}&project_id={tenant.project_id}", read),
        (f"cursor={first['next_cursor']}", other_tenant.auth("read")),  # another workspace
    ):
        refused = client.get(f"{TRASH}?{query}", headers=auth)
        assert refused.status_code == 400 and conforms(refused, TRASH, "GET")["code"] == "invalid_cursor", query


def test_stored_crops_survive_the_trash_and_restore(client, live_server, tenant, corpus, run_jobs, app):
    file_id, _ = _provisioned(live_server, tenant, corpus, run_jobs, app)
    rect = {"x": 4, "y": 0, "width": 68, "height": 68}
    patched = client.patch(f"/api/images/{file_id}", json={"crops": {"card": rect}}, headers=tenant.auth())
    assert patched.status_code == 200 and patched.json["crops"]["card"]["rect"] == rect
    assert client.delete(f"/api/files/{file_id}", headers=tenant.auth()).status_code == 200
    assert client.post(f"/api/files/{file_id}/restore", headers=tenant.auth()).status_code == 200
    run_jobs()
    card = client.get(f"/api/images/{file_id}", headers=tenant.auth("read")).json["crops"]["card"]
    assert card["rect"] == rect and card["auto"] is False and "trim=0;28;0;4" in card["url"]
