"""Password spraying: one address trying one password over many emails is limited too, with or without Redis."""

from __future__ import annotations

from itsdangerous import URLSafeTimedSerializer
from security_support import PASSWORD, build_world, limit_on

from tests.services import free_port


def _login(client, email: str, password: str):
    with client.session_transaction() as session:
        session["csrf_token"] = "raw"
    token = URLSafeTimedSerializer(client.application.secret_key, salt="wtf-csrf-token").dumps("raw")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_forty_emails_from_one_address_are_stopped_after_the_address_limit(app, make_app):
    # The default allowance (30) in an hour-long window, counted on a clock standing at the window's start.
    app = make_app(login_address_rate_limit="30/3600")
    limit_on(app, 3600)
    world = build_world(app)
    with app.app_context():
        from app.domain.accounts import User
        from app.extensions import db

        owner_email = db.session.get(User, world.a.users["owner"]).email
        db.session.remove()
    sprayer = app.test_client()
    answers = [_login(sprayer, f"user{n}@example.com", "Summer2026!").status_code for n in range(40)]
    assert answers[:30] == [401] * 30 and answers[30:] == [429] * 10
    limited = _login(sprayer, owner_email, PASSWORD)  # not even the right password gets through from there
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 3600
    assert "Too many sign-in attempts" in limited.text
    # Another address is not held back by the sprayer.
    neighbour = app.test_client()
    neighbour.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    assert _login(neighbour, owner_email, PASSWORD).status_code == 302


def test_spraying_is_limited_per_process_while_redis_is_away(app, make_app):
    app = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0", login_address_rate_limit="5/3600")
    sprayer = app.test_client()
    answers = [_login(sprayer, f"user{n}@example.com", "Summer2026!").status_code for n in range(8)]
    assert answers == [401] * 5 + [429] * 3
