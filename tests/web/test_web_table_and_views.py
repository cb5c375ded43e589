"""The gallery's table view (columns, sortable headers, the same signed paging as the grid) and saved views (save,
list, open, rename, delete, shared by URL), over the test client with real uploads and real provisioning."""

import re
from urllib.parse import parse_qs, urlsplit

from gallery_web_support import upload_over_http
from sqlalchemy import func, select

from app.domain.saved_views import SavedView
from app.extensions import db


def names_in_table(html: str) -> list[str]:
    return re.findall(
        r'<tr id="row-fil_[0-9a-z]+" class="row [a-z]+" data-id="fil_[0-9a-z]+" data-name="([^"]+)"', html
    )


def view_rows(app) -> list[tuple]:
    with app.app_context():
        return list(db.session.execute(select(SavedView.name, SavedView.query, SavedView.layout)).all())


def seed(live_server, tenant, corpus, run_jobs) -> None:
    upload_over_http(live_server, tenant, (corpus / "Canon_40D.jpg").read_bytes(), "canon.jpg")
    upload_over_http(live_server, tenant, (corpus / "Nikon_D70.jpg").read_bytes(), "nikon.jpg")
    upload_over_http(live_server, tenant, (corpus / "mobile_jolla.jpg").read_bytes(), "Alpha.jpg")
    run_jobs()


def test_the_table_shows_the_columns_and_sorts_by_its_headers(editor, live_server, tenant, corpus, run_jobs):
    seed(live_server, tenant, corpus, run_jobs)
    page = editor.client.get(editor.gallery_url + "?layout=table")
    assert page.status_code == 200 and "<html" in page.text
    assert '<table id="table"' in page.text and '<li id="tile-' not in page.text
    for header in ("Name", "Dimensions", "Size", "Date taken", "Camera", "Alt text", "Tags"):
        assert f">{header}" in page.text
    canon = re.search(r'<tr id="row-[^"]+"[^>]*data-name="canon.jpg">(.*?)</tr>', page.text, re.S).group(1)
    assert "Canon EOS 40D" in canon and "2008-05-30 15:56" in canon and "×" in canon
    assert "missing" in canon  # no alt text yet
    # Newest first by default; the Name header sorts A–Z, then a second click Z–A, each a link keeping the layout.
    assert names_in_table(page.text) == ["Alpha.jpg", "nikon.jpg", "canon.jpg"]
    link = re.search(r'<th scope="col" id="col-name"><a class="sort-link" href="([^"]+)"', page.text).group(1)
    assert parse_qs(urlsplit(link.replace("&amp;", "&")).query) == {"sort": ["name"], "layout": ["table"]}
    by_name = editor.client.get(link.replace("&amp;", "&"))
    assert [n.lower() for n in names_in_table(by_name.text)] == ["alpha.jpg", "canon.jpg", "nikon.jpg"]
    assert 'id="col-name" aria-sort="ascending"' in by_name.text
    again = re.search(r'id="col-name" aria-sort="ascending"><a class="sort-link" href="([^"]+)"', by_name.text)
    desc = editor.client.get(again.group(1).replace("&amp;", "&"))
    assert [n.lower() for n in names_in_table(desc.text)] == ["nikon.jpg", "canon.jpg", "alpha.jpg"]
    smallest = editor.client.get(editor.gallery_url + "?layout=table&sort=smallest")
    sizes = [int(s) for s in re.findall(r'<td class="size" data-bytes="(\d+)"', smallest.text)]
    assert sizes == sorted(sizes) and 'id="col-size" aria-sort="ascending"' in smallest.text
    # The Date taken header sorts by the date in the EXIF (else the upload time), newest first, then oldest first.
    link = re.search(r'<th scope="col" id="col-taken"><a class="sort-link" href="([^"]+)"', page.text).group(1)
    assert parse_qs(urlsplit(link.replace("&amp;", "&")).query) == {"sort": ["taken"], "layout": ["table"]}
    by_taken = editor.client.get(link.replace("&amp;", "&"))
    assert names_in_table(by_taken.text) == ["Alpha.jpg", "canon.jpg", "nikon.jpg"]  # 2014, 2008-05, 2008-03
    assert 'id="col-taken" aria-sort="descending"' in by_taken.text
    again = re.search(r'id="col-taken" aria-sort="descending"><a class="sort-link" href="([^"]+)"', by_taken.text)
    assert parse_qs(urlsplit(again.group(1).replace("&amp;", "&")).query)["sort"] == ["taken_oldest"]
    oldest = editor.client.get(again.group(1).replace("&amp;", "&"))
    assert names_in_table(oldest.text) == ["nikon.jpg", "canon.jpg", "Alpha.jpg"]
    assert 'id="col-taken" aria-sort="ascending"' in oldest.text
    # The grid's Sort menu offers the same orders, kept in the URL.
    grid = editor.client.get(editor.gallery_url + "?sort=taken_oldest")
    assert '<option value="taken_oldest" selected' in grid.text and '<option value="taken"' in grid.text
    tiles = re.findall(r'<li id="tile-(fil_[0-9a-z]+)"', grid.text)
    assert len(tiles) == 3 and tiles == re.findall(r'data-id="(fil_[0-9a-z]+)"', oldest.text)
    # An htmx request gets the fragment (the table inside #grid), no page.
    fragment = editor.client.get(editor.gallery_url + "?layout=table&q=canon", headers=editor.htmx())
    assert 'id="grid"' in fragment.text and "<table" in fragment.text and "<html" not in fragment.text
    assert names_in_table(fragment.text) == ["canon.jpg"]
    # The layout switch is swapped with the grid, so it keeps a search typed since the page loaded.
    grid_link = re.search(r'<a id="layout-grid" href="([^"]+)"', fragment.text).group(1)
    assert parse_qs(urlsplit(grid_link).query) == {"q": ["canon"]}
    assert 'id="layout-table" href="' in fragment.text and 'aria-current="page">Table' in fragment.text


def test_the_table_pages_with_the_grids_signed_cursors(editor, live_server, tenant, corpus, run_jobs, app):
    from app.web import gallery

    seed(live_server, tenant, corpus, run_jobs)
    old, gallery.PAGE_SIZE = gallery.PAGE_SIZE, 2
    try:
        first = editor.client.get(editor.gallery_url + "?layout=table&sort=name")
        more = re.search(r'<tr id="more" class="more"><td colspan="7">\s*<a href="([^"]+)"', first.text).group(1)
        rest = editor.client.get(more.replace("&amp;", "&"), headers=editor.htmx())
    finally:
        gallery.PAGE_SIZE = old
    assert "<table" not in rest.text and "<html" not in rest.text  # rows only, appended in place of #more
    assert [n.lower() for n in names_in_table(first.text) + names_in_table(rest.text)] == [
        "alpha.jpg",
        "canon.jpg",
        "nikon.jpg",
    ]
    # The cursor is bound to its query: another sort refuses it with the readable page.
    tampered = editor.client.get(more.replace("&amp;", "&").replace("sort=name", "sort=size"))
    assert tampered.status_code == 400 and "first page" in tampered.text


def test_save_open_rename_delete_a_view(viewer, editor, app, tenant):
    """Viewers save their own views; the saved query is the engine's, the layout kept; a view's URL opens it."""
    page = viewer.client.get(viewer.gallery_url + "?q=beach&status=failed&sort=name_desc&layout=table")
    assert 'id="save-view"' in page.text and 'form="save-view" name="q" value="beach"' in page.text
    saved = viewer.client.post(
        viewer.gallery_url.replace("/content", "/views"),
        data={
            "csrf_token": viewer.csrf,
            "name": "  Failed   beaches ",
            "q": "beach",
            "status": "failed",
            "sort": "name_desc",
            "layout": "table",
        },
    )
    assert saved.status_code == 302
    assert view_rows(app) == [("Failed beaches", "q=beach&sort=-name&image_state=failed", "table")]
    listed = viewer.client.get(saved.headers["Location"])
    match = re.search(r'<a href="([^"]+/views/(viw_[0-9a-z]+))" aria-current="true">Failed beaches</a>', listed.text)
    assert match, listed.text
    view_url, view_id = match.groups()
    # Anyone in the workspace opens the same filters from the view's URL; its name is not in their list.
    opened = editor.client.get(view_url)
    assert opened.status_code == 302
    args = parse_qs(urlsplit(opened.headers["Location"]).query)
    assert args == {
        "q": ["beach"],
        "status": ["failed"],
        "sort": ["name_desc"],
        "layout": ["table"],
        "saved": [view_id],
    }
    assert "Failed beaches" not in editor.client.get(editor.gallery_url).text
    # Only the owner renames or deletes it.
    refused = editor.client.post(view_url + "/rename", data={"csrf_token": editor.csrf, "name": "Mine now"})
    assert refused.status_code == 403 and view_rows(app)[0][0] == "Failed beaches"
    assert "only the person who saved" in refused.text.lower()
    assert editor.client.post(view_url + "/delete", data={"csrf_token": editor.csrf}).status_code == 403
    renamed = viewer.client.post(view_url + "/rename", data={"csrf_token": viewer.csrf, "name": "Beach failures"})
    assert renamed.status_code == 302 and view_rows(app)[0][0] == "Beach failures"
    gone = viewer.client.post(view_url + "/delete", data={"csrf_token": viewer.csrf})
    assert gone.status_code == 302 and view_rows(app) == []
    assert viewer.client.get(view_url).status_code == 404


def test_a_bad_view_is_not_stored_and_says_why(viewer, app):
    url = viewer.gallery_url.replace("/content", "/views")
    no_name = viewer.client.post(url, data={"csrf_token": viewer.csrf, "name": " ", "sort": "name"})
    assert "1 to 100 characters" in viewer.client.get(no_name.headers["Location"]).text
    bad_filter = viewer.client.post(url, data={"csrf_token": viewer.csrf, "name": "Old", "created_before": "soon"})
    follow = viewer.client.get(bad_filter.headers["Location"])
    assert bad_filter.status_code == 302 and "ISO 8601" in follow.text
    viewer.client.post(url, data={"csrf_token": viewer.csrf, "name": "Twice"})
    twice = viewer.client.post(url, data={"csrf_token": viewer.csrf, "name": "twice"})
    assert "already have a view" in viewer.client.get(twice.headers["Location"]).text
    no_csrf = viewer.client.post(url, data={"name": "Forged"})
    assert no_csrf.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(SavedView.id))) == 1


def _without_tokens(page: str) -> str:
    """The page with every CSRF token blanked: the form fields, the meta tag and htmx's header."""
    return re.sub(r'("csrf[-_]token"\s+(?:value|content)="|"X-CSRFToken": ")[^"]*', r"\1", page)


def test_another_workspace_cannot_open_a_view(viewer, outsider, app, tenant, other_tenant):
    viewer.client.post(
        viewer.gallery_url.replace("/content", "/views"), data={"csrf_token": viewer.csrf, "name": "Mine"}
    )
    with app.app_context():
        view_id = db.session.scalar(select(SavedView.id))
    theirs = f"/w/{other_tenant.workspace_id}/p/{other_tenant.project_id}/views/{view_id}"
    missing = f"/w/{other_tenant.workspace_id}/p/{other_tenant.project_id}/views/viw_01j0000000000000000000zzzz"
    assert outsider.client.get(theirs).status_code == 404
    # The same page but for the id asked and the CSRF token (signed with the second it was made in).
    assert _without_tokens(outsider.client.get(theirs).text.replace(view_id, "x")) == _without_tokens(
        outsider.client.get(missing).text.replace("viw_01j0000000000000000000zzzz", "x")
    )
    assert outsider.client.get(viewer.gallery_url.replace("/content", f"/views/{view_id}")).status_code == 404


def test_a_view_with_a_filter_the_gallery_cannot_show_opens_with_a_note(viewer, app, tenant):
    from app.domain import saved_views
    from app.domain.accounts import User

    with app.app_context():
        owner = saved_views.Owner(user_id=db.session.scalar(select(User.id).where(User.email == "viewer@example.com")))
        view = saved_views.create_view(tenant.workspace_id, owner, tenant.project_id, "Errors", "status=error", "grid")
        view_id = view.id
    opened = viewer.client.get(viewer.gallery_url.replace("/content", f"/views/{view_id}"), follow_redirects=True)
    assert "also filters by status" in opened.text
