"""Issue 15 in real Chromium: bulk selection and actions, sort, focal point, rename, focus, phone, no-JS, poll, axe."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from browser_support import PASSWORD, make_user, sign_in
from playwright.sync_api import expect

from tests.factories import upload_over_http

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
NO_SIDEWAYS = "document.documentElement.scrollWidth <= window.innerWidth"


def tile(page, name: str):
    return page.locator(f'#tiles li.tile[data-name="{name}"]')


def upload_api(stack, tenant, name: str, data: bytes) -> str:
    return upload_over_http(stack, tenant, data, name)


def photos(stack, tenant, corpus, names: dict) -> dict:
    """Uploads corpus photos under the given names through the API and returns name -> file id."""
    return {name: upload_api(stack, tenant, name, (corpus / source).read_bytes()) for name, source in names.items()}


def all_ready(page, names):
    for name in names:
        expect(tile(page, name)).to_have_attribute("data-state", "ready", timeout=30_000)


def states(app, names) -> list:
    """Per name: "image" once it has an image row, else the file's status."""
    from app.domain.files import File
    from app.domain.images import Image
    from app.extensions import db

    with app.app_context():
        found = {
            f.name: "image" if db.session.get(Image, f.id) else f.status
            for f in db.session.query(File).filter(File.name.in_(names))
        }
        db.session.remove()
    return [found.get(name) for name in names]


def as_passing_failure(app, name: str) -> None:
    """A pixel bomb's own failure is permanent (Remove only); record it as the images service staying away past the
    deadline instead, a failure that Retry may mend."""
    from app.domain.files import File
    from app.extensions import db

    with app.app_context():
        file = db.session.query(File).filter_by(name=name).one()
        file.error_code, file.error_message = "images_unavailable", "The images service could not be reached."
        db.session.commit()
        db.session.remove()


def wait_until(app, condition, seconds: float = 60) -> None:
    """A bounded poll of the database for a condition the worker brings about."""
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the worker did not get there in time"
        time.sleep(0.2)


def axe_check(page) -> None:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{page.url}: {bad}"


def test_bulk_select_delete_download_and_focus(page, stack, tenant, corpus):
    make_user(stack.app, tenant.workspace_id, "bulk@example.com", "editor")
    names = {f"p{i}.jpg": "Canon_40D.jpg" if i % 2 else "Nikon_D70.jpg" for i in range(6)}
    ids = photos(stack, tenant, corpus, names)
    sign_in(page, "bulk@example.com")
    all_ready(page, names)
    expect(page.locator("#counts")).to_have_text("6 images · 0 failed · 0 other files")
    order = page.eval_on_selector_all("#tiles li.tile", "tiles => tiles.map(t => t.dataset.name)")
    assert order == [f"p{i}.jpg" for i in reversed(range(6))]

    page.get_by_label("Select all on this page").check()
    expect(page.locator("#selected-count")).to_have_text("6 files selected")
    page.get_by_label("Select all on this page").uncheck()
    expect(page.locator("#selected-count")).to_have_text("Tick files, then choose an action.")
    expect(page.locator("#bulk").get_by_role("button", name="Delete")).to_be_disabled()

    # A long name is cut short on the tile and shown whole on keyboard focus.
    name = tile(page, "p4.jpg").locator(".name")
    expect(name).to_have_css("white-space", "nowrap")
    tile(page, "p4.jpg").locator("a.thumb").focus()
    expect(name).to_have_css("white-space", "normal")
    expect(name).to_have_attribute("title", "p4.jpg")

    # A click, then Shift-click four tiles on: a range of five.
    tile(page, "p5.jpg").hover()
    tile(page, "p5.jpg").get_by_label("Select p5.jpg").check()
    tile(page, "p1.jpg").get_by_label("Select p1.jpg").click(modifiers=["Shift"])
    expect(page.locator("#selected-count")).to_have_text("5 files selected")
    page.screenshot(path="/tmp/gallery-bulk-selection.png")
    tile(page, "p1.jpg").get_by_label("Select p1.jpg").uncheck()
    expect(page.locator("#selected-count")).to_have_text("4 files selected")

    # Download the originals: a streamed ZIP whose files are the uploaded bytes.
    with page.expect_download() as info:
        page.get_by_role("button", name="Download originals (ZIP)").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert sorted(archive.namelist()) == ["p2.jpg", "p3.jpg", "p4.jpg", "p5.jpg"]
    assert archive.read("p3.jpg") == (corpus / "Canon_40D.jpg").read_bytes()

    # Bulk delete: the grid comes back without them and focus lands on the first tile, not the body.
    page.on("dialog", lambda d: d.accept())
    page.locator("#bulk").get_by_role("button", name="Delete").click()
    expect(page.locator("#tiles li.tile")).to_have_count(2)
    expect(page.locator("#counts")).to_have_text("2 images · 0 failed · 0 other files · 4 in trash")
    expect(tile(page, "p1.jpg").locator("a.thumb")).to_be_focused()

    # Per-tile Delete lives in the tile's menu; focus moves to the next tile, then to the empty state.
    tile(page, "p1.jpg").locator("summary").click()
    tile(page, "p1.jpg").get_by_role("button", name="Delete p1.jpg").click()
    expect(tile(page, "p1.jpg")).to_have_count(0)
    expect(tile(page, "p0.jpg").locator("a.thumb")).to_be_focused()
    tile(page, "p0.jpg").locator("summary").click()
    tile(page, "p0.jpg").get_by_role("button", name="Delete p0.jpg").click()
    expect(page.locator("#empty")).to_be_focused()
    expect(page.locator("#empty")).to_have_text("Nothing here any more.")
    assert ids  # every file was made through the API


def test_select_all_matching_sort_in_the_url_and_new_files_arrive(page, stack, tenant, corpus):
    make_user(stack.app, tenant.workspace_id, "sort@example.com", "editor")
    names = {"b-red.jpg": "Canon_40D.jpg", "a-blue.jpg": "Nikon_D70.jpg", "c-red.jpg": "Canon_40D.jpg"}
    photos(stack, tenant, corpus, names)
    sign_in(page, "sort@example.com")
    all_ready(page, names)
    page.get_by_label("Sort").select_option("name")
    expect(page).to_have_url(re.compile(r"sort=name"))
    expect(page.locator("#tiles li.tile").first).to_have_attribute("data-name", "a-blue.jpg")
    page.get_by_label("Search by name").fill("red")
    expect(page.locator("#tiles li.tile")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"q=red.*sort=name|sort=name.*q=red"))
    page.reload()
    expect(page.get_by_label("Sort")).to_have_value("name")
    expect(page.locator("#tiles li.tile").first).to_have_attribute("data-name", "b-red.jpg")

    page.get_by_label(re.compile("Select all 2 that match")).check()
    expect(page.locator("#selected-count")).to_have_text("2 files selected")
    page.on("dialog", lambda d: d.accept())
    page.locator("#bulk").get_by_role("button", name="Delete").click()
    expect(page.locator("#empty")).to_be_visible()

    # New files from the API show up without a reload (newest-first view).
    page.goto(page.url.split("?")[0])
    expect(page.locator("#tiles li.tile")).to_have_count(1)
    page.evaluate("window.__noReload = true")
    upload_api(stack, tenant, "from-the-api.jpg", (corpus / "Nikon_D70.jpg").read_bytes())
    expect(tile(page, "from-the-api.jpg")).to_be_visible(timeout=15_000)
    expect(tile(page, "from-the-api.jpg")).to_have_attribute("data-state", "ready", timeout=30_000)
    assert page.evaluate("window.__noReload") is True


def test_focal_point_rename_and_the_window_wide_drop(page, stack, tenant, corpus):
    make_user(stack.app, tenant.workspace_id, "focal@example.com", "editor")
    photos(stack, tenant, corpus, {"image.png": "orientation_portrait_6.jpg"})
    sign_in(page, "focal@example.com")
    all_ready(page, ["image.png"])
    tile(page, "image.png").locator("a.thumb").click()
    dialog = page.locator("#details-dialog")
    expect(dialog).to_be_visible()

    # Click on the picture: the focal point is saved and the tile's crop URL carries it.
    picture = dialog.locator(".focal-area img")
    box = picture.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
    expect(dialog.locator(".focal .saved")).to_have_text("Focal point saved.")
    page.screenshot(path="/tmp/gallery-focal-point.png")
    expect(tile(page, "image.png").locator("img")).to_have_attribute(
        "src", re.compile(r"fit=cover,gravity=0\.2\dx0\.7\d")
    )
    # The arrow keys move it too.
    marker = dialog.get_by_role("slider", name="Focal point")
    marker.focus()
    before = float(page.locator("#details-dialog .focal-area").get_attribute("data-x"))
    page.keyboard.press("Shift+ArrowRight")
    expect(dialog.locator('.focal input[name="x"]')).to_have_value(str(round(before + 0.1, 2)))
    expect(tile(page, "image.png").locator("img")).to_have_attribute(
        "src", re.compile(rf"gravity={round(before + 0.1, 2)}x")
    )
    dialog.get_by_role("button", name="Reset to centre").click()
    expect(dialog.locator(".focal .saved")).to_have_text("Back to the centre.")
    # Back to the centre: no focal point, so the tile is placed by saliency.
    expect(tile(page, "image.png").locator("img")).to_have_attribute("src", re.compile("gravity=auto"))

    # Rename inline: the heading and the tile follow.
    dialog.get_by_label("Name").fill("Team portrait.png")
    dialog.get_by_role("button", name="Rename").click()
    expect(dialog.locator(".rename .saved")).to_have_text("Renamed.")
    expect(dialog.get_by_role("heading", name="Team portrait.png")).to_be_visible()
    expect(tile(page, "Team portrait.png")).to_be_visible()
    page.keyboard.press("Escape")

    # Files dropped anywhere on the window are uploaded; the overlay shows while dragging.
    page.evaluate(
        """(b64) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'anywhere.jpg', {type: 'image/jpeg'}));
      const target = document.querySelector('#counts');
      target.dispatchEvent(new DragEvent('dragenter', {dataTransfer: transfer, bubbles: true, cancelable: true}));
      window.__overlay = document.body.classList.contains('dragging');
      target.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }""",
        __import__("base64").b64encode((corpus / "Nikon_D70.jpg").read_bytes()).decode(),
    )
    assert page.evaluate("window.__overlay") is True
    expect(tile(page, "anywhere.jpg")).to_have_attribute("data-state", "ready", timeout=30_000)
    assert page.evaluate("document.body.classList.contains('dragging')") is False


def test_an_upload_in_flight_can_be_cancelled(page, stack, tenant):
    make_user(stack.app, tenant.workspace_id, "cancel@example.com", "editor")
    sign_in(page, "cancel@example.com")
    held = []
    page.route("**/content/files", lambda route: held.append(route))  # the request never gets an answer
    page.evaluate("""() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(5000).fill(7)], 'slow.bin', {type: 'application/octet-stream'}));
      document.querySelector('#dropzone').dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }""")
    uploading = page.locator('#tiles li.uploading[data-name="slow.bin"]')
    expect(uploading).to_be_visible()
    uploading.get_by_role("button", name="Cancel the upload of slow.bin").click()
    expect(uploading).to_have_count(0)
    expect(page.locator("#announcer")).to_have_text("Cancelled the upload of slow.bin")
    expect(page.locator("#empty")).to_be_focused()
    for route in held:
        try:
            route.abort()
        except Exception:  # noqa: BLE001 - the browser already dropped the cancelled request
            pass


def test_a_phone_keeps_everything_on_screen(browser, stack, tenant, corpus, base_url):
    make_user(stack.app, tenant.workspace_id, "owner-phone@example.com", "owner")
    photos(stack, tenant, corpus, {f"phone-{i}-with-a-rather-long-file-name.jpg": "Canon_40D.jpg" for i in range(3)})
    context = browser.new_context(base_url=base_url, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, "owner-phone@example.com")
        all_ready(page, [f"phone-{i}-with-a-rather-long-file-name.jpg" for i in range(3)])
        assert page.evaluate(NO_SIDEWAYS), page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        boxes = [page.locator("#tiles li.tile").nth(i).bounding_box() for i in range(3)]
        assert boxes[0]["y"] == boxes[1]["y"] and boxes[2]["y"] > boxes[0]["y"]  # two to a row
        expect(page.locator("#tiles .select-box").first).to_have_css("opacity", "1")  # always shown on touch
        page.locator("#tiles li.tile a.thumb").first.click()
        expect(page.locator("#details-dialog")).to_be_visible()
        dialog_box = page.locator("#details-dialog").bounding_box()
        assert dialog_box["x"] >= 0 and dialog_box["x"] + dialog_box["width"] <= PHONE["width"]
        assert page.evaluate(NO_SIDEWAYS)
        page.screenshot(path="/tmp/gallery-phone-details.png")
        page.keyboard.press("Escape")
        page.screenshot(path="/tmp/gallery-phone.png")
        href = page.locator("#tiles li.tile a.thumb").first.get_attribute("href")
        page.goto(href)
        expect(page.locator("h1")).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS)
        page.goto(f"/w/{tenant.workspace_id}/settings")
        expect(page.get_by_role("heading", name=re.compile("Workspace settings"))).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS)
    finally:
        context.close()


def test_delete_and_retry_work_without_javascript(browser, stack, tenant, corpus, base_url):
    from imagesd_support import damaged_jpeg

    make_user(stack.app, tenant.workspace_id, "nojs@example.com", "editor")
    photos(stack, tenant, corpus, {"plain.jpg": "Canon_40D.jpg"})
    upload_api(stack, tenant, "bomb.png", damaged_jpeg())
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_label("Email").fill("nojs@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/content")
        wait_until(stack.app, lambda: states(stack.app, ["plain.jpg", "bomb.png"]) == ["image", "error"])
        as_passing_failure(stack.app, "bomb.png")
        page.reload()  # no JavaScript, so no self-refreshing tiles
        expect(tile(page, "plain.jpg")).to_have_attribute("data-state", "ready")
        tile(page, "bomb.png").get_by_role("button", name="Retry bomb.png").click()
        expect(page.locator("#flash")).to_contain_text("bomb.png is queued again.")
        tile(page, "plain.jpg").locator("summary").click()
        tile(page, "plain.jpg").get_by_role("button", name="Delete plain.jpg").click()
        expect(page.locator("#flash")).to_contain_text("Deleted plain.jpg.")
        expect(tile(page, "plain.jpg")).to_have_count(0)
    finally:
        context.close()


@pytest.mark.parametrize("where", ["content", "details", "settings", "login", "error", "trash", "webhooks"])
def test_axe_finds_no_serious_violations(browser, stack, tenant, corpus, base_url, where):
    make_user(stack.app, tenant.workspace_id, f"axe-{where}@example.com", "owner")
    # axe is injected as a script, which the gallery's Content-Security-Policy would refuse.
    context = browser.new_context(base_url=base_url, bypass_csp=True)
    page = context.new_page()
    try:
        if where == "login":
            page.goto("/login")
            return axe_check(page)
        photos(stack, tenant, corpus, {"axe.jpg": "Canon_40D.jpg"})
        upload_api(stack, tenant, "notes.txt", b"words\n")
        sign_in(page, f"axe-{where}@example.com")
        all_ready(page, ["axe.jpg"])
        if where == "details":
            tile(page, "axe.jpg").locator("a.thumb").click()
            expect(page.locator("#details-dialog")).to_be_visible()
            axe_check(page)
            page.goto(tile(page, "axe.jpg").locator("a.thumb").get_attribute("href"))
        elif where == "settings":
            page.goto(f"/w/{tenant.workspace_id}/settings")
        elif where == "trash":  # with something in it: the Undo status first, then the Trash page itself
            tile(page, "axe.jpg").locator("summary").click()
            tile(page, "axe.jpg").get_by_role("button", name="Delete axe.jpg").click()
            expect(page.locator("#undo")).to_contain_text("Deleted")
            axe_check(page)
            page.goto(f"/w/{tenant.workspace_id}/p/{tenant.project_id}/trash")
        elif where == "webhooks":
            page.goto(f"/w/{tenant.workspace_id}/webhooks")
        elif where == "error":
            page.goto(f"/w/{tenant.workspace_id}/p/prj_nope/content")
            expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        else:
            tile(page, "axe.jpg").locator(".select-box").check()
        axe_check(page)
    finally:
        context.close()


def test_after_retry_focus_moves_to_the_next_tile(page, stack, tenant, corpus):
    from imagesd_support import damaged_jpeg

    make_user(stack.app, tenant.workspace_id, "retry@example.com", "editor")
    photos(stack, tenant, corpus, {"older.jpg": "Nikon_D70.jpg"})
    upload_api(stack, tenant, "bomb.png", damaged_jpeg())
    sign_in(page, "retry@example.com")
    all_ready(page, ["older.jpg"])
    expect(tile(page, "bomb.png")).to_have_attribute("data-state", "failed", timeout=30_000)
    as_passing_failure(stack.app, "bomb.png")
    page.reload()
    tile(page, "bomb.png").get_by_role("button", name="Retry bomb.png").click()
    expect(tile(page, "older.jpg").locator("a.thumb")).to_be_focused()
