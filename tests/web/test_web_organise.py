"""The gallery's collections sidebar, its bulk "add to collection" and tag actions, the tag editor and suggestions,
over the test client: pages and fragments, CSRF, viewers, readable errors."""

import io
import json
import re

from gallery_web_support import Member, make_user  # noqa: F401
from PIL import Image as PILImage


def png(color) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), color).save(buffer, "PNG")
    return buffer.getvalue()


def upload(member, name, color):
    response = member.client.post(
        member.gallery_url + "/files",
        data={"file": (io.BytesIO(png(color)), name)},
        headers=member.htmx(),
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.text
    return re.search(r'<li id="tile-(fil_[0-9a-z]+)"', response.text).group(1)


def base(member) -> str:
    return f"/w/{member.tenant.workspace_id}/p/{member.tenant.project_id}"


def test_collections_are_made_filled_by_drop_and_bulk_and_filter_the_grid(editor, run_jobs):
    ids = [upload(editor, f"photo-{n}.png", (n * 40, 20, 20)) for n in range(3)]
    run_jobs()
    made = editor.client.post(f"{base(editor)}/collections", data={"name": "Hero"}, headers=editor.htmx())
    assert made.status_code == 200 and '<nav id="collections"' in made.text and "<html" not in made.text
    assert json.loads(made.headers["HX-Trigger"])["organised"]["message"] == "Created the collection Hero."
    collection = re.search(r'data-collection-id="(col_[0-9a-z]+)"', made.text).group(1)
    page = editor.client.get(editor.gallery_url)
    assert "<html" in page.text and 'id="collections"' in page.text and 'id="bulk-collect"' in page.text
    dropped = editor.client.post(
        f"{base(editor)}/collections/{collection}/images", data={"ids": ids[:1]}, headers=editor.htmx()
    )
    assert json.loads(dropped.headers["HX-Trigger"])["organised"]["message"] == "Added 1 image to Hero."
    bulk = editor.client.post(
        editor.gallery_url + "/bulk",
        data={"action": "collect", "collection_id": collection, "ids": ids[1:], "status": "all", "sort": "newest"},
        headers=editor.htmx(),
    )
    assert (
        bulk.status_code == 200
        and "Added 2 images to Hero." in json.loads(bulk.headers["HX-Trigger"])["bulk-done"]["message"]
    )
    grid = editor.client.get(f"{editor.gallery_url}?collection={collection}", headers=editor.htmx()).text
    assert sorted(re.findall(r'<li id="tile-(fil_[0-9a-z]+)"', grid)) == sorted(ids)
    tagged = editor.client.post(
        editor.gallery_url + "/bulk",
        data={"action": "tag", "tags": "Beach, summer", "scope": "matching", "expected": "3", "status": "all",
              "sort": "newest", "collection": collection},
        headers=editor.htmx(),
    )  # fmt: skip
    assert "Tagged 3 images." in json.loads(tagged.headers["HX-Trigger"])["bulk-done"]["message"]
    only = editor.client.get(f"{editor.gallery_url}?tag=beach&tag=SUMMER", headers=editor.htmx()).text
    assert len(re.findall(r'<li id="tile-', only)) == 3 and 'name="tag" value="beach"' in only
    untagged = editor.client.post(
        editor.gallery_url + "/bulk",
        data={"action": "untag", "tags": "summer", "ids": ids[:1], "status": "all", "sort": "newest"},
        headers=editor.htmx(),
    )
    assert "Removed the tags from 1 image." in json.loads(untagged.headers["HX-Trigger"])["bulk-done"]["message"]
    renamed = editor.client.post(f"{base(editor)}/collections/{collection}/rename", data={"name": "Heroes"},
                                 headers=editor.htmx())  # fmt: skip
    assert ">Heroes</a>" in renamed.text
    plain = editor.client.post(f"{base(editor)}/collections/{collection}/delete", data={"csrf_token": editor.csrf})
    assert plain.status_code == 302 and plain.headers["Location"].endswith("/content")
    after = editor.client.get(editor.gallery_url).text
    assert ">Heroes</a>" not in after and "Deleted the collection Heroes; its images stay." in after


def test_the_tag_editor_saves_and_suggests(editor, run_jobs):
    file_id = upload(editor, "beach.png", (10, 120, 200))
    run_jobs()
    details = editor.client.get(f"{editor.gallery_url}/files/{file_id}/details")
    assert f'id="tags-{file_id}"' in details.text and "No tags yet." in details.text
    saved = editor.client.post(
        f"{editor.gallery_url}/files/{file_id}/tags", data={"tags": "Sea, dusk ,, sea"}, headers=editor.htmx()
    )
    assert saved.status_code == 200 and f'id="tags-{file_id}"' in saved.text and "<html" not in saved.text
    assert re.findall(r"<li><a href=\"[^\"]+\">([^<]+)</a></li>", saved.text) == ["dusk", "Sea"]
    options = editor.client.get(f"{base(editor)}/tags/suggest?tags=Sea,%20DU&list=tag-options", headers=editor.htmx())
    assert '<option value="Sea, dusk">dusk (1)</option>' in options.text
    bad = editor.client.post(
        f"{editor.gallery_url}/files/{file_id}/tags", data={"tags": "x" * 70}, headers=editor.htmx()
    )
    assert bad.status_code == 400 and "at most 64 characters" in bad.text


def test_viewers_see_and_filter_but_cannot_change_and_forms_need_csrf(editor, viewer, run_jobs):
    file_id = upload(editor, "one.png", (1, 2, 3))
    run_jobs()
    collection = re.search(
        r'data-collection-id="(col_[0-9a-z]+)"',
        editor.client.post(f"{base(editor)}/collections", data={"name": "Seen"}, headers=editor.htmx()).text,
    ).group(1)
    page = viewer.client.get(viewer.gallery_url).text
    assert "Seen" in page and 'id="new-collection"' not in page and "data-drop-url" not in page
    assert viewer.client.get(f"{viewer.gallery_url}?collection={collection}").status_code == 200
    refused = viewer.client.post(
        f"{base(viewer)}/collections/{collection}/images", data={"ids": [file_id]}, headers=viewer.htmx()
    )
    assert refused.status_code == 403
    no_token = editor.client.post(f"{base(editor)}/collections", data={"name": "X"}, headers={"HX-Request": "true"})
    assert no_token.status_code == 400 and "security token" in no_token.text
    clash = editor.client.post(f"{base(editor)}/collections", data={"name": "SEEN"}, headers=editor.htmx())
    assert clash.status_code == 409 and "already has a collection of that name" in clash.text
    missing = editor.client.get(f"{editor.gallery_url}?collection=col_nothing")
    assert missing.status_code == 404 and "No collection" in missing.text
