"""Every route × every kind of caller answers as expected, writes happen only when allowed, CSRF guards every
session write, and another workspace's ids answer exactly like ids that do not exist.

The route list is checked against `app.url_map`: a new route fails `test_every_route_is_in_the_matrix` until a
case says who may call it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from security_support import ROLES, Caller, build_world, png, snapshot

A_MEMBERS = ("owner", "editor", "viewer")
TOKENS = ("token_read", "token_write", "other_token")
MISSING_FILE = "fil_01J0000000000000000000ZZZZ"
MISSING_WS = "ws_01J0000000000000000000ZZZZ"
MISSING_PRJ = "prj_01J0000000000000000000ZZZZ"
MISSING_WHK = "whk_01J0000000000000000000ZZZZ"
MISSING_MSG = "msg_01J0000000000000000000ZZZZ"


def expect(default: int | None = None, **by_role: int) -> dict[str, int]:
    table = dict.fromkeys(ROLES, default)
    for key, status in by_role.items():
        for role in key.split("__"):
            table[role] = status
    assert all(status is not None for status in table.values()), table
    return table


# Gallery (HTML) answers for each caller: members by role; no session (also a bearer token, which HTML ignores)
# is sent to sign in, or refused by CSRF before anything else on a write; a member of another workspace gets 404.
HTML_READ = expect(200, anon__token_read__token_write__other_token=401, other_session=404)
HTML_WRITE = expect(200, viewer=403, anon__token_read__token_write__other_token=400, other_session=404)
API_READ = expect(200, anon=401, other_token__other_session=404)
API_WRITE = expect(200, viewer=403, anon=401, token_read=403, other_token__other_session=404)
EVERYONE = expect(200)
# Webhooks are the owners' (or a write token's): editors and viewers are refused like read tokens.
API_OWNER = expect(200, editor__viewer__token_read=403, anon=401, other_token__other_session=404)


def webhook_leak(suffix: str = ""):
    return lambda w: (
        f"/api/webhooks/{w.b.webhook_id}{suffix.format(msg=w.b.delivery_id)}",
        f"/api/webhooks/{MISSING_WHK}{suffix.format(msg=MISSING_MSG)}",
    )


def gallery(world, side="a", suffix="") -> str:
    s = getattr(world, side)
    return f"/w/{s.workspace_id}/p/{s.project_id}/content{suffix}"


def upload_body(project_id: str) -> dict:
    return {
        "data": {"project_id": project_id, "file": (io.BytesIO(png()), "new.png")},
        "content_type": "multipart/form-data",
    }


def upload_url_path(world, app) -> str:
    from app.domain import uploads

    with app.app_context():
        row, secret = uploads.create_upload_url(
            world.a.workspace_id, world.a.project_id, uploads.Limits(1 << 20, 300, None, None)
        )
        return f"/api/uploads/{row.id}/{secret}"


def signed_blob(world, app) -> str:
    with app.app_context():
        return app.extensions["storage"].signed_url(f"{world.a.workspace_id}/{world.a.image_id}", 60)


@dataclass
class Case:
    endpoint: str
    method: str
    url: Callable
    expected: dict[str, int]
    body: Callable | None = None
    htmx: bool = False
    writes: bool = False  # a success changes the database, and anything else must change nothing
    # (url naming the other workspace's object, url naming a nonexistent one): must answer alike for every caller
    leak: Callable | None = None
    id: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.id = self.id or f"{self.method} {self.endpoint}"


def file_leak(template: str):
    return lambda w: (
        template.format(ws=w.a.workspace_id, prj=w.a.project_id, f=w.b.image_id, failed=w.b.failed_id),
        template.format(ws=w.a.workspace_id, prj=w.a.project_id, f=MISSING_FILE, failed=MISSING_FILE),
    )


def gallery_leak(suffix: str):
    return lambda w: (
        f"/w/{w.b.workspace_id}/p/{w.b.project_id}/content{suffix.format(f=w.b.image_id)}",
        f"/w/{MISSING_WS}/p/{MISSING_PRJ}/content{suffix.format(f=MISSING_FILE)}",
    )


def trash_a(world, app) -> None:
    """Puts workspace A's image in the trash, so restoring, purging or emptying has something to do."""
    from app.domain import trash
    from app.domain.files import File
    from app.extensions import db

    with app.app_context():
        trash.discard(db.session.get(File, world.a.image_id))
        db.session.commit()
        db.session.remove()


def trashed(path: str):
    """A URL about A's image once it is in the trash (world_for puts it there before anything is compared)."""

    def url(w, app) -> str:
        return path.format(ws=w.a.workspace_id, prj=w.a.project_id, f=w.a.image_id)

    url.needs_trash = True
    return url


def world_for(app, case):
    world = build_world(app)
    if getattr(case.url, "needs_trash", False):
        trash_a(world, app)
    return world


def trash_leak(suffix: str):
    return lambda w: (
        f"/w/{w.b.workspace_id}/p/{w.b.project_id}/trash{suffix.format(f=w.b.image_id)}",
        f"/w/{MISSING_WS}/p/{MISSING_PRJ}/trash{suffix.format(f=MISSING_FILE)}",
    )


G = "/w/{ws}/p/{prj}/content"
T = "/w/{ws}/p/{prj}/trash"
# The Trash page is for editors and owners: viewers get 403 there (they never had a delete to undo).
TRASH_READ = dict(HTML_READ, viewer=403)
CASES = [
    Case("static", "GET", lambda w, app: "/static/app.js", EVERYONE),
    Case("home.index", "GET", lambda w, app: "/", expect(302)),
    Case("home.healthz", "GET", lambda w, app: "/healthz", EVERYONE),
    Case("auth.login", "GET", lambda w, app: "/login", expect(200, owner__editor__viewer__other_session=302)),
    Case(
        "auth.login",
        "POST",
        lambda w, app: "/login",
        expect(400, owner__editor__viewer__other_session=401),
        body=lambda w: {"data": {"email": "owner@acme.example", "password": "wrong password"}},
    ),
    Case("auth.logout", "POST", lambda w, app: "/logout", expect(400, owner__editor__viewer__other_session=302)),
    Case("blobs.signed_blob", "GET", signed_blob, EVERYONE, id="GET blobs.signed_blob (signed)"),
    Case(
        "blobs.signed_blob",
        "GET",
        lambda w, app: f"/storage/{w.a.workspace_id}/{w.a.image_id}",
        expect(403),
        id="GET blobs.signed_blob (unsigned)",
    ),
    # The gallery.
    Case("gallery.index", "GET", lambda w, app: gallery(w), HTML_READ, htmx=True, leak=gallery_leak("")),
    Case(
        "gallery.upload",
        "POST",
        lambda w, app: gallery(w, suffix="/files"),
        dict(HTML_WRITE, owner=201, editor=201),
        body=lambda w: upload_body(w.a.project_id),
        htmx=True,
        writes=True,
        leak=gallery_leak("/files"),
    ),
    Case(
        "gallery.tile",
        "GET",
        lambda w, app: gallery(w, suffix=f"/files/{w.a.image_id}"),
        HTML_READ,
        htmx=True,
        leak=file_leak(G + "/files/{f}"),
    ),
    Case(
        "gallery.retry",
        "POST",
        lambda w, app: gallery(w, suffix=f"/files/{w.a.failed_id}/retry"),
        HTML_WRITE,
        htmx=True,
        writes=True,
        leak=file_leak(G + "/files/{failed}/retry"),
    ),
    Case(
        "gallery.retry_failed",
        "POST",
        lambda w, app: gallery(w, suffix="/retry-failed"),
        HTML_WRITE,
        htmx=True,
        writes=True,
        leak=gallery_leak("/retry-failed"),
    ),
    Case(
        "gallery.delete",
        "DELETE",
        lambda w, app: gallery(w, suffix=f"/files/{w.a.image_id}"),
        HTML_WRITE,
        htmx=True,
        writes=True,
        leak=file_leak(G + "/files/{f}"),
    ),
    Case(
        "gallery.delete_form",
        "POST",
        lambda w, app: gallery(w, suffix=f"/files/{w.a.image_id}/delete"),
        dict(HTML_WRITE, owner=302, editor=302),
        writes=True,
        leak=file_leak(G + "/files/{f}/delete"),
    ),
    Case(
        "gallery.details",
        "GET",
        lambda w, app: gallery(w, suffix=f"/files/{w.a.image_id}/details"),
        HTML_READ,
        htmx=True,
        leak=file_leak(G + "/files/{f}/details"),
    ),
    Case(
        "gallery.alt_text",
        "POST",
        lambda w, app: gallery(w, suffix=f"/files/{w.a.image_id}/alt"),
        HTML_WRITE,
        body=lambda w: {"data": {"alt_text": "A red square"}},
        htmx=True,
        writes=True,
        leak=file_leak(G + "/files/{f}/alt"),
    ),
    Case(
        "webhooks.index",
        "GET",
        lambda w, app: f"/w/{w.a.workspace_id}/webhooks",
        dict(HTML_READ, editor=403, viewer=403),
        htmx=True,
        leak=lambda w: (f"/w/{w.b.workspace_id}/webhooks", f"/w/{MISSING_WS}/webhooks"),
    ),
    # The trash (gallery).
    Case("trash.index", "GET", trashed(T), TRASH_READ, htmx=True, leak=trash_leak("")),
    Case(
        "trash.restore",
        "POST",
        trashed(T + "/files/{f}/restore"),
        HTML_WRITE,
        htmx=True,
        writes=True,
        leak=trash_leak("/files/{f}/restore"),
    ),
    Case(
        "trash.purge",
        "POST",
        trashed(T + "/files/{f}/purge"),
        HTML_WRITE,
        htmx=True,
        writes=True,
        leak=trash_leak("/files/{f}/purge"),
    ),
    Case("trash.empty", "POST", trashed(T + "/empty"), HTML_WRITE, htmx=True, writes=True, leak=trash_leak("/empty")),
    Case(
        "trash.undo",
        "POST",
        trashed(T + "/undo"),
        HTML_WRITE,
        htmx=True,
        writes=True,
        body=lambda w: {"data": {"file_id": w.a.image_id}},
        leak=trash_leak("/undo"),
    ),
    Case(
        "gallery.newer",
        "GET",
        lambda w, app: gallery(w, suffix="/newer?after=fil_0"),
        HTML_READ,
        htmx=True,
        leak=gallery_leak("/newer?after=fil_0"),
    ),
    Case(
        "gallery.tiles",
        "GET",
        lambda w, app: gallery(w, suffix=f"/tiles?ids={w.a.image_id}"),
        HTML_READ,
        htmx=True,
        leak=gallery_leak("/tiles?ids={f}"),
    ),
    Case(
        "gallery.rename",
        "POST",
        lambda w, app: gallery(w, suffix=f"/files/{w.a.image_id}/name"),
        HTML_WRITE,
        body=lambda w: {"data": {"name": "renamed.png"}},
        htmx=True,
        writes=True,
        leak=file_leak(G + "/files/{f}/name"),
    ),
    Case(
        "gallery.focal_point",
        "POST",
        lambda w, app: gallery(w, suffix=f"/files/{w.a.image_id}/focal"),
        HTML_WRITE,
        body=lambda w: {"data": {"x": "0.3", "y": "0.7"}},
        htmx=True,
        writes=True,
        leak=file_leak(G + "/files/{f}/focal"),
    ),
    Case(
        "gallery.bulk_action",
        "POST",
        lambda w, app: gallery(w, suffix="/bulk"),
        HTML_WRITE,
        body=lambda w: {"data": {"action": "delete", "ids": w.a.image_id}},
        htmx=True,
        writes=True,
        leak=gallery_leak("/bulk"),
    ),
    # Workspace settings: owners only.
    Case(
        "workspace_settings.show",
        "GET",
        lambda w, app: f"/w/{w.a.workspace_id}/settings",
        expect(200, editor__viewer=403, anon__token_read__token_write__other_token=401, other_session=404),
        htmx=True,
        leak=lambda w: (f"/w/{w.b.workspace_id}/settings", f"/w/{MISSING_WS}/settings"),
    ),
    Case(
        "workspace_settings.update",
        "POST",
        lambda w, app: f"/w/{w.a.workspace_id}/settings",
        expect(200, editor__viewer=403, anon__token_read__token_write__other_token=400, other_session=404),
        body=lambda w: {"data": {"trash_days": "10"}},
        htmx=True,
        writes=True,
        leak=lambda w: (f"/w/{w.b.workspace_id}/settings", f"/w/{MISSING_WS}/settings"),
    ),
    Case("favicon", "GET", lambda w, app: "/favicon.ico", expect(302)),
    # The JSON API.
    Case(
        "api.upload_file",
        "POST",
        lambda w, app: "/api/files",
        dict(API_WRITE, owner=201, editor=201, token_write=201, other_session=400),
        body=lambda w: upload_body(w.a.project_id),
        writes=True,
    ),
    Case(
        "api.list_files",
        "GET",
        lambda w, app: f"/api/files?workspace_id={w.a.workspace_id}",
        API_READ,
        leak=lambda w: (f"/api/files?workspace_id={w.b.workspace_id}", f"/api/files?workspace_id={MISSING_WS}"),
    ),
    Case(
        "api.get_file", "GET", lambda w, app: f"/api/files/{w.a.image_id}", API_READ, leak=file_leak("/api/files/{f}")
    ),
    Case(
        "api.file_content",
        "GET",
        lambda w, app: f"/api/files/{w.a.image_id}/content",
        expect(302, anon=401, other_token__other_session=404),
        leak=file_leak("/api/files/{f}/content"),
    ),
    Case(
        "api.delete_file",
        "DELETE",
        lambda w, app: f"/api/files/{w.a.image_id}",
        API_WRITE,
        writes=True,
        leak=file_leak("/api/files/{f}"),
    ),
    Case(
        "api.retry_file",
        "POST",
        lambda w, app: f"/api/files/{w.a.failed_id}/retry",
        dict(API_WRITE, owner=202, editor=202, token_write=202),
        writes=True,
        leak=file_leak("/api/files/{failed}/retry"),
    ),
    Case(
        "api.restore_file",
        "POST",
        trashed("/api/files/{f}/restore"),
        API_WRITE,
        writes=True,
        leak=file_leak("/api/files/{f}/restore"),
    ),
    Case(
        "api.list_trash",
        "GET",
        trashed("/api/trash?workspace_id={ws}"),
        API_READ,
        leak=lambda w: (f"/api/trash?workspace_id={w.b.workspace_id}", f"/api/trash?workspace_id={MISSING_WS}"),
    ),
    Case(
        "api.empty_trash",
        "DELETE",
        trashed("/api/trash?workspace_id={ws}"),
        API_WRITE,
        writes=True,
        leak=lambda w: (f"/api/trash?workspace_id={w.b.workspace_id}", f"/api/trash?workspace_id={MISSING_WS}"),
    ),
    Case(
        "api.list_images",
        "GET",
        lambda w, app: f"/api/images?workspace_id={w.a.workspace_id}",
        API_READ,
        leak=lambda w: (f"/api/images?workspace_id={w.b.workspace_id}", f"/api/images?workspace_id={MISSING_WS}"),
    ),
    Case("api.create_image", "POST", lambda w, app: "/api/images", expect(405)),
    Case(
        "api.get_image",
        "GET",
        lambda w, app: f"/api/images/{w.a.image_id}",
        API_READ,
        leak=file_leak("/api/images/{f}"),
    ),
    Case(
        "api.update_image",
        "PATCH",
        lambda w, app: f"/api/images/{w.a.image_id}",
        API_WRITE,
        writes=True,
        body=lambda w: {"json": {"altText": "A red square"}},
        leak=file_leak("/api/images/{f}"),
    ),
    Case(
        "api.delete_image",
        "DELETE",
        lambda w, app: f"/api/images/{w.a.image_id}",
        API_WRITE,
        writes=True,
        leak=file_leak("/api/images/{f}"),
    ),
    Case(
        "api.create_upload_url",
        "POST",
        lambda w, app: f"/api/uploads?workspace_id={w.a.workspace_id}",
        dict(API_WRITE, owner=201, editor=201, token_write=201),
        body=lambda w: {"json": {"projectId": w.a.project_id}},
        writes=True,
    ),
    # A one-time upload URL is its own permission: every caller (cookie, token or none) may use it, once.
    Case(
        "api.use_upload_url",
        "POST",
        lambda w, app: upload_url_path(w, app),
        expect(201),
        body=lambda w: upload_body(w.a.project_id),
        writes=True,
    ),
    Case("api.get_upload_url", "GET", lambda w, app: upload_url_path(w, app), EVERYONE),
    Case(
        "api.list_webhooks",
        "GET",
        lambda w, app: f"/api/webhooks?workspace_id={w.a.workspace_id}",
        API_OWNER,
        leak=lambda w: (f"/api/webhooks?workspace_id={w.b.workspace_id}", f"/api/webhooks?workspace_id={MISSING_WS}"),
    ),
    Case(
        "api.create_webhook",
        "POST",
        lambda w, app: f"/api/webhooks?workspace_id={w.a.workspace_id}",
        dict(API_OWNER, owner=201, token_write=201),
        body=lambda w: {"json": {"url": "https://1.1.1.1/new"}},
        writes=True,
    ),
    Case("api.get_webhook", "GET", lambda w, app: f"/api/webhooks/{w.a.webhook_id}", API_OWNER, leak=webhook_leak()),
    Case(
        "api.update_webhook",
        "PATCH",
        lambda w, app: f"/api/webhooks/{w.a.webhook_id}",
        API_OWNER,
        body=lambda w: {"json": {"description": "changed"}},
        writes=True,
        leak=webhook_leak(),
    ),
    Case(
        "api.delete_webhook",
        "DELETE",
        lambda w, app: f"/api/webhooks/{w.a.webhook_id}",
        API_OWNER,
        writes=True,
        leak=webhook_leak(),
    ),
    Case(
        "api.get_webhook_secret",
        "GET",
        lambda w, app: f"/api/webhooks/{w.a.webhook_id}/secret",
        API_OWNER,
        leak=webhook_leak("/secret"),
    ),
    Case(
        "api.list_webhook_deliveries",
        "GET",
        lambda w, app: f"/api/webhooks/{w.a.webhook_id}/deliveries",
        API_OWNER,
        leak=webhook_leak("/deliveries"),
    ),
    Case(
        "api.redeliver_webhook",
        "POST",
        lambda w, app: f"/api/webhooks/{w.a.webhook_id}/deliveries/{w.a.delivery_id}/redeliver",
        dict(API_OWNER, owner=202, token_write=202),
        writes=True,
        leak=webhook_leak("/deliveries/{msg}/redeliver"),
    ),
    Case(
        "api.test_webhook",
        "POST",
        lambda w, app: f"/api/webhooks/{w.a.webhook_id}/test",
        dict(API_OWNER, owner=202, token_write=202),
        writes=True,
        leak=webhook_leak("/test"),
    ),
    Case("api.openapi_document", "GET", lambda w, app: "/api/openapi.json", EVERYONE),
    Case("api.docs", "GET", lambda w, app: "/api/docs", EVERYONE),
]
# Uploads that name the other workspace's project answer like a project that does not exist.
UPLOAD_LEAKS = [
    ("api.upload_file", "/api/files"),
    ("gallery.upload", None),
]


def test_every_route_is_in_the_matrix(app):
    covered = {(case.endpoint, case.method) for case in CASES}
    routes = {
        (rule.endpoint, method) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    missing = sorted(routes - covered)
    assert not missing, f"routes with no authorization case (add them to CASES): {missing}"
    assert not covered - routes, f"cases for routes that no longer exist: {sorted(covered - routes)}"


def _call(app, world, case: Case, role: str, url: str | None = None, csrf: bool = True):
    caller = Caller(app, world, role)
    kwargs = case.body(world) if case.body else {}
    return caller.open(case.method, url or case.url(world, app), htmx=case.htmx, csrf=csrf, **kwargs)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_matrix(app, case):
    """Each caller gets the expected status; a write changes the database exactly when it is allowed."""
    wrong = []
    world = world_for(app, case)
    for role in ROLES:
        if case.writes:
            world = world_for(app, case)  # a fresh object for every caller, since an allowed write consumes it
        before = snapshot(app) if case.writes else None
        response = _call(app, world, case, role)
        if response.status_code != case.expected[role]:
            wrong.append(
                f"{role}: {response.status_code} (expected {case.expected[role]}) "
                f"{response.get_data(as_text=True)[:160]!r}"
            )
        if case.writes:
            changed = snapshot(app) != before
            allowed = 200 <= case.expected[role] < 400
            if changed != allowed:
                wrong.append(
                    f"{role}: the database {'changed' if changed else 'did not change'} on a {response.status_code}"
                )
    assert not wrong, f"{case.id}:\n  " + "\n  ".join(wrong)


WRITE_CASES = [
    case
    for case in CASES
    if case.method not in ("GET", "HEAD")
    and case.expected["owner"] < 400
    and case.endpoint not in ("api.create_image", "api.use_upload_url")
]


@pytest.mark.parametrize("case", WRITE_CASES, ids=lambda c: c.id)
def test_session_writes_need_the_csrf_token(app, case):
    """Signed-in writes without the X-CSRFToken header (or form field), or with a forged one, fail and change nothing."""
    world = world_for(app, case)
    before = snapshot(app)
    for forged in (None, "forged-token"):
        caller = Caller(app, world, "owner")
        kwargs = case.body(world) if case.body else {}
        headers = {"X-CSRFToken": forged} if forged else {}
        response = caller.open(case.method, case.url(world, app), htmx=case.htmx, csrf=False, headers=headers, **kwargs)
        assert response.status_code in (400, 403), (case.id, forged, response.status_code, response.get_data()[:200])
        body = response.get_data(as_text=True).lower()
        assert "csrf" in body or "security token" in body, body[:300]
        assert snapshot(app) == before, f"{case.id} changed the database without a valid CSRF token"
    # The same request with the page's token works, so the refusal above was the token's doing.
    assert _call(app, world, case, "owner").status_code < 400


def _normalised(response, *ids: str) -> str:
    text = response.get_data(as_text=True)
    # A caller without a session gets a fresh CSRF token on every page; that is not about the id.
    text = re.sub(r'(<meta name="csrf-token" content=")[^"]*"', r'\1"', text)
    text = re.sub(r'(name="csrf_token" value=")[^"]*"', r'\1"', text)
    text = re.sub(r'("X-CSRFToken": ")[^"]*"', r'\1"', text)
    for value in ids:
        text = text.replace(value, "<id>")
    return re.sub(r"\s+", " ", text)


LEAK_CASES = [case for case in CASES if case.leak]
# Everyone who is not a member of workspace B (B's own members may of course see B's objects).
A_SIDE = ("owner", "editor", "viewer", "anon", "token_read", "token_write")


@pytest.mark.parametrize("case", LEAK_CASES, ids=lambda c: c.id)
def test_other_workspaces_ids_answer_like_missing_ones(app, case):
    """Same status and same body (apart from the id) for another workspace's object and for no object at all."""
    world = world_for(app, case)
    theirs, missing = case.leak(world)
    before = snapshot(app)
    differences = []
    for role in A_SIDE:
        a = _call(app, world, case, role, url=theirs)
        b = _call(app, world, case, role, url=missing)
        ids = (
            world.b.image_id,
            world.b.failed_id,
            world.b.workspace_id,
            world.b.project_id,
            MISSING_FILE,
            MISSING_WS,
            MISSING_PRJ,
            world.b.webhook_id,
            world.b.delivery_id,
            MISSING_WHK,
            MISSING_MSG,
        )
        if a.status_code != b.status_code or _normalised(a, *ids) != _normalised(b, *ids):
            differences.append(
                f"{role}: theirs {a.status_code} {_normalised(a, *ids)[:200]!r} / "
                f"missing {b.status_code} {_normalised(b, *ids)[:200]!r}"
            )
        assert a.status_code >= 400 or a.status_code == 302 and "/login" in a.headers.get("Location", ""), (
            f"{role} reached the other workspace's object: {a.status_code}"
        )
    assert not differences, f"{case.id}:\n  " + "\n  ".join(differences)
    assert snapshot(app) == before, "a request naming another workspace's object changed something"


@pytest.mark.parametrize("role", ROLES[:6])
def test_uploads_naming_another_workspaces_project_answer_like_a_missing_project(app, role):
    world = build_world(app)
    answers = []
    for project_id in (world.b.project_id, MISSING_PRJ):
        caller = Caller(app, world, role)
        response = caller.open("POST", "/api/files", **upload_body(project_id))
        answers.append((response.status_code, _normalised(response, world.b.project_id, MISSING_PRJ)))
    assert answers[0] == answers[1]
    assert answers[0][0] in (400, 401, 403, 404), answers
