"""Issue 20's gallery in real Chromium: counts follow arrivals and the number confirmed is the number deleted (an
estimated total is counted exactly first), the ⋯ menu on a touch screen, focus after Undo/Restore/an edit, the tablet
details, the keyboard grid and its srcset, menus, targets, headings, URLs and sizes."""

import re
from pathlib import Path

from browser_support import make_user, sign_in
from playwright.sync_api import expect
from test_gallery_browser import DROP, payload
from test_gallery_editor_day import AXE, NO_SIDEWAYS, PHONE, all_ready, photos, tile, upload_api

TABLET = {"width": 768, "height": 1024}
FOCUSED_TILE = "document.activeElement && document.activeElement.closest('li.tile')?.dataset.name"


def live_count(app, workspace_id) -> int:
    from sqlalchemy import func, select

    from app.domain.files import File
    from app.extensions import db

    with app.app_context():
        count = db.session.scalar(select(func.count()).where(File.workspace_id == workspace_id, File.live()))
        db.session.remove()
    return count


def test_counts_follow_arrivals_and_the_number_confirmed_is_the_number_deleted(page, stack, tenant, corpus):
    make_user(stack.app, tenant.workspace_id, "counts@example.com", "editor")
    photos(stack, tenant, corpus, {f"old-{i}.jpg": "Canon_40D.jpg" for i in range(3)})
    sign_in(page, "counts@example.com")
    all_ready(page, [f"old-{i}.jpg" for i in range(3)])
    expect(page.locator("#counts")).to_contain_text("3 images")
    # Two different files (a tail after the JPEG's end): the same bytes twice would be one file in the library.
    dropped = [payload(f"new-{i}.jpg", (corpus / "Nikon_D70.jpg").read_bytes() + bytes([i])) for i in range(2)]
    page.evaluate(DROP, ["#dropzone", dropped, "drop"])
    all_ready(page, ["new-0.jpg", "new-1.jpg"])
    expect(page.locator("#counts")).to_contain_text("5 images · 0 failed")
    expect(page.locator("#matching-count")).to_have_text("5")
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_label(re.compile("Select all .* that match")).check()
    expect(page.locator("#selected-count")).to_have_text("5 files selected")
    page.locator("#bulk").get_by_role("button", name="Delete").click()
    expect(page.locator("#undo")).to_contain_text("Deleted 5 images")
    assert live_count(stack.app, tenant.workspace_id) == 0
    assert questions == []  # the trash is on: Undo instead of "This cannot be undone"
    # A file from elsewhere comes through the poll, and the counts with it.
    upload_api(stack, tenant, "elsewhere.jpg", (corpus / "Canon_40D.jpg").read_bytes())
    all_ready(page, ["elsewhere.jpg"])
    expect(page.locator("#counts")).to_contain_text("1 image · 0 failed")
    expect(page.locator("#matching-count")).to_have_text("1")


def test_all_that_match_over_an_estimate_is_counted_exactly_before_it_is_acted_on(page, stack, tenant, corpus):
    """A view whose total is the planner's estimate ("about 20,000"): ticking "all that match" asks the counts route
    for the exact number (selection.js), and that number is the one shown, confirmed and deleted."""
    from app.domain import queries

    make_user(stack.app, tenant.workspace_id, "estimate@example.com", "editor")
    photos(stack, tenant, corpus, {f"many-{i}.jpg": "Canon_40D.jpg" for i in range(3)})
    sign_in(page, "estimate@example.com")
    all_ready(page, [f"many-{i}.jpg" for i in range(3)])

    def estimate(asked, known):  # what PostgreSQL's planner answers for a large view, here for this project's
        return queries.Estimate(20_000) if asked.project_id == tenant.project_id else None

    queries.COUNTERS.insert(0, estimate)
    try:
        page.reload()
        expect(page.locator("#matching-about")).to_have_text("about ")
        expect(page.locator("#matching-count")).to_have_text("20,000")
        page.get_by_label(re.compile("Select all about 20,000 that match")).check()
        expect(page.locator("#matching-count")).to_have_text("3")
        expect(page.locator("#matching-about")).to_have_text("")
        expect(page.locator("#selected-count")).to_have_text("3 files selected")
        expect(page.locator("#bulk-expected")).to_have_value("3")
        expect(page.locator("#bulk").get_by_role("button", name="Delete")).to_be_enabled()
    finally:
        queries.COUNTERS.remove(estimate)
    page.locator("#bulk").get_by_role("button", name="Delete").click()
    expect(page.locator("#undo")).to_contain_text("Deleted 3 images")
    assert live_count(stack.app, tenant.workspace_id) == 0


def test_a_tap_on_the_menu_opens_it_every_time(browser, stack, tenant, corpus, base_url, output_path):
    make_user(stack.app, tenant.workspace_id, "tap@example.com", "editor")
    long_name = "a-photo-with-a-really-very-long-name-that-wraps-over-several-lines-when-shown-whole.jpg"
    photos(stack, tenant, corpus, {long_name: "Canon_40D.jpg", "short.jpg": "Nikon_D70.jpg"})
    context = browser.new_context(base_url=base_url, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, "tap@example.com")
        all_ready(page, [long_name, "short.jpg"])
        menu = tile(page, long_name).locator("details.menu")
        opened = 0
        for _ in range(12):
            menu.locator("summary").tap()
            expect(menu).to_have_attribute("open", "")
            opened += 1
            menu.evaluate("m => { m.open = false; document.activeElement.blur(); }")
            expect(menu).not_to_have_attribute("open", "")
        assert opened == 12
        menu.locator("summary").tap()
        page.screenshot(path=str(Path(output_path) / "phone-menu.png"))
    finally:
        context.close()


def test_focus_after_undo_restore_and_closing_the_details_after_an_edit(page, stack, tenant, corpus):
    make_user(stack.app, tenant.workspace_id, "focus@example.com", "editor")
    names = [f"f{i}.jpg" for i in range(3)]
    photos(stack, tenant, corpus, dict.fromkeys(names, "Canon_40D.jpg"))
    sign_in(page, "focus@example.com")
    all_ready(page, names)
    # An edit in the dialog swaps the tile; closing the dialog puts focus on the tile now in its place.
    tile(page, "f1.jpg").locator("a.thumb").click()
    dialog = page.locator("#details-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill("renamed.jpg")
    dialog.get_by_role("button", name="Rename").click()
    expect(dialog.locator(".rename .saved")).to_have_text("Renamed.")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(tile(page, "renamed.jpg").locator("a.thumb")).to_be_focused()
    # Undo: the restored tile has the focus.
    tile(page, "f0.jpg").locator("summary").click()
    tile(page, "f0.jpg").get_by_role("button", name="Delete f0.jpg").click()
    page.locator("#undo").get_by_role("button", name="Undo").click()
    expect(page.locator("#undo")).to_contain_text("Restored")
    expect(tile(page, "f0.jpg")).to_have_count(1)
    page.wait_for_function(f"() => ({FOCUSED_TILE}) === 'f0.jpg'")
    # Restore in the Trash: focus goes to the next row's Restore.
    for name in ("f2.jpg", "renamed.jpg"):
        tile(page, name).locator("summary").click()
        tile(page, name).get_by_role("button", name=f"Delete {name}").click()
        expect(tile(page, name)).to_have_count(0)
    page.goto(f"/w/{tenant.workspace_id}/p/{tenant.project_id}/trash")
    rows = page.locator("#trash-list li.trashed")
    first, second = rows.nth(0).get_attribute("data-name"), rows.nth(1).get_attribute("data-name")
    page.get_by_role("button", name=f"Restore {first}").click()
    expect(page.get_by_role("button", name=f"Restore {second}")).to_be_focused()
    page.get_by_role("button", name=f"Restore {second}").click()
    expect(page.locator("#trash-list li.done", has_text=second).get_by_role("link")).to_be_focused()


def test_the_details_fit_a_tablet(browser, stack, tenant, corpus, base_url, output_path):
    make_user(stack.app, tenant.workspace_id, "tablet@example.com", "editor")
    photos(stack, tenant, corpus, {"tablet-photo-with-a-long-name.jpg": "Canon_40D.jpg"})
    context = browser.new_context(base_url=base_url, viewport=TABLET)
    page = context.new_page()
    try:
        sign_in(page, "tablet@example.com")
        all_ready(page, ["tablet-photo-with-a-long-name.jpg"])
        thumb = tile(page, "tablet-photo-with-a-long-name.jpg").locator("a.thumb")
        thumb.click()
        dialog = page.locator("#details-dialog")
        expect(dialog).to_be_visible()
        assert dialog.evaluate("d => d.scrollWidth <= d.clientWidth"), dialog.evaluate(
            "d => [d.scrollWidth, d.clientWidth]"
        )
        right = dialog.evaluate("d => d.getBoundingClientRect().right")
        for part in (
            dialog.locator("dt", has_text="Camera"),
            dialog.locator("dt", has_text="Size"),
            dialog.get_by_role("button", name="Copy URL"),
        ):
            part.scroll_into_view_if_needed()
            expect(part).to_be_visible()
            assert part.bounding_box()["x"] + part.bounding_box()["width"] <= right
        page.screenshot(path=str(Path(output_path) / "tablet-dialog.png"))
        page.keyboard.press("Escape")
        page.goto(thumb.get_attribute("href"))
        assert page.evaluate(NO_SIDEWAYS), page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        for part in (page.locator("dt", has_text="Camera"), page.get_by_role("button", name="Copy URL")):
            part.scroll_into_view_if_needed()
            expect(part).to_be_in_viewport()
        page.screenshot(path=str(Path(output_path) / "tablet-details.png"), full_page=True)
    finally:
        context.close()


def test_the_grid_is_one_tab_stop_with_arrow_keys(page, stack, tenant, corpus):
    make_user(stack.app, tenant.workspace_id, "keys@example.com", "editor")
    names = [f"k{i}.jpg" for i in range(8)]
    photos(stack, tenant, corpus, dict.fromkeys(names, "Canon_40D.jpg"))
    sign_in(page, "keys@example.com")
    all_ready(page, names)
    order = page.eval_on_selector_all("#tiles li.tile", "tiles => tiles.map(t => t.dataset.name)")
    # Tab through the grid: the current tile and its ⋯ menu, then out; no stop in any other tile.
    page.locator("#tiles li.tile").first.focus()
    presses = 0
    while page.evaluate("!!document.activeElement.closest('#tiles')") and presses < 40:
        page.keyboard.press("Tab")
        presses += 1
    assert presses == 2, presses  # 24 before: three stops in each of eight tiles
    page.locator("#tiles li.tile").first.focus()
    page.keyboard.press("ArrowRight")
    expect(tile(page, order[1])).to_be_focused()
    columns = page.evaluate(
        "() => { const t = [...document.querySelectorAll('#tiles li.tile')]; return t.filter(x => x.offsetTop === t[0].offsetTop).length; }"
    )
    assert 1 < columns < len(names)
    page.keyboard.press("ArrowDown")
    expect(tile(page, order[1 + columns])).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowLeft")
    expect(tile(page, order[0])).to_be_focused()
    page.keyboard.press("End")
    expect(tile(page, order[-1])).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("#selected-count")).to_have_text("1 file selected")
    page.keyboard.press("Enter")
    expect(page.locator("#details-dialog")).to_be_visible()
    expect(page.locator("#details-title")).to_have_text(order[-1])
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")  # from the tile to its own ⋯, not the next tile
    expect(tile(page, order[-1]).locator("summary")).to_be_focused()


def test_a_3x_screen_gets_the_3x_tile(browser, stack, tenant, corpus, base_url):
    make_user(stack.app, tenant.workspace_id, "dpr@example.com", "editor")
    photos(stack, tenant, corpus, {"sharp.jpg": "Canon_40D.jpg"})
    for scale, want in ((3, "w=600,h=600"), (1, "w=200,h=200")):
        context = browser.new_context(base_url=base_url, device_scale_factor=scale)
        page = context.new_page()
        try:
            sign_in(page, "dpr@example.com")
            all_ready(page, ["sharp.jpg"])
            img = tile(page, "sharp.jpg").locator("img")
            expect(img).to_have_js_property("complete", True)
            width = img.evaluate("i => i.getBoundingClientRect().width")
            candidates = [(int(w), url) for url, w in re.findall(r"(\S+) (\d+)w", img.get_attribute("srcset"))]
            fitting = [c for c in candidates if c[0] >= width * scale]
            best = min(fitting)[1] if fitting else max(candidates)[1]
            assert img.evaluate("i => i.currentSrc") == best and want in best
        finally:
            context.close()


def test_menus_targets_headings_urls_and_sizes(browser, stack, tenant, corpus, base_url):
    make_user(stack.app, tenant.workspace_id, "small@example.com", "editor")
    photos(stack, tenant, corpus, {"menu.jpg": "Canon_40D.jpg"})
    context = browser.new_context(base_url=base_url, bypass_csp=True)  # axe is injected as a script
    page = context.new_page()
    try:
        sign_in(page, "small@example.com")
        all_ready(page, ["menu.jpg"])
        menu = tile(page, "menu.jpg").locator("details.menu")
        menu.locator("summary").click()
        expect(menu).to_have_attribute("open", "")
        page.keyboard.press("Escape")
        expect(menu).not_to_have_attribute("open", "")
        expect(menu.locator("summary")).to_be_focused()
        menu.locator("summary").click()
        page.locator("h1").click()
        expect(menu).not_to_have_attribute("open", "")
        for box in (
            tile(page, "menu.jpg").locator(".select-box"),
            page.locator("#select-page"),
            page.locator("#select-matching"),
        ):
            size = box.bounding_box()
            assert size["width"] >= 24 and size["height"] >= 24, size
        expect(page.locator("#limits")).to_contain_text("Up to 5 MiB each")
        page.select_option("#status", "failed")
        page.wait_for_url(re.compile(r"/content\?status=failed$"))
        page.select_option("#status", "all")
        page.wait_for_url(re.compile(r"/content$"))
        page.goto(tile(page, "menu.jpg").locator("a.thumb").get_attribute("href"))
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {runOnly: ['heading-order']})")
        assert result["violations"] == [], result["violations"]
    finally:
        context.close()


def test_bulk_delete_asks_only_while_the_trash_is_off(page, stack, tenant, corpus, output_path):
    from app.domain import workspace_settings

    make_user(stack.app, tenant.workspace_id, "ask@example.com", "editor")
    photos(stack, tenant, corpus, {"q0.jpg": "Canon_40D.jpg", "q1.jpg": "Nikon_D70.jpg"})
    sign_in(page, "ask@example.com")
    all_ready(page, ["q0.jpg", "q1.jpg"])
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_label("Select all on this page").check()
    page.locator("#bulk").get_by_role("button", name="Delete").click()
    expect(page.locator("#undo")).to_contain_text("Deleted 2 images")
    assert questions == []  # in the trash, Undo is the answer; "This cannot be undone" would be untrue
    with stack.app.app_context():
        workspace_settings.update(tenant.workspace_id, "test", {"trash_days": 0})
    photos(stack, tenant, corpus, {"q2.jpg": "Canon_40D.jpg"})
    page.reload()
    all_ready(page, ["q2.jpg"])
    page.get_by_label("Select all on this page").check()
    page.locator("#bulk").get_by_role("button", name="Delete").click()
    expect(tile(page, "q2.jpg")).to_have_count(0)
    assert questions == ["Delete 1 file? This cannot be undone."]
