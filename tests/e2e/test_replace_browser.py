"""Replacing an image in real Chromium against the real stack (worker process, images stand-in): one file dropped
onto a tile replaces that image (same tile, same name, new pixels), and the details list both versions."""

import base64

from browser_support import make_user, sign_in
from playwright.sync_api import expect

DROP_ON = """([selector, files]) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], f.name, {type: 'image/jpeg'}));
  }
  const target = document.querySelector(selector);
  for (const type of ['dragenter', 'dragover', 'drop']) {
    target.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
  }
}"""


def tile(page, name: str):
    return page.locator(f'#tiles li.tile[data-name="{name}"]')


def files(corpus, *pairs):
    return [{"name": name, "b64": base64.b64encode((corpus / source).read_bytes()).decode()} for source, name in pairs]


def test_a_file_dropped_onto_a_tile_replaces_that_image(page, stack, tenant, corpus):
    make_user(stack.app, tenant.workspace_id, "editor@example.com", "editor")
    sign_in(page, "editor@example.com")
    page.evaluate("window.__noReload = true")
    page.evaluate(DROP_ON, ["#dropzone", files(corpus, ("Canon_40D.jpg", "beach.jpg"))])
    expect(tile(page, "beach.jpg")).to_have_attribute("data-state", "ready", timeout=30_000)
    before = tile(page, "beach.jpg").locator("img").get_attribute("src")

    page.evaluate(DROP_ON, ['#tiles li.tile[data-name="beach.jpg"] img', files(corpus, ("Nikon_D70.jpg", "team.jpg"))])
    expect(page.locator("#announcer")).to_contain_text("now shows its new version", timeout=30_000)
    expect(tile(page, "beach.jpg").locator("img")).not_to_have_attribute("src", before)
    expect(tile(page, "team.jpg")).to_have_count(0)  # no new file: the same image, replaced
    assert page.locator("#tiles li.tile").count() == 1

    tile(page, "beach.jpg").locator("a.thumb").click()
    dialog = page.locator("#details-dialog")
    expect(dialog).to_be_visible()
    rows = dialog.locator(".versions-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-state", "current")
    expect(rows.nth(0)).to_contain_text("editor@example.com")
    expect(rows.nth(1)).to_have_attribute("data-state", "previous")
    url = dialog.locator("input.copy-source").input_value()
    assert url.endswith(".v2/public")
