"""The gallery while the images service is away: a waiting tile (not failed), and "Retry all failed"."""

from __future__ import annotations

import re

from gallery_web_support import upload_over_http
from imagesd_support import damaged_jpeg, png_header_only
from sqlalchemy import func, select

from app.domain.events import Event
from app.domain.files import File
from app.domain.images import Provisioning
from app.extensions import db


def test_a_file_waiting_for_the_images_service_is_shown_waiting_not_failed(editor, app, live_server, tenant):
    file_id = upload_over_http(live_server, tenant, png_header_only(20, 20), "sunset.png")
    with app.app_context():
        db.session.add(
            Provisioning(
                file_id=file_id,
                workspace_id=tenant.workspace_id,
                state="waiting",
                attempts=4,
                transient_failures=4,
                last_error="The images service could not be reached.",
            )
        )
        db.session.commit()
    tile = editor.client.get(f"{editor.gallery_url}/files/{file_id}", headers={"HX-Request": "true"}).text
    assert 'data-state="waiting"' in tile and "<html" not in tile
    assert "Waiting for the images service - retrying automatically." in tile and "Failed" not in tile
    assert 'hx-trigger="load delay:5s"' in tile, "the tile refreshes itself until the image is made"
    assert ">Retry now<" in tile
    listed = editor.client.get(
        editor.gallery_url, query_string={"status": "processing"}, headers={"HX-Request": "true"}
    )
    assert f'id="tile-{file_id}"' in listed.text
    assert (
        editor.client.get(
            editor.gallery_url, query_string={"status": "failed"}, headers={"HX-Request": "true"}
        ).text.count('<li id="tile-')
        == 0
    )
    api = editor.client.get(f"/api/files/{file_id}", headers=tenant.auth("read")).get_json()
    assert api["status"] == "ready" and api["image"]["status"] == "waiting"
    assert (
        api["image"]["error"]["code"] == "images_unavailable"
        and "could not be reached" in api["image"]["error"]["detail"]
    )


def test_retry_all_failed_requeues_every_failed_image_of_the_project(editor, app, run_jobs, live_server, tenant):
    bombs = [upload_over_http(live_server, tenant, damaged_jpeg(), f"bomb{n}.png") for n in range(2)]
    run_jobs()
    with app.app_context():
        assert [db.session.get(File, b).status for b in bombs] == ["error", "error"]
    page = editor.client.get(editor.gallery_url).text
    assert "2 failed" in page and 'id="retry-failed"' not in page  # a bomb stays a bomb: no retry could mend it
    permanent = editor.client.post(f"{editor.gallery_url}/retry-failed", headers=editor.htmx())
    assert "No failed image could be retried" in permanent.text
    with app.app_context():  # as if they had failed because the images service stayed away past the deadline
        for file_id in bombs:
            file = db.session.get(File, file_id)
            file.error_code, file.error_message = "images_unavailable", "The images service could not be reached."
        db.session.commit()
    assert "Retry all failed (2)" in editor.client.get(editor.gallery_url).text

    grid = editor.client.post(f"{editor.gallery_url}/retry-failed", headers=editor.htmx())
    assert grid.status_code == 200 and 'id="grid"' in grid.text and "<html" not in grid.text
    assert "Queued 2 failed images again." in grid.text
    assert re.findall(r'data-state="(\w+)"', grid.text) == ["processing", "processing"]
    with app.app_context():
        assert [db.session.get(Provisioning, b).state for b in bombs] == ["queued", "queued"]
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.type == "image.provision_requested", Event.subject_id.in_(bombs))
            )
            == 4
        )

    run_jobs()  # they fail again (a bomb stays a bomb): the plain form posts and redirects
    plain = editor.client.post(f"{editor.gallery_url}/retry-failed", data={"csrf_token": editor.csrf})
    assert plain.status_code == 302 and plain.headers["Location"].endswith(editor.gallery_url)
    nothing = editor.client.post(f"{editor.gallery_url}/retry-failed", headers=editor.htmx())
    assert "No failed image could be retried" in nothing.text


def test_viewers_cannot_retry_all(viewer):
    assert viewer.client.post(f"{viewer.gallery_url}/retry-failed", headers=viewer.htmx()).status_code == 403
    assert 'id="retry-failed"' not in viewer.client.get(viewer.gallery_url).text
