"""The gallery's Undo after a delete and the project's Trash page: both shapes, both roles, with and without htmx."""

from __future__ import annotations

import io

from PIL import Image as PILImage

from app.domain.accounts import Workspace
from app.domain.files import File
from app.extensions import db


def png(color=(40, 120, 200)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (8, 8), color).save(out, "PNG")
    return out.getvalue()


def uploaded(member, name: str, run_jobs) -> str:
    response = member.client.post(
        f"{member.gallery_url}/files",
        headers=member.htmx(),
        data={"file": (io.BytesIO(png()), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.text
    run_jobs()
    return response.text.split('id="tile-', 1)[1].split('"', 1)[0]


def trash_url(member) -> str:
    return member.gallery_url.rsplit("/content", 1)[0] + "/trash"


def live(app, file_id: str) -> bool:
    with app.app_context():
        file = db.session.get(File, file_id)
        return file is not None and file.deleted_at is None


def test_undo_after_a_tile_delete_brings_the_tile_back(editor, app, run_jobs):
    file_id = uploaded(editor, "sea.png", run_jobs)
    page = editor.client.get(editor.gallery_url).text
    assert 'id="trash-link"' in page and 'id="undo"' in page
    assert 'hx-confirm=""' in page  # the trash keeps deletions: Undo instead of a confirmation
    gone = editor.client.delete(f"{editor.gallery_url}/files/{file_id}", headers=editor.htmx())
    assert 'role="status"' in gone.text and "Deleted 1 image" in gone.text and ">Undo</button>" in gone.text
    assert "Kept in the" in gone.text and not live(app, file_id)
    assert f'id="tile-{file_id}"' not in editor.client.get(editor.gallery_url).text
    undone = editor.client.post(
        f"{trash_url(editor)}/undo", headers=editor.htmx(), data={"file_id": file_id, "status": "all", "q": ""}
    )
    assert undone.status_code == 200 and "<html" not in undone.text
    assert "Restored 1 image." in undone.text and f'id="tile-{file_id}"' in undone.text
    assert 'id="grid"' in undone.text and 'hx-swap-oob="true"' in undone.text
    assert live(app, file_id)
    run_jobs()
    assert (
        'data-state="ready"' in editor.client.get(f"{editor.gallery_url}/files/{file_id}", headers=editor.htmx()).text
    )
    again = editor.client.post(f"{trash_url(editor)}/undo", headers=editor.htmx(), data={"file_id": file_id})
    assert again.status_code == 404 and 'role="alert"' in again.text
    assert editor.client.post(f"{trash_url(editor)}/undo", headers=editor.htmx(), data={}).status_code == 400


def test_undo_without_javascript(editor, app, run_jobs):
    file_id = uploaded(editor, "sea.png", run_jobs)
    form = editor.client.post(f"{editor.gallery_url}/files/{file_id}/delete", data={"csrf_token": editor.csrf})
    assert form.status_code == 302
    page = editor.client.get(editor.gallery_url).text
    assert "Deleted 1 image" in page and f'value="{file_id}"' in page
    undone = editor.client.post(f"{trash_url(editor)}/undo", data={"csrf_token": editor.csrf, "file_id": file_id})
    assert undone.status_code == 302 and undone.headers["Location"] == editor.gallery_url
    assert "Restored 1 image." in editor.client.get(editor.gallery_url).text and live(app, file_id)


def test_the_trash_page_lists_restores_deletes_for_good_and_empties(editor, app, run_jobs):
    ids = [uploaded(editor, f"{name}.png", run_jobs) for name in ("one", "two", "three", "four")]
    for file_id in ids:
        editor.client.delete(f"{editor.gallery_url}/files/{file_id}", headers=editor.htmx())
    page = editor.client.get(trash_url(editor))
    assert page.status_code == 200 and "<html" in page.text and "Kept until" in page.text
    assert "kept here for 30 days" in page.text and page.text.count('class="trashed"') == 4
    fragment = editor.client.get(trash_url(editor), headers={"HX-Request": "true"})
    assert 'id="trash"' in fragment.text and "<html" not in fragment.text
    assert "Vary" in page.headers and "HX-Request" in page.headers["Vary"]

    restored = editor.client.post(f"{trash_url(editor)}/files/{ids[0]}/restore", headers=editor.htmx())
    assert restored.status_code == 200 and "Restored one.png." in restored.text and live(app, ids[0])
    purged = editor.client.post(f"{trash_url(editor)}/files/{ids[1]}/purge", headers=editor.htmx())
    assert "Deleted two.png for good." in purged.text
    with app.app_context():
        assert db.session.get(File, ids[1]) is None
    plain = editor.client.post(f"{trash_url(editor)}/files/{ids[2]}/restore", data={"csrf_token": editor.csrf})
    assert plain.status_code == 302 and live(app, ids[2])
    emptied = editor.client.post(f"{trash_url(editor)}/empty", headers=editor.htmx())
    assert "Deleted 1 file for good." in emptied.text and "The trash is empty." in emptied.text
    with app.app_context():
        assert db.session.get(File, ids[3]) is None
    assert editor.client.post(f"{trash_url(editor)}/files/{ids[3]}/restore", headers=editor.htmx()).status_code == 404


def test_viewers_and_outsiders_see_no_trash(editor, viewer, outsider, app, run_jobs):
    file_id = uploaded(editor, "sea.png", run_jobs)
    editor.client.delete(f"{editor.gallery_url}/files/{file_id}", headers=editor.htmx())
    assert 'id="trash-link"' not in viewer.client.get(viewer.gallery_url).text
    assert viewer.client.get(trash_url(viewer)).status_code == 403
    refused = viewer.client.post(f"{trash_url(viewer)}/files/{file_id}/restore", headers=viewer.htmx())
    assert refused.status_code == 403 and not live(app, file_id)
    assert outsider.client.get(trash_url(editor)).status_code == 404
    assert (
        editor.client.post(f"{trash_url(editor)}/files/{file_id}/restore", headers=editor.htmx(), data={}).status_code
        == 200
    )


def test_with_the_trash_off_a_delete_asks_first_and_offers_no_undo(editor, app, run_jobs):
    with app.app_context():
        workspace = db.session.get(Workspace, editor.tenant.workspace_id)
        workspace.settings = {**(workspace.settings or {}), "trash_days": 0}
        db.session.commit()
    file_id = uploaded(editor, "sea.png", run_jobs)
    assert 'hx-confirm="Delete sea.png? This cannot be undone."' in editor.client.get(editor.gallery_url).text
    gone = editor.client.delete(f"{editor.gallery_url}/files/{file_id}", headers=editor.htmx())
    assert gone.status_code == 200 and ">Undo</button>" not in gone.text
    with app.app_context():
        assert db.session.get(File, file_id) is None
    assert "trash is off" in editor.client.get(trash_url(editor)).text
