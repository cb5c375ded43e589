"""Sign-in and upload rate limits, counted in the real Redis, answered with 429 and Retry-After."""

from __future__ import annotations

import io
import time

import pytest
from security_support import PASSWORD, Caller, build_world, limit_on, png, snapshot


def _login(client, email: str, password: str):
    with client.session_transaction() as session:
        session["csrf_token"] = "raw"
    from itsdangerous import URLSafeTimedSerializer

    token = URLSafeTimedSerializer(client.application.secret_key, salt="wtf-csrf-token").dumps("raw")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def _keys(app, name: str) -> list[bytes]:
    return list(app.extensions["queue"].connection.scan_iter(f"aeontel:rl:{name}:*"))


def test_sign_in_is_limited_per_address_and_email(app, make_app):
    app = make_app(login_rate_limit="3/60")
    world = build_world(app)
    with app.app_context():
        from app.domain.accounts import User
        from app.extensions import db

        email = db.session.get(User, world.a.users["owner"]).email
        db.session.remove()
    client = app.test_client()
    assert [_login(client, email, "wrong password").status_code for _ in range(3)] == [401, 401, 401]
    limited = _login(client, email, PASSWORD)  # even the right password: the password is not even checked
    assert limited.status_code == 429
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert "Too many sign-in attempts" in limited.text and 'role="alert"' in limited.text
    assert limited.headers["Content-Type"].startswith("text/html")
    with client.session_transaction() as session:
        assert "user_id" not in session
    # Another email from the same address, and the same email from another address, are counted apart.
    assert _login(client, "someone-else@example.com", "wrong password").status_code == 401
    other_address = app.test_client()
    other_address.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert _login(other_address, email, PASSWORD).status_code == 302
    # The counters live in Redis with an expiry, keyed by a hash (no email in Redis).
    keys = _keys(app, "login")
    assert keys and all(email.encode() not in key for key in keys)
    assert all(0 < app.extensions["queue"].connection.ttl(key) <= 61 for key in keys)


def test_the_window_passes(app, make_app):
    app = make_app(login_rate_limit="2/6")
    clock = limit_on(app, 6)  # at a window's beginning, so three sign-ins stay inside it
    client = app.test_client()
    assert [_login(client, "x@example.com", "wrong password").status_code for _ in range(3)] == [401, 401, 429]
    retry_after = int(_login(client, "x@example.com", "wrong").headers["Retry-After"])
    assert retry_after == 6  # the whole window is still ahead on a clock that has not moved
    clock.advance(retry_after - 0.5)
    assert _login(client, "x@example.com", "wrong password").status_code == 429  # not yet
    clock.advance(0.5)
    assert _login(client, "x@example.com", "wrong password").status_code == 401


def _upload(caller, project_id: str):
    """The same bytes each time, each a new file (duplicates=allow): the limit is what is tested here."""
    return caller.open(
        "POST",
        "/api/files?duplicates=allow",
        data={"project_id": project_id, "file": (io.BytesIO(png()), "a.png")},
        content_type="multipart/form-data",
    )


def test_api_uploads_are_limited_per_token_with_a_problem(app, make_app):
    app = make_app(upload_rate_limit="2/60")
    world = build_world(app)
    writer = Caller(app, world, "token_write")
    assert [_upload(writer, world.a.project_id).status_code for _ in range(2)] == [201, 201]
    before = snapshot(app)
    limited = _upload(writer, world.a.project_id)
    assert limited.status_code == 429
    assert limited.mimetype == "application/problem+json"
    assert limited.json["code"] == "rate_limited" and "Too many uploads" in limited.json["detail"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert snapshot(app) == before, "a refused upload left a row behind"
    # Other callers have their own allowance: the other workspace's token, and a signed-in editor.
    assert _upload(Caller(app, world, "other_token"), world.b.project_id).status_code == 201
    assert _upload(Caller(app, world, "editor"), world.a.project_id).status_code == 201


def test_gallery_uploads_are_limited_per_user(app, make_app):
    app = make_app(upload_rate_limit="1/60")
    world = build_world(app)
    editor = Caller(app, world, "editor")
    url = f"/w/{world.a.workspace_id}/p/{world.a.project_id}/content/files"

    def upload():
        return editor.open(
            "POST", url, htmx=True, data={"file": (io.BytesIO(png()), "a.png")}, content_type="multipart/form-data"
        )

    assert upload().status_code == 201
    limited = upload()
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert "Too many uploads" in limited.text


def test_limits_are_counted_in_the_process_when_redis_is_away(app, make_app):
    """An unreachable Redis never turns sign-in into an error, nor into unlimited guessing: the process counts."""
    from tests.services import free_port

    app = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0", login_rate_limit="1/60")
    client = app.test_client()
    started = time.monotonic()
    assert [_login(client, "x@example.com", "wrong password").status_code for _ in range(3)] == [401, 429, 429]
    assert time.monotonic() - started < 5


def test_malformed_limits_fail_at_start(app, make_app):
    with pytest.raises(ValueError, match="10/60"):
        make_app(login_rate_limit="ten per minute")


def test_resumable_uploads_count_against_the_same_allowance(app, make_app):
    """A tus creation is one upload: after the allowance, both kinds answer 429 and nothing is recorded."""
    import base64

    app = make_app(upload_rate_limit="2/60")
    world = build_world(app)
    writer = Caller(app, world, "token_write")
    metadata = "project_id " + base64.b64encode(world.a.project_id.encode()).decode()

    def create():
        headers = {"Tus-Resumable": "1.0.0", "Upload-Length": "10", "Upload-Metadata": metadata}
        return writer.open("POST", "/api/tus", headers=headers)

    assert create().status_code == 201
    assert _upload(writer, world.a.project_id).status_code == 201
    before = snapshot(app)
    limited = create()
    assert limited.status_code == 429 and limited.json["code"] == "rate_limited"
    assert limited.headers["Tus-Resumable"] == "1.0.0"
    assert _upload(writer, world.a.project_id).status_code == 429
    assert snapshot(app) == before
