"""Collections and tags in real Chromium: make a collection in the sidebar, drag a tile onto it, tag the page's
selection from the bulk bar, filter the grid by the collection, and take images out of it again (the bulk bar's
ticked tiles and "all that match", the details dialog)."""

import re

import requests
from browser_support import make_user, sign_in
from playwright.sync_api import expect

from tests.factories import upload_over_http


def test_an_editor_drags_a_tile_onto_a_collection_and_tags_the_selection(page, stack, tenant, corpus):
    ids = [
        upload_over_http(stack, tenant, (corpus / source).read_bytes(), name, content_type="image/jpeg")
        for source, name in (("Canon_40D.jpg", "beach.jpg"), ("Nikon_D70.jpg", "team.jpg"))
    ]
    make_user(stack.app, tenant.workspace_id, "editor@example.com", "editor")
    sign_in(page, "editor@example.com")
    for file_id in ids:
        expect(page.locator(f"#tile-{file_id}")).to_have_attribute("data-state", "ready", timeout=30_000)

    page.get_by_label("New collection").fill("Website")
    page.get_by_role("button", name="Create").click()
    collection = page.locator("#collections li.collection", has_text="Website")
    expect(collection.locator(".count")).to_have_text("0")
    expect(page.locator("#announcer")).to_have_text("Created the collection Website.")

    page.locator(f"#tile-{ids[0]} a.thumb").drag_to(collection)
    expect(collection.locator(".count")).to_have_text("1")
    expect(page.locator("#announcer")).to_have_text("Added 1 image to Website.")

    page.get_by_label("Select all on this page").check()
    expect(page.locator("#selected-count")).to_have_text("2 files selected")
    page.get_by_label("Tags", exact=True).fill("Summer, people")
    page.get_by_role("button", name="Add tags").click()
    expect(page.locator("#announcer")).to_have_text("Tagged 2 images.")
    bad = page.get_by_label("Tags", exact=True)
    page.get_by_label("Select all on this page").check()
    bad.fill("a" * 70)
    page.get_by_role("button", name="Add tags").click()
    expect(page.locator("#flash")).to_contain_text("at most 64 characters")

    collection.get_by_role("link", name="Website").click()
    page.wait_for_url(re.compile(r"collection=col_"))
    expect(page.locator("#tiles li.tile")).to_have_count(1)
    expect(page.locator(f"#tile-{ids[0]}")).to_be_visible()
    for file_id in ids:
        image = requests.get(f"{stack.url}/api/images/{file_id}", headers=tenant.auth("read"), timeout=10).json()
        assert image["tags"] == ["people", "Summer"], image["tags"]
    assert requests.get(f"{stack.url}/api/images/{ids[0]}", headers=tenant.auth("read"), timeout=10).json()[
        "collections"
    ] == [collection.get_attribute("data-collection-id")]


def test_an_editor_removes_images_from_a_collection_by_selection_and_from_the_details(page, stack, tenant, corpus):
    sources = ("Canon_40D.jpg", "Nikon_D70.jpg", "gps_DSCN0010.jpg")
    ids = [
        upload_over_http(stack, tenant, (corpus / source).read_bytes(), source, content_type="image/jpeg")
        for source in sources
    ]
    made = requests.post(
        f"{stack.url}/api/collections",
        json={"projectId": tenant.project_id, "name": "Beach"},
        headers=tenant.auth(),
        timeout=10,
    )
    assert made.status_code == 201, made.text
    collection_id = made.json()["id"]
    make_user(stack.app, tenant.workspace_id, "editor@example.com", "editor")
    sign_in(page, "editor@example.com")
    for file_id in ids:
        expect(page.locator(f"#tile-{file_id}")).to_have_attribute("data-state", "ready", timeout=30_000)
    added = requests.post(
        f"{stack.url}/api/collections/{collection_id}/images", json={"ids": ids}, headers=tenant.auth(), timeout=10
    )
    assert added.json()["changed"] == 3, added.text

    collection = page.locator(f"#collection-{collection_id}")
    page.reload()
    collection.get_by_role("link", name="Beach").click()
    page.wait_for_url(re.compile(r"collection=col_"))
    expect(page.locator("#tiles li.tile")).to_have_count(3)
    page.locator(f"#tile-{ids[0]} input.select-box").check()
    page.get_by_role("button", name="Remove from Beach").click()
    expect(page.locator("#announcer")).to_have_text("Removed 1 image from Beach.")
    expect(page.locator("#tiles li.tile")).to_have_count(2)
    expect(collection.locator(".count")).to_have_text("2")

    page.locator(f"#tile-{ids[1]} a.thumb").click()
    dialog = page.locator("#details-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Remove from Beach").click()
    expect(page.locator("#announcer")).to_have_text(f"Removed {sources[1]} from Beach.")
    listed = dialog.locator(f"#image-collections-{ids[1]}")
    expect(listed).to_contain_text("In no collection.")
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#announcer")).to_have_text(f"Added {sources[1]} to Beach.")
    expect(listed.get_by_role("button", name="Remove from Beach")).to_be_visible()
    page.keyboard.press("Escape")

    page.reload()  # "all that match": every image the view shows, confirmed by count
    page.get_by_label(re.compile("Select all .* that match")).check()
    page.get_by_role("button", name="Remove from Beach").click()
    expect(page.locator("#announcer")).to_have_text("Removed 2 images from Beach.")
    expect(page.locator("#tiles li.tile")).to_have_count(0)
    expect(collection.locator(".count")).to_have_text("0")
    for file_id in ids:
        image = requests.get(f"{stack.url}/api/images/{file_id}", headers=tenant.auth("read"), timeout=10).json()
        assert image["collections"] == [], image
