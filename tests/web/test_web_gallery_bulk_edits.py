"""Sorts, counts, bulk actions, the ZIP of originals, rename, focal point and the new-file poll, over the test client."""

import io
import json
import re
import zipfile

from gallery_web_support import Member, make_user, upload_over_http
from imagesd_support import damaged_jpeg
from PIL import Image as PILImage
from sqlalchemy import func, select

from app.domain.files import File
from app.domain.images import Image
from app.extensions import db


def png(size=(8, 8), color=(200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def upload(member, name, data):
    response = member.client.post(
        member.gallery_url + "/files",
        data={"file": (io.BytesIO(data), name)},
        headers=member.htmx(),
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.text
    return re.search(r'<li id="tile-(fil_[0-9a-z]+)"', response.text).group(1)


def names_in(html: str) -> list[str]:
    return re.findall(r'<li id="tile-fil_[0-9a-z]+" class="tile [a-z]+" data-state="[a-z]+" data-name="([^"]+)"', html)


def test_each_sort_orders_the_grid_and_pages_with_its_own_cursor(editor, app):
    from app.domain import queries
    from app.domain.queries import ListQuery
    from app.web.gallery import SORTS

    sizes = {"b.png": (30, 30), "a.png": (8, 8), "C.png": (60, 60), "a.png ": (9, 9)}
    for name, size in sizes.items():
        upload(editor, name, png(size, (size[0] * 3 % 255, 10, 10)))
    newest = names_in(editor.client.get(editor.gallery_url, headers=editor.htmx()).text)
    assert newest == ["a.png", "C.png", "a.png", "b.png"]  # the trailing space was cleaned on upload
    oldest = names_in(editor.client.get(editor.gallery_url + "?sort=oldest", headers=editor.htmx()).text)
    assert oldest == list(reversed(newest))
    by_name = names_in(editor.client.get(editor.gallery_url + "?sort=name", headers=editor.htmx()).text)
    assert [n.lower() for n in by_name] == ["a.png", "a.png", "b.png", "c.png"]
    assert names_in(editor.client.get(editor.gallery_url + "?sort=name_desc", headers=editor.htmx()).text) == list(
        reversed(by_name)
    )
    for name in ("Émile.png", "ébène.png", "Zoë.png", "émile.png"):  # SQLite lowers ASCII only: keys from the db
        upload(editor, name, png())
    with app.app_context():
        size_order = [f.name for f in db.session.scalars(select(File).order_by(File.size.desc(), File.id.desc()))]
        for name, (sort, _) in SORTS.items():

            def page(cursor=None, limit=50, sort=sort):
                query = ListQuery(
                    workspace_id=editor.tenant.workspace_id,
                    project_id=editor.tenant.project_id,
                    is_image=True,
                    sort=sort,
                    limit=limit,
                    cursor=cursor,
                )
                found = queries.run(query)
                return found.entries, found.next_cursor

            seen, cursor = [], None
            while True:
                entries, cursor = page(cursor, limit=1)
                seen += [e.file.id for e in entries]
                if not cursor:
                    break
            whole, _ = page()
            assert seen == [e.file.id for e in whole], name  # keyset pages never skip or repeat, ties included
        assert [e.file.name for e in page(sort="-size")[0]] == size_order
    bad = editor.client.get(editor.gallery_url + "?sort=name&cursor=bm9wZQ", headers=editor.htmx())
    assert bad.status_code == 400 and "out of date" in bad.text
    page = editor.client.get(editor.gallery_url + "?sort=size&q=png")
    assert '<option value="size" selected>' in page.text and "8 images · 0 failed · 0 other files" in page.text


def test_a_gallery_cursor_is_signed_and_bound_to_its_view_and_workspace(editor, outsider, app):
    """The gallery's cursor was unsigned base64 JSON: a made-up one was followed (issue 21)."""
    import base64
    from html import unescape

    for number in range(32):  # more than one page of 30
        upload(editor, f"p{number:02d}.png", png())
    first = editor.client.get(editor.gallery_url + "?sort=name", headers=editor.htmx()).text
    more = unescape(re.search(r'<li id="more"[^>]*>\s*<a href="([^"]+)"', first).group(1))
    cursor = re.search(r"cursor=([^&]+)", more).group(1)
    assert names_in(editor.client.get(more, headers=editor.htmx()).text) == ["p30.png", "p31.png"]
    last = re.search(r'<li id="tile-(fil_[0-9a-z]+)"', first).group(1)
    made_up = base64.urlsafe_b64encode(json.dumps({"s": "name", "i": last, "k": "p29.png"}).encode()).decode()
    outsider_url = outsider.gallery_url + f"?sort=name&cursor={cursor}"
    for member, url in (
        (editor, editor.gallery_url + f"?sort=name&cursor={made_up.rstrip('=')}"),  # the old unsigned shape
        (editor, editor.gallery_url + f"?sort=size&cursor={cursor}"),  # another sort
        (editor, editor.gallery_url + f"?sort=name&q=p&cursor={cursor}"),  # another search
        (editor, editor.gallery_url + f"?sort=name&status=files&cursor={cursor}"),  # another view
        (outsider, outsider_url),  # another workspace
    ):
        refused = member.client.get(url, headers=member.htmx())
        assert refused.status_code == 400 and "out of date" in refused.text and "<html" not in refused.text, url
    page = editor.client.get(editor.gallery_url + "?q=" + "x" * 256)
    assert page.status_code == 400 and "at most 255 characters" in page.text  # the API's limit, not a silent cut


def test_bulk_delete_by_ids_by_matching_and_without_javascript(editor, app, outsider):
    ids = [upload(editor, f"{name}.png", png()) for name in ("cat", "dog", "cow", "catfish")]
    foreign = upload(outsider, "theirs.png", png())
    deleted = editor.client.post(
        editor.gallery_url + "/bulk", headers=editor.htmx(), data={"action": "delete", "ids": [ids[1], foreign]}
    )
    assert deleted.status_code == 200 and deleted.text.lstrip().startswith('<section id="grid"')
    assert json.loads(deleted.headers["HX-Trigger"])["bulk-done"]["count"] == 1  # another workspace's id is ignored
    assert "dog.png" not in deleted.text and "3 images" in deleted.text
    # "All that match": the server selects from the query, not from what the page showed.
    matching = editor.client.post(
        editor.gallery_url + "/bulk",
        data={"csrf_token": editor.csrf, "action": "delete", "scope": "matching", "q": "cat", "status": "all"},
    )
    assert matching.status_code == 302 and matching.headers["Location"].endswith("/content?q=cat")
    assert "Deleted 2 files." in editor.client.get(editor.gallery_url).text
    with app.app_context():
        assert [
            f.name
            for f in db.session.scalars(
                select(File).where(File.workspace_id == editor.tenant.workspace_id, File.live())
            )
        ] == ["cow.png"]  # the rest: trash
        assert db.session.get(File, foreign) is not None
    nothing = editor.client.post(editor.gallery_url + "/bulk", headers=editor.htmx(), data={"action": "delete"})
    assert nothing.status_code == 400 and "Select at least one file" in nothing.text
    odd = editor.client.post(editor.gallery_url + "/bulk", headers=editor.htmx(), data={"action": "x", "ids": ids[2]})
    assert odd.status_code == 400


def test_viewers_cannot_bulk_delete_but_can_download(viewer, editor, app):
    kept = upload(editor, "kept.png", png())
    refused = viewer.client.post(
        viewer.gallery_url + "/bulk", headers=viewer.htmx(), data={"action": "delete", "ids": kept}
    )
    assert refused.status_code == 403
    download = viewer.client.post(
        viewer.gallery_url + "/bulk", data={"csrf_token": viewer.csrf, "action": "download", "ids": kept}
    )
    assert download.status_code == 200 and download.mimetype == "application/zip"


def test_bulk_retry_requeues_only_the_failed(editor, app, run_jobs, live_server, tenant):
    broken = upload_over_http(live_server, tenant, damaged_jpeg(), "bomb.png")
    fine = upload(editor, "fine.png", png())
    run_jobs()
    with app.app_context():  # a bomb's own failure is permanent: record it as one that may pass (the service away)
        file = db.session.get(File, broken)
        file.error_code, file.error_message = "images_unavailable", "The images service could not be reached."
        db.session.commit()
    response = editor.client.post(
        editor.gallery_url + "/bulk", headers=editor.htmx(), data={"action": "retry", "ids": [broken, fine]}
    )
    message = json.loads(response.headers["HX-Trigger"])["bulk-done"]["message"]
    assert message == "Queued 1 failed image again. 1 file had not failed and was left alone."
    with app.app_context():
        assert db.session.get(File, broken).status == "ready"


def test_the_zip_of_originals_is_streamed_and_byte_identical(editor, app, corpus):
    names = ["Canon_40D.jpg", "Nikon_D70.jpg"]
    ids = [upload(editor, name, (corpus / name).read_bytes()) for name in names]
    ids.append(upload(editor, "Canon_40D.jpg", b"same name, other bytes\n"))
    response = editor.client.post(
        editor.gallery_url + "/bulk", data={"csrf_token": editor.csrf, "action": "download", "ids": ids}, buffered=False
    )
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    with app.app_context():
        from app.domain.accounts import get_project

        get_project(editor.tenant.workspace_id, editor.tenant.project_id).name = 'Ünïcode "quoted"/name'
        db.session.commit()
    odd = editor.client.post(
        editor.gallery_url + "/bulk", data={"csrf_token": editor.csrf, "action": "download", "ids": ids[:1]}
    )
    assert odd.status_code == 200 and "filename*=UTF-8''" in odd.headers["Content-Disposition"]
    odd.close()
    chunks = list(response.response)
    assert len(chunks) > 3  # sent piece by piece, not built whole first
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None
    contents = {info.filename: archive.read(info) for info in archive.infolist()}
    assert contents == {
        "Canon_40D.jpg": b"same name, other bytes\n",
        "Nikon_D70.jpg": (corpus / "Nikon_D70.jpg").read_bytes(),
        "Canon_40D (2).jpg": (corpus / "Canon_40D.jpg").read_bytes(),
    }


def test_rename_keeps_the_name_as_typed_and_updates_the_tile(editor, app, run_jobs):
    file_id = upload(editor, "image.png", png())
    run_jobs()
    url = f"{editor.gallery_url}/files/{file_id}/name"
    renamed = editor.client.post(url, headers=editor.htmx(), data={"name": " AC/DC\tlive .png ", "in_dialog": "1"})
    assert renamed.status_code == 200 and "Renamed." in renamed.text
    assert f'id="tile-{file_id}"' in renamed.text and 'hx-swap-oob="true"' in renamed.text
    with app.app_context():
        assert db.session.get(File, file_id).name == "AC/DC live .png"  # a typed name is not a path
    editor.client.post(url, headers=editor.htmx(), data={"name": "back\\slash/.jpg"})
    with app.app_context():
        assert db.session.get(File, file_id).name == "back\\slash/.jpg"
    assert editor.client.post(url, headers=editor.htmx(), data={"name": "   "}).status_code == 400
    plain = editor.client.post(url, data={"name": "Team.png", "csrf_token": editor.csrf})
    assert plain.status_code == 302 and plain.headers["Location"].endswith(f"/files/{file_id}/details")


def test_the_focal_point_moves_every_crop_and_resets_to_the_centre(editor, app, run_jobs, corpus):
    file_id = upload(editor, "portrait.jpg", (corpus / "orientation_portrait_6.jpg").read_bytes())
    run_jobs()
    url = f"{editor.gallery_url}/files/{file_id}/focal"
    saved = editor.client.post(url, headers=editor.htmx(), data={"x": "0.25", "y": "0.8", "in_dialog": "1"})
    assert saved.status_code == 200 and "Focal point saved." in saved.text
    assert f"/{file_id}/w=200,h=200,fit=cover,gravity=0.25x0.8" in saved.text  # the tile in the same answer
    grid = editor.client.get(editor.gallery_url).text
    assert "fit=cover,gravity=0.25x0.8" in grid
    details = editor.client.get(f"{editor.gallery_url}/files/{file_id}/details").text
    assert "w=400,h=300,fit=cover,gravity=0.25x0.8" in details and "<h1" in details
    for bad in ({"x": "2", "y": "0.5"}, {"x": "0.5"}, {"x": "nan", "y": "0.1"}, {"x": "left", "y": "0"}):
        refused = editor.client.post(url, headers=editor.htmx(), data=bad)
        assert refused.status_code == 400 and "focal point" in refused.text.lower()
    editor.client.post(url, headers=editor.htmx(), data={"op": "reset"})
    with app.app_context():
        image = db.session.get(Image, file_id)
        assert (image.focal_x, image.focal_y) == (None, None)
    grid = editor.client.get(editor.gallery_url).text
    assert "gravity=0.25x0.8" not in grid and "fit=cover,gravity=auto" in grid  # no focal point: the service picks


def test_details_read_like_a_photo_library(editor, app, run_jobs, corpus):
    file_id = upload(editor, "Canon_40D.jpg", (corpus / "Canon_40D.jpg").read_bytes())
    run_jobs()
    page = editor.client.get(f"{editor.gallery_url}/files/{file_id}/details").text
    assert '<h1 id="details-title"' in page
    for text in (
        "Canon EOS 40D",
        "1/160 s, f/7.1, ISO 100",
        "135 mm",
        "100 × 68 px",
        "sRGB",
        "Not stored (removed on upload)",
        '<time datetime="2008-05-30T15:56:01"',
        "All EXIF tags",
        "Copy HTML",
        "Copy Markdown",
        "width=&#34;100&#34; height=&#34;68&#34;",
        "srcset=&#34;",
    ):
        assert text in page, text
    dialog = editor.client.get(f"{editor.gallery_url}/files/{file_id}/details", headers=editor.htmx()).text
    assert '<h2 id="details-title"' in dialog and "<html" not in dialog


def test_new_files_from_elsewhere_come_through_the_poll(editor, app, live_server, tenant):
    first = upload(editor, "mine.png", png())
    url = f"{editor.gallery_url}/newer?after={first}"
    assert editor.client.get(url, headers=editor.htmx()).status_code == 204
    theirs = upload_over_http(live_server, tenant, png(), "from-the-api.png")
    fresh = editor.client.get(url, headers=editor.htmx())
    assert fresh.status_code == 200 and f'id="tile-{theirs}"' in fresh.text and f"tile-{first}" not in fresh.text
    assert editor.client.get(f"{editor.gallery_url}/newer?after={theirs}", headers=editor.htmx()).status_code == 204
    assert (
        editor.client.get(f"{editor.gallery_url}/newer?after={first}&q=nomatch", headers=editor.htmx()).status_code
        == 204
    )


def test_owners_change_workspace_settings_and_each_change_is_recorded(app, tenant, editor):
    make_user(app, tenant, "owner@example.com", "owner")
    owner = Member(app, "owner@example.com", tenant)
    url = f"/w/{tenant.workspace_id}/settings"
    assert 'href="' + url + '"' in owner.client.get(owner.gallery_url).text
    page = owner.client.get(url)
    assert page.status_code == 200 and "<h1>Workspace settings" in page.text and "cannot come back" in page.text
    saved = owner.client.post(url, data={"csrf_token": owner.csrf, "private_images": "on", "trash_days": "14"})
    assert saved.status_code == 302
    page = owner.client.get(url).text
    assert "owner@example.com" in page and "trash_days" in page and "private_images" in page
    bad = owner.client.post(url, headers=owner.htmx(), data={"trash_days": "3651"})
    assert bad.status_code == 400 and "from 0 to 3,650" in bad.text
    assert 'min="0" max="3650"' in page
    assert editor.client.get(url).status_code == 403
    assert f'href="{url}"' not in editor.client.get(editor.gallery_url).text
    from app.domain import workspace_settings

    with app.app_context():
        assert workspace_settings.current(tenant.workspace_id) == {
            "private_images": True,
            "keep_gps": False,
            "trash_days": 14,
            "version_copy_days": 7,  # the default: replaced versions' copies stay a week
        }
        assert db.session.scalar(select(func.count()).select_from(workspace_settings.SettingChange)) == 2


def test_workspace_update_on_the_command_line(cli, tenant, app):
    result = cli("workspace", "update", tenant.workspace_id, "--keep-gps", "--trash-days", "7", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["settings"] == {"private_images": False, "keep_gps": True, "trash_days": 7, "version_copy_days": 7}
    assert {c["field"] for c in data["changes"]} == {"keep_gps", "trash_days"}
    assert cli("workspace", "update", tenant.workspace_id, "--trash-days", "3651").exit_code == 1
    off = cli("workspace", "update", tenant.workspace_id, "--trash-days", "0", "--json")
    assert off.exit_code == 0 and json.loads(off.output)["settings"]["trash_days"] == 0
    assert cli("workspace", "update", "ws_nope", "--keep-gps").exit_code == 3
    assert cli("workspace", "update", tenant.workspace_id).exit_code == 2


def test_processing_tiles_are_refreshed_in_one_request(editor, app, run_jobs, outsider):
    first, second = upload(editor, "one.png", png()), upload(editor, "two.png", png())
    theirs = upload(outsider, "theirs.png", png())
    url = f"{editor.gallery_url}/tiles?ids={first}&ids={second}&ids={theirs}&ids=fil_nope"
    assert editor.client.get(url, headers=editor.htmx()).status_code == 204  # all still processing
    run_jobs()
    done = editor.client.get(url, headers=editor.htmx())
    assert done.status_code == 200 and "<html" not in done.text
    assert sorted(re.findall(r'<li id="tile-(fil_[0-9a-z]+)"', done.text)) == sorted([first, second])
    assert done.text.count('data-state="ready"') == 2 and "hx-trigger" not in done.text.split("<a")[0]
