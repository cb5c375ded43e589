"""Issue 23 in real Chromium against the real stack: the uploader hashes a dropped file (Web Crypto), asks the API
first and offers "Already in the library as X — use it / keep both" without sending the bytes; the Duplicates page
merges a group with Undo."""

import base64

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


def drop(page, name: str, data: bytes) -> None:
    page.evaluate(DROP, [[{"name": name, "b64": base64.b64encode(data).decode()}]])


def tile(page, name: str):
    return page.locator(f'#tiles li.tile[data-name="{name}"]')


def test_a_known_file_is_not_sent_and_duplicates_merge(page, stack, tenant, corpus):
    make_user(stack.app, tenant.workspace_id, "editor@example.com", "editor")
    sign_in(page, "editor@example.com")
    photo = (corpus / "Canon_40D.jpg").read_bytes()
    drop(page, "first.jpg", photo)
    expect(tile(page, "first.jpg")).to_have_attribute("data-state", "ready", timeout=30_000)

    posted = []
    page.on("request", lambda request: request.method == "POST" and posted.append(request.url))
    drop(page, "again.jpg", photo)
    asking = page.locator('#tiles li.tile[data-state="duplicate"]')
    expect(asking).to_contain_text("Already in the library as first.jpg")
    expect(asking.get_by_role("button", name="Keep both")).to_be_visible()
    assert posted == []  # asked by hash: the bytes never left the browser
    page.screenshot(path="/tmp/duplicate-ask.png")
    asking.get_by_role("button", name="Use it").first.click()
    expect(asking).to_have_count(0)
    expect(tile(page, "first.jpg").locator("a.thumb")).to_be_focused()  # focus goes to the existing tile

    drop(page, "again.jpg", photo)
    asking.get_by_role("button", name="Keep both").click()
    expect(tile(page, "again.jpg")).to_have_attribute("data-state", "ready", timeout=30_000)
    assert len(posted) == 1

    page.get_by_role("link", name="Duplicates", exact=True).click()
    expect(page.get_by_role("heading", name="Duplicates")).to_be_visible()
    group = page.locator("form.duplicate-group")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("first.jpg")
    expect(group).to_contain_text("again.jpg")
    group.get_by_role("button", name="Keep the chosen one, move the others to the trash").click()
    expect(page.locator("#duplicate-groups")).to_contain_text("moved 1 to the trash")
    expect(page.get_by_role("button", name="Undo")).to_be_visible()
    expect(page.locator("#no-duplicates")).to_be_visible()
