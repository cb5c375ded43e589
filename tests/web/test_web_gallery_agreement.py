"""The gallery agrees with itself: the number confirmed is the number acted on, counts follow arrivals, Retry counts
only what it can retry and says what it did, a trash of 0 days works, a typed name is not a path."""

import io
import json
import zipfile

from gallery_web_support import Member, make_user, upload_over_http
from imagesd_support import damaged_jpeg
from sqlalchemy import select

from app.domain.files import File
from app.extensions import db
from tests.web.test_web_gallery_bulk_edits import png, upload


def live_names(app, workspace_id) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(File.name).where(File.workspace_id == workspace_id, File.live())))


def test_all_that_match_acts_only_on_the_number_confirmed(editor, app):
    for name in ("a", "b", "c"):
        upload(editor, f"{name}.png", png())
    page = editor.client.get(editor.gallery_url).text
    assert 'data-matching="3"' in page
    for name in ("d", "e"):  # dropped after the page counted three
        upload(editor, f"{name}.png", png())
    form = {"action": "delete", "scope": "matching", "status": "all", "expected": "3"}
    refused = editor.client.post(editor.gallery_url + "/bulk", headers=editor.htmx(), data=form)
    assert refused.status_code == 409
    assert "now holds 5 files, not the 3 you confirmed" in refused.text and "nothing was changed" in refused.text
    assert live_names(app, editor.tenant.workspace_id) == ["a.png", "b.png", "c.png", "d.png", "e.png"]
    counted = editor.client.get(editor.gallery_url + "/counts", headers={"HX-Request": "true"})
    assert counted.status_code == 200 and 'data-matching="5"' in counted.text and "5 images" in counted.text
    searched = editor.client.get(editor.gallery_url + "/counts?q=a", headers={"HX-Request": "true"})
    assert 'data-matching="1"' in searched.text
    done = editor.client.post(editor.gallery_url + "/bulk", headers=editor.htmx(), data={**form, "expected": "5"})
    assert done.status_code == 200 and json.loads(done.headers["HX-Trigger"])["bulk-done"]["count"] == 5
    assert live_names(app, editor.tenant.workspace_id) == []
    odd = editor.client.post(editor.gallery_url + "/bulk", headers=editor.htmx(), data={**form, "expected": "x"})
    assert odd.status_code == 400 and "whole number" in odd.text


def test_retry_all_counts_only_what_it_can_retry_and_bulk_retry_says_what_it_did(
    editor, app, run_jobs, live_server, tenant
):
    bomb = upload_over_http(live_server, tenant, damaged_jpeg(), "bomb.png")
    passing = upload_over_http(live_server, tenant, damaged_jpeg(), "passing.png")
    fine = upload(editor, "fine.png", png())
    run_jobs()
    with app.app_context():  # one failure that may pass (the service away); the other bomb's stays permanent
        file = db.session.get(File, passing)
        file.error_code, file.error_message = "images_unavailable", "The images service could not be reached."
        db.session.commit()
    page = editor.client.get(editor.gallery_url).text
    assert "2 failed" in page and "Retry all failed (1)" in page
    response = editor.client.post(
        editor.gallery_url + "/bulk", headers=editor.htmx(), data={"action": "retry", "ids": [bomb, passing, fine]}
    )
    message = (
        "Queued 1 failed image again. 1 image failed for good and cannot be retried: remove, fix and upload again. "
        "1 file had not failed and was left alone."
    )
    assert json.loads(response.headers["HX-Trigger"])["bulk-done"]["message"] == message
    assert f'<p class="flash info" role="status" id="retried">{message}</p>' in response.text  # shown, not only said
    assert "Retry all failed" not in response.text  # the one left failed for good: nothing to retry
    nothing = editor.client.post(editor.gallery_url + "/retry-failed", headers=editor.htmx())
    assert "No failed image could be retried" in nothing.text and "Nothing had failed" not in nothing.text


def test_a_trash_of_zero_days_turns_it_off_from_the_settings_page(app, tenant, editor):
    make_user(app, tenant, "owner@example.com", "owner")
    owner = Member(app, "owner@example.com", tenant)
    saved = owner.client.post(f"/w/{tenant.workspace_id}/settings", data={"csrf_token": owner.csrf, "trash_days": "0"})
    assert saved.status_code == 302
    gone = upload(editor, "gone.png", png())
    page = editor.client.get(editor.gallery_url).text
    assert 'hx-confirm="Delete gone.png? This cannot be undone."' in page  # no trash: it asks first
    deleted = editor.client.delete(f"{editor.gallery_url}/files/{gone}", headers=editor.htmx())
    assert deleted.status_code == 200 and "Undo" not in deleted.text
    with app.app_context():
        assert db.session.get(File, gone) is None  # removed for good, not kept in a trash


def test_a_renamed_file_with_slashes_makes_no_folders_in_the_zip(editor, app, run_jobs):
    file_id = upload(editor, "x.png", png())
    run_jobs()
    editor.client.post(
        f"{editor.gallery_url}/files/{file_id}/name", headers=editor.htmx(), data={"name": "../AC/DC.png"}
    )
    response = editor.client.post(
        editor.gallery_url + "/bulk", data={"csrf_token": editor.csrf, "action": "download", "ids": file_id}
    )
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert names == ["∕AC∕DC.png"] and not any("/" in n or "\\" in n for n in names)
