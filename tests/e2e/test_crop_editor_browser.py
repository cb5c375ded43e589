"""Issue 25 in real Chromium: the crop editor moves and resizes a preset's frame by pointer and keyboard, saves the
rect, the saved crop's delivery URL follows, and Reset goes back to automatic."""

import re

import requests
from browser_support import make_user, sign_in
from playwright.sync_api import expect
from test_gallery_editor_day import all_ready, photos, tile


def stored(stack, tenant, file_id: str, preset: str):
    image = requests.get(f"{stack.url}/api/images/{file_id}", headers=tenant.auth(), timeout=10).json()
    return image["crops"][preset]


def settled_box(page, locator) -> dict:
    """The locator's box once the page has stopped moving: every image decoded and the box the same over two
    animation frames (a drag aimed at a box measured mid-layout would start beside the frame)."""
    page.wait_for_function("Array.from(document.images).every((img) => img.complete || img.loading === 'lazy')")
    locator.scroll_into_view_if_needed()
    handle = locator.element_handle()
    page.wait_for_function(
        """(el) => new Promise((done) => {
             const a = el.getBoundingClientRect();
             requestAnimationFrame(() => requestAnimationFrame(() => {
               const b = el.getBoundingClientRect();
               done(a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height);
             }));
           })""",
        arg=handle,
    )
    return locator.bounding_box()


def drag(page, box: dict, to_x: float, to_y: float) -> None:
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(to_x, to_y, steps=5)
    page.mouse.up()


def test_drag_and_keys_store_the_crop_and_reset_makes_it_automatic(page, stack, tenant, corpus):
    make_user(stack.app, tenant.workspace_id, "crops@example.com", "editor")
    file_id = photos(stack, tenant, corpus, {"wide.jpg": "Canon_40D.jpg"})["wide.jpg"]  # 100 × 68
    sign_in(page, "crops@example.com")
    all_ready(page, ["wide.jpg"])
    page.goto(tile(page, "wide.jpg").locator("a.thumb").get_attribute("href"))
    card = page.locator('fieldset.crop[data-preset="card"]')
    delivered = card.locator("img.crop-delivered")
    expect(delivered).to_have_attribute("src", re.compile(r"fit=cover,gravity=auto$"))
    assert stored(stack, tenant, file_id, "card")["auto"] is True

    # Drag the square frame to the left edge: it is saved, and the saved crop is delivered by trim.
    box = settled_box(page, card.locator(".crop-frame"))
    drag(page, box, box["x"] - box["width"], box["y"] + box["height"] / 2)
    expect(card.locator(".crop-side p.muted")).to_have_text("0, 0 · 68 × 68 px")  # the frame followed the pointer
    expect(page.locator("form.crops .saved")).to_have_text("card crop saved.")
    assert stored(stack, tenant, file_id, "card")["rect"] == {"x": 0, "y": 0, "width": 68, "height": 68}
    card = page.locator('fieldset.crop[data-preset="card"]')
    expect(card.locator("img.crop-delivered")).to_have_attribute(
        "src", re.compile(r"trim=0;32;0;0,w=68,h=68,fit=cover")
    )
    expect(card.get_by_role("button", name="Copy card URL")).to_have_attribute("data-copy", re.compile("trim=0;32;0;0"))

    # The keyboard: focus stays on the frame across saves; arrows move, Shift+arrows resize.
    frame = card.locator(".crop-frame")
    expect(frame).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowLeft")
    expect(page.locator('fieldset.crop[data-preset="card"] img.crop-delivered')).to_have_attribute(
        "src", re.compile(r"trim=0;31;1;2,w=67,h=67")
    )
    assert stored(stack, tenant, file_id, "card")["rect"] == {"x": 2, "y": 0, "width": 67, "height": 67}
    expect(page.locator('fieldset.crop[data-preset="card"] .crop-frame')).to_be_focused()

    # A resize by the corner keeps the preset's ratio.
    hero = page.locator('fieldset.crop[data-preset="hero"]')
    handle = settled_box(page, hero.locator(".crop-handle"))
    drag(page, handle, handle["x"] - 100, handle["y"] - 100)
    expect(page.locator("form.crops .saved")).to_have_text("hero crop saved.")
    rect = stored(stack, tenant, file_id, "hero")["rect"]
    assert rect["width"] < 100 and abs(rect["width"] - rect["height"] * 16 / 9) <= 1

    page.get_by_role("button", name="Reset card to automatic").click()
    expect(page.locator("form.crops .saved")).to_have_text("card is automatic again.")
    assert stored(stack, tenant, file_id, "card") == {
        **stored(stack, tenant, file_id, "card"),
        "auto": True,
        "rect": None,
    }
    expect(page.locator('fieldset.crop[data-preset="card"] img.crop-delivered')).to_have_attribute(
        "src", re.compile(r"gravity=auto$")
    )
