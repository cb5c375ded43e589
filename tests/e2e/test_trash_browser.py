"""Undo and the Trash page in real Chromium against the real stack (worker process, images stand-in): a deleted
image stops being delivered, and comes back at the same delivery URL."""

import base64
import time

import requests
from browser_support import make_user, sign_in
from playwright.sync_api import expect

DROP = """([files]) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], f.name, {type: 'image/jpeg'}));
  }
  const target = document.querySelector('#dropzone');
  for (const type of ['dragenter', 'dragover', 'drop']) {
    target.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
  }
}"""


def tile(page, name: str):
    return page.locator(f'#tiles li.tile[data-name="{name}"]')


def status_of(url: str) -> int:
    return requests.get(url, timeout=10).status_code


def wait_for_status(url: str, status: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while status_of(url) != status:
        assert time.monotonic() < deadline, f"{url} did not answer {status} within {timeout}s"
        time.sleep(0.2)


def delivery_url(page, name: str) -> str:
    tile(page, name).locator("a.thumb").click()
    dialog = page.locator("#details-dialog")
    expect(dialog).to_be_visible()
    url = dialog.locator("input.copy-source").input_value()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    return url


def test_undo_and_restore_bring_an_image_back_at_the_same_url(page, stack, tenant, corpus):
    make_user(stack.app, tenant.workspace_id, "editor@example.com", "editor")
    sign_in(page, "editor@example.com")
    page.evaluate("window.__noReload = true")
    photos = {"Canon_40D.jpg": "Canon_40D.jpg", "Nikon_D70.jpg": "Nikon_D70.jpg"}
    page.evaluate(
        DROP,
        [
            [
                {"name": name, "b64": base64.b64encode((corpus / source).read_bytes()).decode()}
                for name, source in photos.items()
            ]
        ],
    )
    for name in photos:
        expect(tile(page, name)).to_have_attribute("data-state", "ready", timeout=30_000)
    url = delivery_url(page, "Canon_40D.jpg")
    assert status_of(url) == 200

    # A mis-click on Delete: no question, the tile goes, and an Undo is offered in a status region.
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    tile(page, "Canon_40D.jpg").locator("summary").click()  # per-tile Delete lives in the tile's menu
    tile(page, "Canon_40D.jpg").get_by_role("button", name="Delete Canon_40D.jpg").click()
    expect(tile(page, "Canon_40D.jpg")).to_have_count(0)
    undo = page.get_by_role("status").filter(has_text="Deleted 1 image")
    expect(undo).to_be_visible()
    expect(undo).to_contain_text("Kept in the trash until")
    button = undo.get_by_role("button", name="Undo")
    button.focus()
    expect(button).to_be_focused()
    assert dialogs == []
    page.screenshot(path="/tmp/trash-undo.png")
    wait_for_status(url, 404)  # nothing is delivered while it is in the trash
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Restored 1 image.")).to_be_visible()
    expect(tile(page, "Canon_40D.jpg")).to_have_attribute("data-state", "ready", timeout=30_000)
    assert delivery_url(page, "Canon_40D.jpg") == url
    wait_for_status(url, 200)
    assert page.evaluate("window.__noReload") is True

    # Delete from the details view, then restore from the Trash page.
    tile(page, "Canon_40D.jpg").locator("a.thumb").click()
    page.locator("#details-dialog").get_by_role("button", name="Delete image").click()
    expect(tile(page, "Canon_40D.jpg")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="Deleted 1 image")).to_be_visible()
    tile(page, "Nikon_D70.jpg").locator("summary").click()
    tile(page, "Nikon_D70.jpg").get_by_role("button", name="Delete Nikon_D70.jpg").click()
    expect(tile(page, "Nikon_D70.jpg")).to_have_count(0)
    wait_for_status(url, 404)
    page.get_by_role("link", name="Trash", exact=True).click()
    expect(page.get_by_role("heading", name="Trash")).to_be_visible()
    item = page.locator("#trash-list li", has_text="Canon_40D.jpg")
    expect(item).to_contain_text("Kept until")
    page.screenshot(path="/tmp/trash-page.png")
    item.get_by_role("button", name="Restore Canon_40D.jpg").click()
    expect(page.get_by_role("status").filter(has_text="Restored Canon_40D.jpg.")).to_be_visible()
    page.get_by_role("link", name="Back to Content").first.click()
    expect(tile(page, "Canon_40D.jpg")).to_have_attribute("data-state", "ready", timeout=30_000)
    wait_for_status(url, 200)
    assert delivery_url(page, "Canon_40D.jpg") == url

    # Empty trash asks first, then removes what is left for good.
    page.get_by_role("link", name="Trash", exact=True).click()
    expect(page.locator("#trash-list li.trashed")).to_have_count(1)
    page.get_by_role("button", name="Empty trash").click()
    expect(page.get_by_text("The trash is empty.")).to_be_visible()
    assert dialogs == ["Delete everything in this project's trash for good? This cannot be undone."]
