"""The gallery's uploader sends large files with tus-js-client (vendored) in real Chromium: through a link that
drops, the file still arrives whole, each drop costing at most one piece sent again; after a page reload mid-upload
the same file chosen again goes on where it stopped; Cancel terminates it."""

from __future__ import annotations

import hashlib
import os

from browser_support import make_user, sign_in
from playwright.sync_api import expect

from app.devstack import CuttingProxy, wait_until

CHUNK = 256 * 1024


def tile(page, name: str):
    return page.locator(f'#tiles li.tile[data-name="{name}"]')


def stored(stack, name: str):
    from app.domain.files import File
    from app.extensions import db

    with stack.app.app_context():
        try:
            return db.session.query(File).filter_by(name=name).one_or_none()
        finally:
            db.session.remove()


def test_a_large_file_goes_resumably_through_a_link_that_drops(page, stack, tenant, tmp_path, monkeypatch):
    monkeypatch.setitem(stack.app.config, "RESUMABLE_CHUNK_BYTES", CHUNK)
    data = os.urandom(9 * CHUNK + 777)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    make_user(stack.app, tenant.workspace_id, "editor@example.com", "editor")
    proxy = CuttingProxy(stack.server.port, 1 << 40)
    try:
        page.goto(proxy.url + "/")
        sign_in(page, "editor@example.com", base=proxy.url)
        page.evaluate("window.__noReload = true")
        before = proxy.forwarded
        proxy.drop_every(3 * CHUNK + CHUNK // 2)
        page.set_input_files("#picker", str(source))
        expect(tile(page, "big.bin")).to_have_attribute(
            "data-state", "file", timeout=60_000
        )  # not an image: a plain file
    finally:
        proxy.close()
    file = stored(stack, "big.bin")
    assert file is not None and file.sha256 == hashlib.sha256(data).hexdigest()
    assert proxy.cuts >= 2
    resent = proxy.forwarded - before - len(data) - proxy.connections * 2048
    assert resent <= proxy.cuts * CHUNK, (proxy.forwarded - before, proxy.cuts, proxy.connections)


def test_pause_then_cancel_terminates_a_resumable_upload(page, stack, tenant, tmp_path, monkeypatch):
    """The link stalls mid-piece (so the upload is caught half-way, whatever the machine's speed): Pause stops it,
    Cancel terminates it on the server (tus DELETE), and nothing is stored."""
    from app.domain import resumable

    monkeypatch.setitem(stack.app.config, "RESUMABLE_CHUNK_BYTES", CHUNK)
    source = tmp_path / "cancel.bin"
    source.write_bytes(os.urandom(8 * CHUNK))
    make_user(stack.app, tenant.workspace_id, "editor@example.com", "editor")
    proxy = CuttingProxy(stack.server.port, 1 << 40)

    def offset() -> int | None:
        from app.extensions import db

        with stack.app.app_context():
            try:
                row = db.session.query(resumable.ResumableUpload).one_or_none()
                return row.offset if row else None
            finally:
                db.session.remove()

    try:
        sign_in(page, "editor@example.com", base=proxy.url)
        page.evaluate("window.__noReload = true")
        proxy.hold_after(CHUNK + CHUNK // 2)
        page.set_input_files("#picker", str(source))
        wait_until(lambda: (offset() or 0) >= CHUNK, 30, "the first piece to arrive")
        upload = tile(page, "cancel.bin")
        upload.get_by_role("button", name="Pause the upload of cancel.bin").click()
        expect(upload).to_have_attribute("data-state", "paused")
        proxy.release()
        upload.get_by_role("button", name="Cancel the upload of cancel.bin").click()
        expect(upload).to_have_count(0)
        wait_until(lambda: offset() is None, 30, "the cancelled upload to be terminated on the server")
    finally:
        proxy.release()
        proxy.close()
    assert stored(stack, "cancel.bin") is None


def test_a_reload_mid_upload_then_the_same_file_goes_on_where_it_stopped(page, stack, tenant, tmp_path, monkeypatch):
    """The fourth piece is held back in the browser (never reaching the server), the page reloads, it names the
    unfinished upload, and the same file chosen again resumes it: no new upload, nothing before its offset sent
    again, and the stored file has the same sha256."""
    from app.domain import resumable
    from app.extensions import db

    monkeypatch.setitem(stack.app.config, "RESUMABLE_CHUNK_BYTES", CHUNK)
    data = os.urandom(10 * CHUNK + 4321)
    source = tmp_path / "reloaded.bin"
    source.write_bytes(data)
    make_user(stack.app, tenant.workspace_id, "editor@example.com", "editor")
    sign_in(page, "editor@example.com", base=stack.url)
    page.evaluate("window.__noReload = true")

    def uploads() -> list[tuple[int, str | None]]:
        with stack.app.app_context():
            try:
                rows = db.session.query(resumable.ResumableUpload).all()
                return [(row.offset, row.file_id) for row in rows if row.filename == "reloaded.bin"]
            finally:
                db.session.remove()

    sent: list[tuple[str, str | None]] = []  # (method, Upload-Offset) of every tus request the page made
    page.on(
        "request",
        lambda request: (
            sent.append((request.method, request.headers.get("upload-offset"))) if "/api/tus" in request.url else None
        ),
    )
    held, reloaded = [], []

    def fourth_piece(request) -> bool:
        return request.method == "PATCH" and request.headers.get("upload-offset") == str(3 * CHUNK)

    def hold_the_fourth_piece(route):
        if not reloaded and fourth_piece(route.request):
            held.append(route)  # never answered: the reload ends it before a byte of it reaches the server
            return
        route.continue_()

    page.route("**/api/tus/**", hold_the_fourth_piece)  # stays: after the reload it lets every request through
    with page.expect_request(fourth_piece, timeout=30_000):
        page.set_input_files("#picker", str(source))
    assert uploads() == [(3 * CHUNK, None)]  # tus-js-client sends a piece only once the one before it was answered
    page.reload()
    reloaded.append(True)
    assert held  # the fourth piece was caught before the reload (the next one is the resumed upload's)
    page.evaluate("window.__noReload = true")
    expect(page.locator("#unfinished")).to_contain_text("reloaded.bin")
    before_reload = len(sent)
    page.set_input_files("#picker", str(source))
    expect(tile(page, "reloaded.bin")).to_have_attribute("data-state", "file", timeout=60_000)
    expect(page.locator("#unfinished")).to_have_count(0)  # finished: no longer remembered
    after = sent[before_reload:]
    assert ("POST", None) not in after  # no new upload was made
    offsets = [int(offset) for method, offset in after if method == "PATCH"]
    assert offsets and min(offsets) == 3 * CHUNK, after
    (finished,) = uploads()
    assert finished[0] == len(data)
    file = stored(stack, "reloaded.bin")
    assert file is not None and file.id == finished[1] and file.sha256 == hashlib.sha256(data).hexdigest()
