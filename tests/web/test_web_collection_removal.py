"""Taking images out of a collection in the gallery: the bulk bar's "Remove from <collection>" over ticked ids and
over "all that match", an image's collections on its details page, viewers refused, another workspace's collection
404; each change is the domain's, so `image.updated` names the collection removed as the API's would."""

import json
import re

from gallery_web_support import Member, make_user  # noqa: F401
from sqlalchemy import select
from test_web_organise import base, upload

from app.domain.events import Event
from app.extensions import db

TILE = re.compile(r'<li id="tile-(fil_[0-9a-z]+)"')


def make_collection(member, name: str) -> str:
    made = member.client.post(f"{base(member)}/collections", data={"name": name}, headers=member.htmx())
    assert made.status_code == 200, made.text
    return re.search(rf'data-collection-id="(col_[0-9a-z]+)" data-name="{name}"', made.text).group(1)


def filled(member, run_jobs, name: str, count: int) -> tuple[str, list[str]]:
    ids = [upload(member, f"{name}-{n}.png", (n * 30, 90, 10)) for n in range(count)]
    run_jobs()
    collection = make_collection(member, name)
    added = member.client.post(f"{base(member)}/collections/{collection}/images", data={"ids": ids},
                               headers=member.htmx())  # fmt: skip
    assert added.status_code == 200, added.text
    return collection, ids


def members(member, collection: str) -> list[str]:
    grid = member.client.get(f"{member.gallery_url}?collection={collection}", headers=member.htmx()).text
    return sorted(TILE.findall(grid))


def removals(app, file_id: str) -> list[dict]:
    with app.app_context():
        events = db.session.scalars(
            select(Event).where(Event.type == "image.updated", Event.subject_id == file_id).order_by(Event.id)
        )
        return [event.payload["changed"] for event in events if "removed" in event.payload["changed"].get(
            "collections", {})]  # fmt: skip


def test_the_bulk_bar_removes_ticked_ids_and_all_that_match_from_the_collection_shown(app, editor, run_jobs):
    collection, ids = filled(editor, run_jobs, "Beach", 4)
    page = editor.client.get(f"{editor.gallery_url}?collection={collection}").text
    assert "<html" in page and '<button type="submit" name="action" value="uncollect"' in page
    assert "Remove from Beach</button>" in page
    assert 'id="bulk-uncollect"' not in editor.client.get(editor.gallery_url).text  # only in a collection's view
    view = {"status": "all", "sort": "newest", "collection": collection}
    ticked = editor.client.post(
        editor.gallery_url + "/bulk", data={"action": "uncollect", "ids": ids[:1], **view}, headers=editor.htmx()
    )
    assert ticked.status_code == 200 and 'id="grid"' in ticked.text and "<html" not in ticked.text
    assert json.loads(ticked.headers["HX-Trigger"])["bulk-done"]["message"] == "Removed 1 image from Beach."
    assert ids[0] not in TILE.findall(ticked.text) and len(TILE.findall(ticked.text)) == 3
    assert 'id="collections" class="collections" aria-label="Collections" hx-swap-oob="true"' in ticked.text
    assert re.search(rf'id="collection-{collection}".*?<span class="count"[^>]*>3</span>', ticked.text, re.S)
    assert removals(app, ids[0]) == [{"collections": {"removed": [collection]}}]
    assert members(editor, collection) == sorted(ids[1:])

    everything = editor.client.post(
        editor.gallery_url + "/bulk",
        data={"action": "uncollect", "scope": "matching", "expected": "3", **view, "csrf_token": editor.csrf},
    )  # no JavaScript: a plain form, then the page with the message
    assert everything.status_code == 302 and f"collection={collection}" in everything.headers["Location"]
    after = editor.client.get(everything.headers["Location"]).text
    assert "Removed 3 images from Beach." in after and members(editor, collection) == []
    assert all(removals(app, file_id) == [{"collections": {"removed": [collection]}}] for file_id in ids)
    assert len(TILE.findall(editor.client.get(editor.gallery_url, headers=editor.htmx()).text)) == 4  # images stay


def test_the_details_page_lists_an_images_collections_and_adds_and_removes_one(app, editor, run_jobs):
    beach, (file_id,) = filled(editor, run_jobs, "Beach", 1)
    team = make_collection(editor, "Team")
    details = editor.client.get(f"{editor.gallery_url}/files/{file_id}/details").text
    listed = details[details.index(f'id="image-collections-{file_id}"') :]
    listed = listed[: listed.index("</form>")]
    assert ">Beach</a>" in listed and 'aria-label="Remove from Beach"' in listed
    assert f'<option value="{team}">Team</option>' in listed and f'<option value="{beach}">' not in listed

    added = editor.client.post(f"{editor.gallery_url}/files/{file_id}/collections", data={"collection_id": team},
                               headers=editor.htmx())  # fmt: skip
    assert added.status_code == 200 and f'id="image-collections-{file_id}"' in added.text and "<html" not in added.text
    assert json.loads(added.headers["HX-Trigger"])["organised"]["message"] == "Added Beach-0.png to Team."
    assert 'aria-label="Remove from Team"' in added.text
    removed = editor.client.post(f"{editor.gallery_url}/files/{file_id}/collections", data={"remove_from": beach},
                                 headers=editor.htmx())  # fmt: skip
    assert json.loads(removed.headers["HX-Trigger"])["organised"]["message"] == "Removed Beach-0.png from Beach."
    assert ">Beach</a>" not in removed.text and f'<option value="{beach}">Beach</option>' in removed.text
    assert removals(app, file_id) == [{"collections": {"removed": [beach]}}]
    assert members(editor, beach) == [] and members(editor, team) == [file_id]

    plain = editor.client.post(f"{editor.gallery_url}/files/{file_id}/collections",
                               data={"remove_from": team, "csrf_token": editor.csrf})  # fmt: skip
    assert plain.status_code == 302 and plain.headers["Location"].endswith(f"/files/{file_id}/details")
    page = editor.client.get(plain.headers["Location"]).text
    assert "Removed Beach-0.png from Team." in page and "In no collection." in page


def test_viewers_see_no_control_and_are_refused(editor, viewer, run_jobs):
    collection, ids = filled(editor, run_jobs, "Seen", 2)
    page = viewer.client.get(f"{viewer.gallery_url}?collection={collection}").text
    assert 'value="uncollect"' not in page
    details = viewer.client.get(f"{viewer.gallery_url}/files/{ids[0]}/details").text
    assert ">Seen</a>" in details and "Remove from Seen" not in details and "add-collection-" not in details
    for url, data in (
        (viewer.gallery_url + "/bulk", {"action": "uncollect", "ids": ids, "collection": collection}),
        (f"{viewer.gallery_url}/files/{ids[0]}/collections", {"remove_from": collection}),
    ):
        refused = viewer.client.post(url, data=data, headers=viewer.htmx())
        assert refused.status_code == 403 and "Viewers can look but not change anything" in refused.text
    no_token = editor.client.post(f"{editor.gallery_url}/files/{ids[0]}/collections", data={"remove_from": collection},
                                  headers={"HX-Request": "true"})  # fmt: skip
    assert no_token.status_code == 400 and "security token" in no_token.text
    assert members(editor, collection) == sorted(ids)


def test_another_workspaces_collection_is_404_and_nothing_changes(editor, outsider, run_jobs):
    collection, ids = filled(editor, run_jobs, "Ours", 1)
    theirs, _ = filled(outsider, run_jobs, "Theirs", 1)
    for url, data in (
        (editor.gallery_url + "/bulk", {"action": "uncollect", "ids": ids, "collection": theirs}),
        (f"{editor.gallery_url}/files/{ids[0]}/collections", {"remove_from": theirs}),
        (f"{editor.gallery_url}/files/{ids[0]}/collections", {"collection_id": theirs}),
    ):
        answer = editor.client.post(url, data=data, headers=editor.htmx())
        assert answer.status_code == 404 and "No collection" in answer.text and "<html" not in answer.text
    unopened = editor.client.post(editor.gallery_url + "/bulk", data={"action": "uncollect", "ids": ids},
                                  headers=editor.htmx())  # fmt: skip
    assert unopened.status_code == 400 and "Open a collection first" in unopened.text
    assert members(editor, collection) == ids and members(outsider, theirs) != []
