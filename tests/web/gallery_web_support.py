"""Helpers for the gallery web tests, in a uniquely named module so that no test imports from a conftest."""

from __future__ import annotations

import re

from tests.factories import upload_over_http  # noqa: F401 - the gallery tests import it from here

PASSWORD = "correct horse battery"


def csrf_from(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


class Member:
    """A test client signed in through /login; `csrf` is the token its pages carry."""

    def __init__(self, app, email: str, tenant):
        self.app, self.email, self.tenant = app, email, tenant
        self.client = app.test_client()
        page = self.client.get("/login")
        response = self.client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
        )
        assert response.status_code == 302, response.text
        self.csrf = csrf_from(self.client.get(self.gallery_url).text)

    @property
    def gallery_url(self) -> str:
        return f"/w/{self.tenant.workspace_id}/p/{self.tenant.project_id}/content"

    def htmx(self, **extra) -> dict:
        return {"HX-Request": "true", "X-CSRFToken": self.csrf, **extra}


def make_user(app, tenant, email: str, role: str) -> str:
    from app.domain import accounts
    from app.extensions import db

    with app.app_context():
        user = accounts.create_user(email, PASSWORD, tenant.workspace_id, role)
        db.session.commit()
        return user.id
