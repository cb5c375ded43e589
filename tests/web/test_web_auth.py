"""Sign-in, sign-out, the site root, cookie flags, CSRF and who may see which workspace."""

import re

from gallery_web_support import PASSWORD, Member, csrf_from, make_user


def login(client, email, password, **extra):
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token, **extra})


def test_root_sends_a_signed_out_visitor_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login")
    assert page.status_code == 200 and "<html" in page.text and 'name="csrf_token"' in page.text


def test_sign_in_lands_on_the_last_project_and_the_cookie_is_locked_down(app, tenant):
    from app.domain import accounts
    from app.extensions import db

    make_user(app, tenant, "ed@example.com", "editor")
    with app.app_context():
        blog = accounts.create_project(tenant.workspace_id, "Blog").id
        db.session.commit()
    client = app.test_client()
    response = login(client, "ED@example.com ", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    first = client.get("/")
    assert first.headers["Location"] == f"/w/{tenant.workspace_id}/p/{blog}/content"  # "Blog" sorts first
    assert client.get(f"/w/{tenant.workspace_id}/p/{tenant.project_id}/content").status_code == 200
    assert client.get("/").headers["Location"] == f"/w/{tenant.workspace_id}/p/{tenant.project_id}/content"
    with client.session_transaction() as session:
        assert session["user_id"].startswith("usr_")
    # Signing out and in again keeps the last project; the session itself is new.
    gallery = client.get(f"/w/{tenant.workspace_id}/p/{tenant.project_id}/content")
    assert client.post("/logout", data={"csrf_token": csrf_from(gallery.text)}).headers["Location"] == "/login"
    assert client.get(f"/w/{tenant.workspace_id}/p/{tenant.project_id}/content").status_code == 302
    login(client, "ed@example.com", PASSWORD)
    assert client.get("/").headers["Location"] == f"/w/{tenant.workspace_id}/p/{tenant.project_id}/content"


def test_a_wrong_password_and_an_unknown_email_read_the_same(app, tenant):
    make_user(app, tenant, "ed@example.com", "editor")
    client = app.test_client()
    wrong = login(client, "ed@example.com", "not the password")
    unknown = login(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = re.search(r'id="login-error">([^<]+)<', wrong.text).group(1)
    assert message == re.search(r'id="login-error">([^<]+)<', unknown.text).group(1)
    assert "do not match" in message
    assert 'value="ed@example.com"' in wrong.text  # the email is kept, the password is not
    empty = login(client, "", "")
    assert empty.status_code == 401 and "Enter your email and your password" in empty.text
    with client.session_transaction() as session:
        assert "user_id" not in session


def test_login_without_csrf_is_refused_and_forged_tokens_are_forbidden(app, tenant):
    make_user(app, tenant, "ed@example.com", "editor")
    client = app.test_client()
    missing = client.post("/login", data={"email": "ed@example.com", "password": PASSWORD})
    assert missing.status_code == 400 and "security token" in missing.text
    forged = client.post("/login", data={"email": "ed@example.com", "password": PASSWORD, "csrf_token": "forged"})
    assert forged.status_code == 403
    with client.session_transaction() as session:
        assert "user_id" not in session


def test_next_takes_you_back_but_never_off_site(app, tenant):
    make_user(app, tenant, "ed@example.com", "editor")
    gallery = f"/w/{tenant.workspace_id}/p/{tenant.project_id}/content"
    client = app.test_client()
    bounced = client.get(gallery + "?status=ready")
    assert bounced.status_code == 302 and bounced.headers["Location"].startswith("/login?next=")
    assert (
        login(client, "ed@example.com", PASSWORD, next=gallery + "?status=ready").headers["Location"]
        == gallery + "?status=ready"
    )
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        other = app.test_client()
        assert login(other, "ed@example.com", PASSWORD, next=evil).headers["Location"] == "/"


def test_htmx_requests_when_signed_out_are_told_to_navigate(client, tenant):
    response = client.get(f"/w/{tenant.workspace_id}/p/{tenant.project_id}/content", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


def test_another_workspace_is_not_found(editor, outsider, tenant, other_tenant):
    mine = f"/w/{tenant.workspace_id}/p/{tenant.project_id}/content"
    theirs = f"/w/{other_tenant.workspace_id}/p/{other_tenant.project_id}/content"
    assert editor.client.get(theirs).status_code == 404
    assert outsider.client.get(mine).status_code == 404
    assert outsider.client.get(mine, headers={"HX-Request": "true"}).status_code == 404
    # Mixing a workspace you are in with a project of another one is not found either.
    assert editor.client.get(f"/w/{tenant.workspace_id}/p/{other_tenant.project_id}/content").status_code == 404
    assert editor.client.get("/w/ws_nope/p/prj_nope/content").status_code == 404


def test_the_switcher_lists_every_workspace_and_project(app, tenant, other_tenant):
    make_user(app, tenant, "both@example.com", "editor")
    make_user(app, other_tenant, "both@example.com", "viewer")
    member = Member(app, "both@example.com", tenant)
    page = member.client.get(member.gallery_url).text
    assert f'href="/w/{other_tenant.workspace_id}/p/{other_tenant.project_id}/content"' in page
    assert 'aria-current="page">Website</a>' in page and "Other" in page and "viewer" in page


def test_signed_in_users_without_projects_are_told_so(app, tenant):
    from app.domain import accounts
    from app.extensions import db

    with app.app_context():
        lonely = accounts.create_workspace("Empty").id
        accounts.create_user("lonely@example.com", PASSWORD, lonely, "owner")
        db.session.commit()
    client = app.test_client()
    login(client, "lonely@example.com", PASSWORD)
    page = client.get("/")
    assert page.status_code == 200 and "No projects yet" in page.text
    assert client.get("/login").headers["Location"] == "/"
