"""The gallery over Flask's test client: both shapes of every view, roles, bad input, filters, paging."""

import io
import json
import re
from datetime import timedelta

import requests
from gallery_web_support import PASSWORD, csrf_from, make_user, upload_over_http
from imagesd_support import damaged_jpeg
from PIL import Image as PILImage
from sqlalchemy import func, select

from app.domain.common import utcnow
from app.domain.events import Event
from app.domain.files import File
from app.domain.images import Image, Provisioning
from app.extensions import db


def png(color=(200, 40, 40), size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def upload(member, name, data, **headers):
    return member.client.post(
        member.gallery_url + "/files",
        data={"file": (io.BytesIO(data), name)},
        headers=member.htmx(**headers),
        content_type="multipart/form-data",
    )


def tile_id(html: str) -> str:
    return re.search(r'<li id="tile-(fil_[0-9a-z]+)"', html).group(1)


def test_the_page_and_the_grid_fragment(editor):
    page = editor.client.get(editor.gallery_url)
    assert page.status_code == 200 and "<html" in page.text and 'id="grid"' in page.text
    assert 'id="dropzone"' in page.text and 'data-max-bytes="5242880"' in page.text
    assert "vendor/htmx-2.0.11/htmx.min.js" in page.text and "https://" not in page.text  # no CDN
    # htmx sends the page's own token (each render signs it anew with the second it was made in).
    assert f'"X-CSRFToken": "{csrf_from(page.text)}"' in page.text
    assert "HX-Request" in page.headers["Vary"]
    fragment = editor.client.get(editor.gallery_url, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="grid"') and "<html" not in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]
    for special in ({"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}):
        whole = editor.client.get(editor.gallery_url, headers={"HX-Request": "true", **special})
        assert "<html" in whole.text


def test_an_upload_becomes_a_processing_tile_then_an_image(editor, app, run_jobs, corpus):
    response = upload(editor, "Canon_40D.jpg", (corpus / "Canon_40D.jpg").read_bytes())
    assert response.status_code == 201 and "<html" not in response.text
    file_id = tile_id(response.text)
    assert 'data-state="processing"' in response.text and 'hx-trigger="load delay:1s"' in response.text
    tile_url = f"{editor.gallery_url}/files/{file_id}"
    still = editor.client.get(tile_url, headers={"HX-Request": "true"})
    assert f'id="tile-{file_id}"' in still.text and "hx-trigger" in still.text and "<html" not in still.text
    run_jobs()
    ready = editor.client.get(tile_url, headers={"HX-Request": "true"})
    assert 'data-state="ready"' in ready.text and "hx-trigger" not in ready.text.split("<a")[0]
    img = re.search(r"<img [^>]+>", ready.text).group(0)
    assert 'width="200" height="200"' in img and 'loading="lazy"' in img and "background-color: #" in img
    # No focal point yet: the tile's square crop is placed by saliency.
    assert f"/{file_id}/w=200,h=200,fit=cover,gravity=auto 200w" in img
    assert f"/{file_id}/w=600,h=600,fit=cover,gravity=auto 600w" in img
    assert 'sizes="(max-width: 560px) calc(50vw - 2rem), 200px"' in img
    # Without htmx the tile URL is not a page of its own: it sends you to the details.
    assert editor.client.get(tile_url).headers["Location"].endswith(f"/files/{file_id}/details")
    page = editor.client.get(editor.gallery_url).text
    assert f'id="tile-{file_id}"' in page and "100×68" in page


def test_a_plain_form_upload_redirects_and_takes_several_files(editor, app):
    response = editor.client.post(
        editor.gallery_url + "/files",
        content_type="multipart/form-data",
        data={"csrf_token": editor.csrf, "file": [(io.BytesIO(png()), "a.png"), (io.BytesIO(png()), "b.png")]},
    )
    assert response.status_code == 302 and response.headers["Location"] == editor.gallery_url
    assert "Uploaded 2 files." in editor.client.get(editor.gallery_url).text
    assert count(app, File) == 2


def test_bad_uploads_are_refused_with_a_reason(editor, app):
    empty = upload(editor, "empty.jpg", b"")
    assert empty.status_code == 400 and "The file is empty." in empty.text and "<html" not in empty.text
    nothing = editor.client.post(
        editor.gallery_url + "/files", headers=editor.htmx(), data={}, content_type="multipart/form-data"
    )
    assert nothing.status_code == 400 and "Choose at least one file" in nothing.text
    whole_page = editor.client.post(
        editor.gallery_url + "/files", data={"csrf_token": editor.csrf}, content_type="multipart/form-data"
    )
    assert (
        whole_page.status_code == 400 and "<html" in whole_page.text and "Choose at least one file" in whole_page.text
    )
    assert count(app, File) == 0
    text = upload(editor, "notes.jpg", b"just words, not a picture\n")
    assert text.status_code == 201 and 'data-state="file"' in text.text and "Not an image (text/plain" in text.text
    assert "Other files" in text.text
    with app.app_context():
        assert db.session.scalar(select(Provisioning)) is None


def test_too_large_is_refused_by_the_server_too(app, live_server, tenant):
    make_user(app, tenant, "big@example.com", "editor")
    session = requests.Session()
    session.post(
        f"{live_server.url}/login",
        timeout=10,
        data={
            "email": "big@example.com",
            "password": PASSWORD,
            "csrf_token": csrf_from(session.get(f"{live_server.url}/login", timeout=10).text),
        },
    )
    gallery = f"{live_server.url}/w/{tenant.workspace_id}/p/{tenant.project_id}/content"
    token = csrf_from(session.get(gallery, timeout=10).text)
    limit = app.config["MAX_UPLOAD_BYTES"]
    for size in (limit + 1, limit + 200 * 1024):
        response = session.post(
            gallery + "/files",
            headers={"HX-Request": "true", "X-CSRFToken": token},
            timeout=30,
            files={"file": ("huge.jpg", b"\xff" * size)},
        )
        assert response.status_code == 413, response.text
        assert "larger than the limit" in response.text and "<html" not in response.text
    assert count(app, File) == 0


def test_names_with_markup_are_shown_as_text(editor):
    response = upload(editor, '<img src=x onerror="alert(1)">.png', png())
    assert "<img src=x" not in response.text and "&lt;img src=x onerror=" in response.text


def test_viewers_see_no_controls_and_are_refused(viewer, editor, app, run_jobs):
    file_id = tile_id(upload(editor, "a.png", png()).text)
    run_jobs()
    page = viewer.client.get(viewer.gallery_url).text
    assert f'id="tile-{file_id}"' in page
    assert 'id="dropzone"' not in page and "hx-delete" not in page and 'id="read-only"' in page
    details = viewer.client.get(f"{viewer.gallery_url}/files/{file_id}/details").text
    assert "hx-delete" not in details and "Delete image" not in details and "<fieldset disabled>" in details
    assert upload(viewer, "b.png", png()).status_code == 403
    files_url = f"{viewer.gallery_url}/files/{file_id}"
    assert viewer.client.delete(files_url, headers=viewer.htmx()).status_code == 403
    assert viewer.client.post(files_url + "/delete", data={"csrf_token": viewer.csrf}).status_code == 403
    assert viewer.client.post(files_url + "/alt", headers=viewer.htmx(), data={"alt_text": "x"}).status_code == 403
    assert viewer.client.post(files_url + "/retry", headers=viewer.htmx()).status_code == 403
    assert count(app, File) == 1


def test_csrf_is_required_on_every_change(editor, app):
    plain = editor.client.post(
        editor.gallery_url + "/files",
        headers={"HX-Request": "true"},
        data={"file": (io.BytesIO(png()), "a.png")},
        content_type="multipart/form-data",
    )
    assert plain.status_code == 400 and "security token" in plain.text
    forged = editor.client.post(
        editor.gallery_url + "/files",
        headers={"HX-Request": "true", "X-CSRFToken": "x" * 40},
        data={"file": (io.BytesIO(png()), "a.png")},
        content_type="multipart/form-data",
    )
    assert forged.status_code == 403
    assert count(app, File) == 0
    file_id = tile_id(upload(editor, "a.png", png()).text)
    assert (
        editor.client.delete(f"{editor.gallery_url}/files/{file_id}", headers={"HX-Request": "true"}).status_code == 400
    )
    assert editor.client.post("/logout").status_code == 400
    assert count(app, File) == 1


def test_delete_from_a_tile_and_from_a_form(editor, app, run_jobs, outsider):
    first = tile_id(upload(editor, "a.png", png()).text)
    second = tile_id(upload(editor, "b.png", png()).text)
    run_jobs()
    assert outsider.client.delete(f"{editor.gallery_url}/files/{first}", headers=outsider.htmx()).status_code == 404
    gone = editor.client.delete(f"{editor.gallery_url}/files/{first}", headers=editor.htmx())
    assert gone.status_code == 200 and "<html" not in gone.text
    assert json.loads(gone.headers["HX-Trigger"]) == {"file-deleted": {"id": first, "name": "a.png"}}
    assert 'id="undo"' in gone.text and 'hx-swap-oob="true"' in gone.text and "Deleted 1 image" in gone.text
    assert editor.client.delete(f"{editor.gallery_url}/files/{first}", headers=editor.htmx()).status_code == 404
    form = editor.client.post(f"{editor.gallery_url}/files/{second}/delete", data={"csrf_token": editor.csrf})
    assert form.status_code == 302 and form.headers["Location"] == editor.gallery_url
    page = editor.client.get(editor.gallery_url).text
    assert "Deleted b.png." in page and f'name="file_id" value="{second}"' in page  # Undo, once
    assert f'value="{second}"' not in editor.client.get(editor.gallery_url).text
    assert count(app, Image) == 0
    with app.app_context():  # in the trash: rows kept, gone from the gallery
        assert all(db.session.get(File, file_id).deleted_at for file_id in (first, second))
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Event.type == "image.deleted")) == 2


def test_files_of_another_workspace_or_project_are_not_found(editor, app, live_server, other_tenant, tenant):
    from app.domain import accounts

    theirs = upload_over_http(live_server, other_tenant, png(), "theirs.png")
    with app.app_context():
        blog = accounts.create_project(tenant.workspace_id, "Blog").id
        db.session.commit()
    elsewhere = upload_over_http(live_server, tenant, png(), "blog.png")
    with app.app_context():
        db.session.get(File, elsewhere).project_id = blog
        db.session.commit()
    for file_id in (theirs, elsewhere, "fil_missing", "x" * 300):
        base = f"{editor.gallery_url}/files/{file_id}"
        assert editor.client.get(base, headers={"HX-Request": "true"}).status_code == 404
        assert editor.client.get(base + "/details").status_code == 404
        assert editor.client.delete(base, headers=editor.htmx()).status_code == 404
        assert editor.client.post(base + "/alt", headers=editor.htmx(), data={"alt_text": "x"}).status_code == 404
    assert count(app, File) == 2


def test_details_page_fragment_and_alt_text_the_api_returns(editor, app, run_jobs, corpus, tenant):
    file_id = tile_id(upload(editor, "Canon_40D.jpg", (corpus / "Canon_40D.jpg").read_bytes()).text)
    run_jobs()
    url = f"{editor.gallery_url}/files/{file_id}/details"
    page = editor.client.get(url)
    assert page.status_code == 200 and "<html" in page.text and f'id="details-{file_id}"' in page.text
    fragment = editor.client.get(url, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith(f'<article id="details-{file_id}"') and "<html" not in fragment.text
    for fact in (
        "100 × 68 px",
        "image/jpeg",
        "7,958 bytes",
        "Canon EOS 40D",
        "/public",
        "/thumbnail",
        "w=400,h=300,fit=cover",
        "Copy URL",
        "UTC</time>",
    ):
        assert fact in fragment.text, fact
    saved = editor.client.post(
        url.replace("/details", "/alt"),
        headers=editor.htmx(),
        data={"alt_text": "  A red   bird on a branch ", "in_dialog": "1"},
    )
    assert saved.status_code == 200 and f'id="alt-{file_id}"' in saved.text and "Saved." in saved.text
    assert 'hx-swap-oob="true"' in saved.text and 'alt="A red bird on a branch"' in saved.text
    api = editor.client.get(f"/api/images/{file_id}", headers=tenant.auth("read")).get_json()
    assert api["altText"] == "A red bird on a branch" and api["decorative"] is False
    decorative = editor.client.post(
        url.replace("/details", "/alt"), data={"csrf_token": editor.csrf, "alt_text": "ignored", "decorative": "on"}
    )
    assert decorative.status_code == 302 and decorative.headers["Location"] == url
    api = editor.client.get(f"/api/images/{file_id}", headers=tenant.auth("read")).get_json()
    assert api["altText"] is None and api["decorative"] is True
    too_long = editor.client.post(url.replace("/details", "/alt"), headers=editor.htmx(), data={"alt_text": "x" * 1001})
    assert too_long.status_code == 400 and "at most 1000 characters" in too_long.text


def test_filters_search_and_other_files(editor, app, run_jobs, live_server, tenant):
    ready = tile_id(upload(editor, "Sunset beach.png", png()).text)
    run_jobs()
    processing = tile_id(upload(editor, "sunrise.png", png()).text)
    broken = upload_over_http(live_server, tenant, damaged_jpeg(), "bomb.png")
    text = tile_id(upload(editor, "notes.txt", b"hello\n").text)
    run_jobs()  # the bomb fails; the sunrise is processed too, so put it back to queued by hand
    with app.app_context():
        db.session.delete(db.session.get(Image, processing))
        db.session.get(Provisioning, processing).state = "queued"
        db.session.commit()

    def ids(**params):
        response = editor.client.get(editor.gallery_url, query_string=params, headers={"HX-Request": "true"})
        return re.findall(r'<li id="tile-(fil_[0-9a-z]+)"', response.text)

    assert ids() == [broken, processing, ready]
    assert ids(status="ready") == [ready]
    assert ids(status="processing") == [processing]
    assert ids(status="failed") == [broken]
    assert ids(status="files") == [text]
    assert ids(q="SUN") == [processing, ready]
    assert ids(q="%") == [] and ids(q="_") == []
    assert ids(status="bogus") == ids()
    failed = editor.client.get(f"{editor.gallery_url}/files/{broken}", headers={"HX-Request": "true"}).text
    # A pixel bomb stays a bomb: its reason and Remove, no Retry.
    assert 'data-state="failed"' in failed and "Failed: " in failed and ">Remove<" in failed
    assert ">Retry<" not in failed and "upload it again" in failed
    nothing = editor.client.get(editor.gallery_url, query_string={"q": "zzz"}, headers={"HX-Request": "true"})
    assert "Nothing matches." in nothing.text


def test_retry_is_offered_for_a_passing_failure_and_refused_for_a_permanent_one(
    editor, app, run_jobs, live_server, tenant, make_app
):
    from app.adapters.queue import BurstWorker

    broken = upload_over_http(live_server, tenant, damaged_jpeg(), "bomb.png")
    run_jobs()
    refused = editor.client.post(f"{editor.gallery_url}/files/{broken}/retry", headers=editor.htmx())
    assert refused.status_code == 409 and "remove this file" in refused.text
    # The images service unreachable until the attempts run out: a failure that may pass.
    down = make_app(images_api_base="http://127.0.0.1:9/client/v4", images_max_attempts=1)
    photo = upload_over_http(live_server, tenant, png(), "photo.png")
    with down.app_context():
        BurstWorker(["events", "images", "default"], connection=down.extensions["queue"].connection).work(burst=True)
    with app.app_context():  # it waits for the service; make its deadline pass and its next attempt due
        row = db.session.get(Provisioning, photo)
        assert row.state == "waiting"
        row.deadline = row.next_attempt_at = utcnow() - timedelta(seconds=1)
        row.enqueued_at = None
        db.session.commit()
    with down.app_context():
        from app.domain.images import reconcile

        reconcile()
        BurstWorker(["events", "images", "default"], connection=down.extensions["queue"].connection).work(burst=True)
    with app.app_context():
        assert db.session.get(File, photo).error_code == "images_unavailable"
    tile = editor.client.get(f"{editor.gallery_url}/files/{photo}", headers={"HX-Request": "true"}).text
    assert ">Retry<" in tile and ">Remove<" in tile
    retried = editor.client.post(f"{editor.gallery_url}/files/{photo}/retry", headers=editor.htmx())
    assert retried.status_code == 200 and 'data-state="processing"' in retried.text and "hx-trigger" in retried.text
    with app.app_context():
        row = db.session.get(Provisioning, photo)
        file = db.session.get(File, photo)
        assert (row.state, row.attempts, row.last_error) == ("queued", 0, None)
        assert (file.status, file.error_code, file.error_message) == ("ready", None, None)
        assert (
            db.session.scalar(
                select(func.count()).where(Event.type == "image.provision_requested", Event.subject_id == photo)
            )
            == 2
        )
    again = editor.client.post(f"{editor.gallery_url}/files/{photo}/retry", headers=editor.htmx())
    assert again.status_code == 409 and "Only an image that is waiting" in again.text
    run_jobs()
    with app.app_context():
        assert db.session.get(Image, photo) is not None  # the service answers again: the image is made


def test_infinite_scroll_pages_with_a_cursor(editor, app):
    from app.domain import files
    from app.domain.files import UploadSpool

    with app.app_context():
        for n in range(33):
            spool = UploadSpool(app.config["UPLOAD_TMP_DIR"], app.config["MAX_UPLOAD_BYTES"])
            spool.write(png())
            files.store_upload(editor.tenant.workspace_id, editor.tenant.project_id, spool, f"img-{n:02}.png")
            spool.discard()
    page = editor.client.get(editor.gallery_url).text
    first = re.findall(r'<li id="tile-fil_[0-9a-z]+"[^>]*data-name="(img-\d\d).png"', page)
    assert first == [f"img-{n:02}" for n in range(32, 2, -1)]
    more = re.search(r'<a href="([^"]+)" hx-get="([^"]+)" hx-trigger="revealed, click"', page)
    assert more and more.group(1) == more.group(2)
    rest = editor.client.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert "<html" not in rest.text and 'id="more"' not in rest.text
    assert re.findall(r'data-name="(img-\d\d).png"', rest.text) == ["img-02", "img-01", "img-00"]
    without_js = editor.client.get(more.group(1).replace("&amp;", "&"))
    assert "<html" in without_js.text and "img-00.png" in without_js.text
    assert editor.client.get(editor.gallery_url, query_string={"cursor": "garbage"}).status_code == 400


def test_details_say_whether_the_original_or_a_master_was_sent(editor, run_jobs):
    from tests.masters_support import bmp

    master_id = tile_id(upload(editor, "logo.bmp", bmp()).text)
    original_id = tile_id(upload(editor, "photo.png", png()).text)
    run_jobs()
    details = editor.client.get(f"{editor.gallery_url}/files/{master_id}/details").text
    assert "Sent to Images" in details and 'data-source="master"' in details
    assert re.search(r"a 300×200 JPEG master \([^)]+\) made from the [^ ]+ [^ ]+ original \(300×200 BMP\)", details)
    plain = editor.client.get(f"{editor.gallery_url}/files/{original_id}/details").text
    assert 'data-source="original"' in plain and "the original, as uploaded" in plain
    page = editor.client.get(editor.gallery_url).text
    assert "12,000 px" in page and "original is kept" in page  # the drop zone states the real limits
