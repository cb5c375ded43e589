"""The gallery in real Chromium against the real stack: sign in, drop photos, watch them become images, manage them."""

import base64
import re
import time

from browser_support import make_user, sign_in
from imagesd_support import damaged_jpeg
from playwright.sync_api import expect

PHOTOS = ("Canon_40D.jpg", "Nikon_D70.jpg", "orientation_landscape_1.jpg")

# Records every state each tile passes through, so the test sees progress -> processing -> ready, not just the end.
WATCH_STATES = """() => {
  window.__states = {};
  const note = (node) => {
    if (!(node instanceof HTMLElement) || !node.isConnected || !node.classList.contains('tile')) return;
    const name = node.dataset.name;
    const seen = window.__states[name] = window.__states[name] || [];
    const state = node.dataset.state + (node.querySelector('progress') ? '+progress' : '');
    if (seen[seen.length - 1] !== state) seen.push(state);
  };
  new MutationObserver((records) => records.forEach((r) => {
    r.addedNodes.forEach(note);
    if (r.type === 'attributes' || r.type === 'characterData' || r.type === 'childList') note(r.target.closest && r.target.closest('.tile'));
  })).observe(document.getElementById('grid').parentNode, {subtree: true, childList: true, attributes: true});
}"""

DROP = """([selector, files, event]) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = f.b64 !== null ? Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0)) : new Uint8Array(f.size);
    transfer.items.add(new File([bytes], f.name, {type: f.type}));
  }
  const target = document.querySelector(selector);
  if (event === 'paste') {
    target.dispatchEvent(new ClipboardEvent('paste', {clipboardData: transfer, bubbles: true}));
  } else {
    for (const type of ['dragenter', 'dragover', 'drop']) {
      target.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }
  }
}"""


def payload(name: str, data: bytes | None = None, size: int = 0, type_: str = "image/jpeg") -> dict:
    return {
        "name": name,
        "type": type_,
        "size": size,
        "b64": base64.b64encode(data).decode() if data is not None else None,
    }


def tile(page, name: str):
    return page.locator(f'#tiles li.tile[data-name="{name}"]')


def test_an_editor_drops_photos_and_manages_the_images(page, stack, tenant, corpus):
    make_user(stack.app, tenant.workspace_id, "editor@example.com", "editor")
    started = time.monotonic()
    sign_in(page, "editor@example.com")
    expect(page.get_by_role("heading", name=re.compile("Content"))).to_be_visible()
    page.evaluate("window.__noReload = true")
    page.evaluate(WATCH_STATES)

    files = [payload(name, (corpus / name).read_bytes()) for name in PHOTOS]
    files.append(payload("notes.txt", b"a text file, not a picture\n", type_="text/plain"))
    files.append(payload("bomb.png", damaged_jpeg(), type_="image/png"))
    files.append(payload("huge.jpg", None, size=stack.app.config["MAX_UPLOAD_BYTES"] + 1))
    files.append(payload("IMG_0001.CR2", b"II*\x00\x10\x00\x00\x00CR\x02\x00" + b"\x00" * 64, type_=""))
    page.evaluate(DROP, ["#dropzone", files, "drop"])

    # Refused in the browser before sending: the tile says why at once.
    expect(tile(page, "huge.jpg")).to_contain_text("Failed: the file is 5,242,881 bytes; the limit is 5,242,880 bytes.")
    expect(tile(page, "huge.jpg").get_by_role("button", name="Remove huge.jpg")).to_be_visible()
    expect(tile(page, "IMG_0001.CR2")).to_contain_text("Failed: camera RAW files cannot be made into images")
    for name in PHOTOS:
        expect(tile(page, name)).to_have_attribute("data-state", "ready", timeout=30_000)
        expect(tile(page, name).locator("img")).to_have_js_property("complete", True)
        assert tile(page, name).locator("img").evaluate("img => img.naturalWidth") > 0
    expect(tile(page, "notes.txt")).to_have_attribute("data-state", "file")
    expect(tile(page, "notes.txt")).to_contain_text("Not an image")
    expect(tile(page, "bomb.png")).to_have_attribute("data-state", "failed", timeout=30_000)
    expect(tile(page, "bomb.png")).to_contain_text("Failed: ")
    # A pixel bomb is permanent: its reason and Remove, no Retry.
    tile(page, "bomb.png").locator("summary").click()  # Remove lives in the tile's menu
    expect(tile(page, "bomb.png").get_by_role("button", name="Remove bomb.png")).to_be_visible()
    expect(tile(page, "bomb.png").get_by_role("button", name="Retry")).to_have_count(0)
    states = page.evaluate("window.__states")
    for name in PHOTOS:
        assert states[name][0] == "uploading+progress", states
        assert states[name][1:] == ["processing", "ready"], states
    assert states["huge.jpg"] == ["failed"], states  # failed as it was made, never sent (the files below agree)
    assert states["IMG_0001.CR2"] == ["failed"], states
    with stack.app.app_context():
        from app.domain.files import File
        from app.extensions import db

        assert sorted(f.name for f in db.session.query(File)) == sorted([*PHOTOS, "notes.txt", "bomb.png"])
        db.session.remove()

    # Paste works too.
    # Other bytes than the dropped Canon_40D.jpg (a tail after the JPEG's end), or the uploader would ask whether to
    # use the one the library has (tests/e2e/test_duplicates_browser.py).
    pasted = (corpus / "Canon_40D.jpg").read_bytes() + b"pasted"
    page.evaluate(DROP, ["body", [payload("pasted.jpg", pasted)], "paste"])
    expect(tile(page, "pasted.jpg")).to_have_attribute("data-state", "ready", timeout=30_000)
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring in the screenshot
    page.locator("#tiles").scroll_into_view_if_needed()
    page.screenshot(path="/tmp/gallery.png", full_page=True)

    # Details: facts, copy the delivery URL, set alt text.
    tile(page, "Canon_40D.jpg").locator("a.thumb").click()
    dialog = page.locator("#details-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Canon_40D.jpg")).to_be_focused()
    expect(dialog).to_contain_text("100 × 68 px")
    expect(dialog).to_contain_text("Canon EOS 40D")
    url = dialog.locator("input.copy-source").input_value()
    assert url.endswith("/public")
    dialog.get_by_role("button", name="Copy URL").click()
    expect(dialog.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == url
    dialog.get_by_label("Describe the image").fill("A red bird on a branch")
    dialog.get_by_role("button", name="Save alt text").click()
    expect(dialog.locator(".alt .saved")).to_have_text("Saved.")
    expect(tile(page, "Canon_40D.jpg").locator("img")).to_have_attribute("alt", "A red bird on a branch")
    page.screenshot(path="/tmp/gallery-details.png")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # Delete from a tile, without a confirmation while the trash is on; then from the details view.
    confirmations = []
    page.on("dialog", lambda d: (confirmations.append(d.message), d.accept()))
    tile(page, "Nikon_D70.jpg").locator("summary").click()  # per-tile Delete lives in the tile's menu
    tile(page, "Nikon_D70.jpg").get_by_role("button", name="Delete Nikon_D70.jpg").click()
    expect(tile(page, "Nikon_D70.jpg")).to_have_count(0)
    tile(page, "orientation_landscape_1.jpg").locator("a.thumb").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Delete image").click()
    expect(dialog).to_be_hidden()
    expect(tile(page, "orientation_landscape_1.jpg")).to_have_count(0)
    assert confirmations == []  # the trash keeps deletions: Undo instead of a question (test_trash_browser.py)
    assert page.evaluate("window.__noReload") is True

    # Search narrows the grid in place; the server agrees after a reload.
    page.get_by_label("Search by name").fill("canon")
    expect(page.locator("#tiles li.tile")).to_have_count(1)
    page.reload()
    expect(page.locator("#tiles li.tile")).to_have_count(1)
    expect(page.get_by_label("Search by name")).to_have_value("canon")
    assert time.monotonic() - started < 90


def test_a_viewer_sees_no_controls_and_other_workspaces_stay_out_of_reach(page, stack, tenant, other_tenant):
    from app.domain import files
    from app.domain.files import UploadSpool

    make_user(stack.app, tenant.workspace_id, "viewer@example.com", "viewer")
    with stack.app.app_context():
        spool = UploadSpool(stack.app.config["UPLOAD_TMP_DIR"], stack.app.config["MAX_UPLOAD_BYTES"])
        spool.write(b"plain words\n")
        files.store_upload(tenant.workspace_id, tenant.project_id, spool, "readme.txt")
        spool.discard()
    sign_in(page, "viewer@example.com")
    expect(page.locator("#read-only")).to_be_visible()
    expect(page.locator("#dropzone")).to_have_count(0)
    page.get_by_label("Show").select_option("files")
    expect(tile(page, "readme.txt")).to_be_visible()
    expect(page.locator("button.delete")).to_have_count(0)
    response = page.goto(f"/w/{other_tenant.workspace_id}/p/{other_tenant.project_id}/content")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
