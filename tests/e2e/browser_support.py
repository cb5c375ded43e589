"""Helpers for the browser tests, in a uniquely named module so that no test imports from a conftest."""

from __future__ import annotations

PASSWORD = "correct horse battery"


def make_user(app, workspace_id: str, email: str, role: str) -> None:
    from app.domain import accounts
    from app.extensions import db

    with app.app_context():
        accounts.create_user(email, PASSWORD, workspace_id, role)
        db.session.commit()


def sign_in(page, email: str, base: str = "") -> None:
    page.goto(base + "/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/content")
