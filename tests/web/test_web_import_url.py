"""The gallery's "Import from URL": the server fetches the file through its address guard and answers its tile, or
a readable reason; without JavaScript the form posts and redirects back."""

from __future__ import annotations

import os

from werkzeug.wrappers import Request, Response

from tests.services import ThreadedServer

DATA = b"%PDF-1.4\n" + os.urandom(5_000)


@Request.application
def origin_app(request: Request) -> Response:
    return Response(DATA) if request.path == "/docs/report.pdf" else Response("no", status=404)


def test_import_from_url_answers_the_tile_or_a_readable_reason(make_app, tenant, factory):
    from tests.api.conftest import Browser

    origin = ThreadedServer(origin_app).start()
    app = make_app(url_import_allow=f"127.0.0.1:{origin.port}")
    try:
        with app.app_context():
            from app.domain import accounts
            from app.extensions import db

            user = accounts.create_user("editor@example.com", "correct horse battery", tenant.workspace_id, "editor")
            db.session.commit()
            user_id = user.id
        browser = Browser(app, user_id)
        url = f"/w/{tenant.workspace_id}/p/{tenant.project_id}/content/import"
        headers = {"HX-Request": "true", "X-CSRFToken": browser.csrf_token}
        made = browser.client.post(url, data={"url": f"{origin.url}/docs/report.pdf"}, headers=headers)
        assert made.status_code == 201, made.get_data(as_text=True)
        assert 'data-name="report.pdf"' in made.get_data(as_text=True)
        # The page's form says duplicates=reuse: the same bytes again answer the file the library has.
        again = browser.client.post(
            url, data={"url": f"{origin.url}/docs/report.pdf", "duplicates": "reuse"}, headers=headers
        )
        assert again.status_code == 200, again.get_data(as_text=True)
        assert again.get_data(as_text=True).count('data-name="report.pdf"') == 1
        with app.app_context():
            from sqlalchemy import func, select

            from app.domain.files import File

            assert db.session.scalar(select(func.count()).select_from(File)) == 1
        missing = browser.client.post(url, data={"url": f"{origin.url}/gone.pdf"}, headers=headers)
        assert missing.status_code == 422 and "no file there" in missing.get_data(as_text=True)
        plain = browser.client.post(
            url, data={"url": f"{origin.url}/docs/report.pdf", "csrf_token": browser.csrf_token}
        )
        assert plain.status_code == 302
    finally:
        origin.stop()
