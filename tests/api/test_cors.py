"""CORS: allow-listed origins get the headers on /api, others none; preflights are answered; credentials never;
the session cookie never authenticates a request from another origin."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import cors_origin_list

ALLOWED = "http://app.example.test:5173"
OTHER = "https://evil.example.test"


@pytest.fixture
def cors_app(make_app):
    return make_app(cors_origins=f"{ALLOWED}, https://second.example.test")


def test_an_allowed_origin_gets_the_headers_and_never_credentials(cors_app, tenant):
    client = cors_app.test_client()
    response = client.get("/api/images", headers={**tenant.auth("read"), "Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.headers.get("Vary", "")
    problem = client.get("/api/images/fil_missing", headers={**tenant.auth("read"), "Origin": ALLOWED})
    assert problem.status_code == 404 and problem.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_another_origin_gets_no_cors_headers(cors_app, tenant):
    client = cors_app.test_client()
    response = client.get("/api/images", headers={**tenant.auth("read"), "Origin": OTHER})
    assert response.status_code == 200  # the server answers; the browser keeps the answer from the page
    assert not [name for name in response.headers.keys() if name.lower().startswith("access-control-")]  # noqa: SIM118


def test_the_gallery_pages_never_get_cors_headers(cors_app):
    response = cors_app.test_client().get("/login", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_is_answered_for_allowed_origins_only(cors_app):
    client = cors_app.test_client()
    asked = {
        "Origin": ALLOWED,
        "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    response = client.options("/api/images/fil_x", headers=asked)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "DELETE" in response.headers["Access-Control-Allow-Methods"]
    allowed_headers = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in response.headers
    refused = client.options("/api/images/fil_x", headers={**asked, "Origin": OTHER})
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_without_a_setting_there_is_no_cors_but_upload_urls_answer_any_origin(client, tenant):
    assert (
        "Access-Control-Allow-Origin"
        not in client.get("/api/images", headers={**tenant.auth("read"), "Origin": ALLOWED}).headers
    )
    made = client.post("/api/uploads", headers=tenant.auth(), json={"projectId": tenant.project_id}).json
    path = "/api/" + made["uploadUrl"].split("/api/", 1)[1]
    preflight = client.options(path, headers={"Origin": OTHER, "Access-Control-Request-Method": "POST"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    used = client.post(
        path,
        data={"file": (io.BytesIO(b"hello"), "a.txt")},
        content_type="multipart/form-data",
        headers={"Origin": OTHER},
    )
    assert used.status_code == 201 and used.headers["Access-Control-Allow-Origin"] == "*"


def test_a_wildcard_setting_allows_any_origin_still_without_credentials(make_app, tenant):
    client = make_app(cors_origins="*").test_client()
    response = client.get("/api/images", headers={**tenant.auth("read"), "Origin": OTHER})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize(
    "bad", ["app.example.com", "https://a.example.com/path", "*, https://a.example.com", "ftp://a.example.com"]
)
def test_bad_origin_settings_are_refused_at_start(make_app, bad):
    with pytest.raises(ValueError, match="CORS_ORIGINS"):
        make_app(cors_origins=bad)


def test_the_session_cookie_is_never_honoured_cross_origin(cors_app, tenant, app):
    """Even from an allowed origin, and even with a valid CSRF token, a cookie-only request is not signed in."""
    from itsdangerous import URLSafeTimedSerializer

    from app.domain import accounts
    from app.extensions import db

    with cors_app.app_context():
        user = accounts.create_user("cors@example.com", "correct horse battery", tenant.workspace_id, "owner")
        db.session.commit()
        user_id = user.id
    client = cors_app.test_client()
    with client.session_transaction() as session:
        session["user_id"] = user_id
        session["csrf_token"] = "raw-csrf"
    csrf = URLSafeTimedSerializer(cors_app.secret_key, salt="wtf-csrf-token").dumps("raw-csrf")
    own = client.get(f"/api/images?workspace_id={tenant.workspace_id}")
    assert own.status_code == 200  # same origin: the gallery's own calls still work
    for origin in (ALLOWED, OTHER):
        read = client.get(f"/api/images?workspace_id={tenant.workspace_id}", headers={"Origin": origin})
        assert read.status_code == 401, (origin, read.status_code)
        write = client.post(
            f"/api/files?workspace_id={tenant.workspace_id}",
            headers={"Origin": origin, "X-CSRFToken": csrf},
            data={"project_id": tenant.project_id, "file": (io.BytesIO(b"x"), "x.txt")},
            content_type="multipart/form-data",
        )
        assert write.status_code == 401, (origin, write.status_code)
        assert "Access-Control-Allow-Credentials" not in write.headers
    same = client.get(f"/api/images?workspace_id={tenant.workspace_id}", headers={"Origin": "http://localhost"})
    assert same.status_code == 200  # the test client's own host is this server's origin


_HOSTS = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]{1,10}){0,3}", fullmatch=True)
_ORIGINS = st.builds(
    lambda scheme, host, port: f"{scheme}://{host}" + (f":{port}" if port else ""),
    st.sampled_from(["http", "https"]),
    _HOSTS,
    st.one_of(st.none(), st.integers(1, 65535)),
)


@settings(max_examples=80, deadline=None)
@given(
    origins=st.lists(_ORIGINS, min_size=0, max_size=5),
    spaces=st.sampled_from(["", " ", "  "]),
    trailing=st.sampled_from(["", "/"]),
)
def test_origin_lists_parse_to_exactly_the_origins_given(origins, spaces, trailing):
    text = ",".join(f"{spaces}{origin}{trailing}{spaces}" for origin in origins)
    assert cors_origin_list(text) == origins


@settings(max_examples=80, deadline=None)
@given(junk=st.text(min_size=1, max_size=30).filter(lambda t: "," not in t and t.strip() not in ("", "*")))
def test_any_text_is_one_origin_or_a_clear_refusal(junk):
    try:
        parsed = cors_origin_list(junk)
    except ValueError as refused:
        assert "CORS_ORIGINS" in str(refused)
    else:
        assert parsed == [junk.strip().rstrip("/")] and parsed[0].startswith(("http://", "https://"))
        assert not any(char in parsed[0].split("://", 1)[1] for char in "/?#@ ")


@pytest.mark.parametrize("setting", [ALLOWED, f"{ALLOWED}, https://second.example.test", "*"])
def test_no_origin_no_cors_headers_and_every_answer_varies_on_origin(make_app, tenant, setting):
    """A request without `Origin` came from no page: it gets no CORS header. Every /api answer says `Vary: Origin`
    (with one allowed origin too), so a shared cache never hands one origin's answer to another."""
    client = make_app(cors_origins=setting).test_client()
    plain = client.get("/api/images", headers=tenant.auth("read"))
    assert plain.status_code == 200
    assert not [name for name in plain.headers.keys() if name.lower().startswith("access-control-")]  # noqa: SIM118
    assert "Origin" in plain.vary
    for origin in (ALLOWED, OTHER):
        answer = client.get("/api/images", headers={**tenant.auth("read"), "Origin": origin})
        assert "Origin" in answer.vary, (origin, answer.headers)
    allowed = client.get("/api/images", headers={**tenant.auth("read"), "Origin": ALLOWED})
    assert allowed.headers["Access-Control-Allow-Origin"] in (ALLOWED, "*")
    assert list(allowed.vary).count("Origin") == 1


def test_upload_urls_send_no_cors_header_without_an_origin(client, tenant):
    made = client.post("/api/uploads", headers=tenant.auth(), json={"projectId": tenant.project_id}).json
    path = "/api/" + made["uploadUrl"].split("/api/", 1)[1]
    answer = client.get(path)
    assert answer.status_code == 200 and "Access-Control-Allow-Origin" not in answer.headers
    assert "Origin" in answer.vary
    assert client.get(path, headers={"Origin": OTHER}).headers["Access-Control-Allow-Origin"] == "*"
