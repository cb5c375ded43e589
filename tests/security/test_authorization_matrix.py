"""Every route × every kind of caller answers as expected, writes happen only when allowed, CSRF guards every
session write, and another workspace's ids answer exactly like ids that do not exist.

The route list is checked against `app.url_map`: a new route fails `test_every_route_is_in_the_matrix` until a
case says who may call it.
"""

from __future__ import annotations

import base64
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
MISSING_COL = "col_01J0000000000000000000ZZZZ"
MISSING_VIEW = "viw_01J0000000000000000000ZZZZ"


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


def collection_leak(suffix: str = ""):
    return lambda w: (f"/api/collections/{w.b.collection_id}{suffix}", f"/api/collections/{MISSING_COL}{suffix}")


def workspace_leak(path: str):
    return lambda w: (f"{path}?workspace_id={w.b.workspace_id}", f"{path}?workspace_id={MISSING_WS}")


def view_leak(suffix: str = "", gallery_side: bool = False):
    """B's saved view or none at all, by the API (`/api/views/…`) or in A's gallery (`/w/A/p/A/views/…`)."""

    def urls(w):
        base = f"/w/{w.a.workspace_id}/p/{w.a.project_id}/views" if gallery_side else "/api/views"
        return f"{base}/{w.b.view_id}{suffix}", f"{base}/{MISSING_VIEW}{suffix}"

    return urls


def gallery(world, side="a", suffix="") -> str:
    s = getattr(world, side)
    return f"/w/{s.workspace_id}/p/{s.project_id}/content{suffix}"


def upload_body(project_id: str) -> dict:
    # Other bytes than the world's image: the same bytes would answer the existing file (an exact duplicate).
    return {
        "data": {"project_id": project_id, "file": (io.BytesIO(png(color=(20, 160, 90))), "new.png")},
        "content_type": "multipart/form-data",
    }


def upload_url_path(world, app) -> str:
    from app.domain import upload_urls

    with app.app_context():
        row, secret = upload_urls.create_upload_url(
            world.a.workspace_id, world.a.project_id, upload_urls.Limits(1 << 20, 300, None, None)
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


def twin_a(world, app) -> None:
    """A second image in workspace A with the same perceptual hash as its image (`world.a.twin_id`), to merge."""
    from app.domain.common import new_id
    from app.domain.files import File
    from app.domain.images import Image
    from app.extensions import db

    with app.app_context():
        file = db.session.get(File, world.a.image_id)
        image = db.session.get(Image, world.a.image_id)
        twin = new_id("fil")
        db.session.add(
            File(
                id=twin,
                workspace_id=file.workspace_id,
                project_id=file.project_id,
                name="twin.png",
                mime_type=file.mime_type,
                size=file.size,
                sha256="0" * 64,
                storage_key=f"{file.workspace_id}/{twin}",
                status="ready",
            )
        )
        db.session.flush()
        copy = Image(file_id=twin, workspace_id=file.workspace_id, cf_image_id=twin, width=32, height=24, size=1)
        copy.format, copy.exif, copy.alt_text = "png", {}, "A twin"
        copy.set_phash(0x0F0F_0F0F_0F0F_0F0F)
        image.set_phash(0x0F0F_0F0F_0F0F_0F0F)
        db.session.add(copy)
        db.session.commit()
        db.session.remove()
    world.a.twin_id = twin


def with_twin(path: str):
    """A URL about A's image once a near duplicate of it exists (world_for makes it)."""

    def url(w, app) -> str:
        return path.format(ws=w.a.workspace_id, prj=w.a.project_id, f=w.a.image_id)

    url.needs_twin = True
    return url


def tus_uploads(world, app) -> None:
    """A resumable upload in each workspace (world.a.tus_id, world.b.tus_id), made before anything is compared."""
    from app.domain import resumable, upload_urls

    with app.app_context():
        for side in (world.a, world.b):
            side.tus_id = resumable.create(side.workspace_id, side.project_id, 10, {}, "test").id
        url, secret = upload_urls.create_upload_url(
            world.a.workspace_id, world.a.project_id, upload_urls.Limits(1 << 20, 300, None, None)
        )
        upload_urls.claim_for_resumable(url)
        piece = resumable.create(url.workspace_id, url.project_id, 10, {}, resumable.UPLOAD_URL_CREATOR + url.id)
        world.a.tus_url_path = f"/api/uploads/{url.id}/{secret}/tus/{piece.id}"


def tus_through_url(w, app) -> str:
    if not hasattr(w.a, "tus_url_path"):
        tus_uploads(w, app)
    return w.a.tus_url_path


tus_through_url.needs_tus = True


def tus_url(w, app) -> str:
    if not hasattr(w.a, "tus_id"):  # a world built without world_for (the headers test)
        tus_uploads(w, app)
    return f"/api/tus/{w.a.tus_id}"


tus_url.needs_tus = True
TUS_HEADERS = {"Tus-Resumable": "1.0.0"}
MISSING_TUS = "tus_01J0000000000000000000ZZZZ"


def tus_body(project_id: str | None = None, data: bytes = b""):
    def body(w) -> dict:
        headers = dict(TUS_HEADERS)
        if project_id is not None:
            headers["Upload-Length"] = "10"
            headers["Upload-Metadata"] = (
                "project_id " + base64.b64encode(getattr(w, project_id).project_id.encode()).decode()
            )
        if data:
            headers.update({"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        return {"headers": headers, "data": data}

    return body


def world_for(app, case):
    world = build_world(app)
    if getattr(case.url, "needs_trash", False):
        trash_a(world, app)
    if getattr(case.url, "needs_twin", False):
        twin_a(world, app)
    if getattr(case.url, "needs_tus", False):
        tus_uploads(world, app)
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
    Case("static", "GET", lambda w, app: "/static/js/main.js", EVERYONE),
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
    # Members who may write reach the fetch, which refuses the loopback address (no URL_IMPORT_ALLOW here): 400
    # with the reason; tests/web/test_web_import_url.py imports for real.
    Case(
        "gallery.import_url",
        "POST",
        lambda w, app: gallery(w, suffix="/import"),
        dict(HTML_WRITE, owner=400, editor=400),
        body=lambda w: {"data": {"url": "http://127.0.0.1:9/photo.jpg"}},
        htmx=True,
        writes=True,
        leak=gallery_leak("/import"),
    ),
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
        "gallery.versions_section",
        "GET",
        lambda w, app: gallery(w, suffix=f"/files/{w.a.image_id}/versions"),
        HTML_READ,
        htmx=True,
        leak=file_leak(G + "/files/{f}/versions"),
    ),
    Case(
        "gallery.replace",
        "POST",
        lambda w, app: gallery(w, suffix=f"/files/{w.a.image_id}/replace"),
        HTML_WRITE,
        body=lambda w: {"data": {"file": (io.BytesIO(png()), "new.png")}, "content_type": "multipart/form-data"},
        htmx=True,
        writes=True,
        leak=file_leak(G + "/files/{f}/replace"),
    ),
    # Version 1 is current: a member who may restore is told why not (409) and nothing changes.
    Case(
        "gallery.restore_version",
        "POST",
        lambda w, app: gallery(w, suffix=f"/files/{w.a.image_id}/versions/1/restore"),
        dict(HTML_WRITE, owner=409, editor=409),
        htmx=True,
        leak=file_leak(G + "/files/{f}/versions/1/restore"),
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
        "organise.create_collection",
        "POST",
        lambda w, app: f"/w/{w.a.workspace_id}/p/{w.a.project_id}/collections",
        HTML_WRITE,
        body=lambda w: {"data": {"name": "New"}},
        htmx=True,
        writes=True,
        leak=lambda w: (
            f"/w/{w.b.workspace_id}/p/{w.b.project_id}/collections",
            f"/w/{MISSING_WS}/p/{MISSING_PRJ}/collections",
        ),
    ),
    Case(
        "organise.rename_collection",
        "POST",
        lambda w, app: f"/w/{w.a.workspace_id}/p/{w.a.project_id}/collections/{w.a.collection_id}/rename",
        HTML_WRITE,
        body=lambda w: {"data": {"name": "Renamed"}},
        htmx=True,
        writes=True,
        leak=lambda w: (
            f"/w/{w.a.workspace_id}/p/{w.a.project_id}/collections/{w.b.collection_id}/rename",
            f"/w/{w.a.workspace_id}/p/{w.a.project_id}/collections/{MISSING_COL}/rename",
        ),
    ),
    Case(
        "organise.delete_collection",
        "POST",
        lambda w, app: f"/w/{w.a.workspace_id}/p/{w.a.project_id}/collections/{w.a.collection_id}/delete",
        HTML_WRITE,
        htmx=True,
        writes=True,
        leak=lambda w: (
            f"/w/{w.a.workspace_id}/p/{w.a.project_id}/collections/{w.b.collection_id}/delete",
            f"/w/{w.a.workspace_id}/p/{w.a.project_id}/collections/{MISSING_COL}/delete",
        ),
    ),
    Case(
        "organise.add_images",
        "POST",
        lambda w, app: f"/w/{w.a.workspace_id}/p/{w.a.project_id}/collections/{w.a.empty_collection_id}/images",
        HTML_WRITE,
        body=lambda w: {"data": {"ids": [w.a.image_id]}},
        htmx=True,
        writes=True,
        leak=lambda w: (
            f"/w/{w.a.workspace_id}/p/{w.a.project_id}/collections/{w.b.empty_collection_id}/images",
            f"/w/{w.a.workspace_id}/p/{w.a.project_id}/collections/{MISSING_COL}/images",
        ),
    ),
    Case(
        "organise.image_collections",
        "POST",
        lambda w, app: gallery(w, suffix=f"/files/{w.a.image_id}/collections"),
        HTML_WRITE,
        body=lambda w: {"data": {"collection_id": w.a.empty_collection_id}},
        htmx=True,
        writes=True,
        leak=file_leak(G + "/files/{f}/collections"),
    ),
    Case(
        "organise.set_tags",
        "POST",
        lambda w, app: gallery(w, suffix=f"/files/{w.a.image_id}/tags"),
        HTML_WRITE,
        body=lambda w: {"data": {"tags": "blue, green"}},
        htmx=True,
        writes=True,
        leak=file_leak(G + "/files/{f}/tags"),
    ),
    Case(
        "organise.suggest_tags",
        "GET",
        lambda w, app: f"/w/{w.a.workspace_id}/p/{w.a.project_id}/tags/suggest?tags=r",
        HTML_READ,
        htmx=True,
        leak=lambda w: (
            f"/w/{w.b.workspace_id}/p/{w.b.project_id}/tags/suggest?tags=r",
            f"/w/{MISSING_WS}/p/{MISSING_PRJ}/tags/suggest?tags=r",
        ),
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
    Case(
        "duplicates.index",
        "GET",
        with_twin("/w/{ws}/p/{prj}/duplicates"),
        HTML_READ,
        htmx=True,
        leak=lambda w: (
            f"/w/{w.b.workspace_id}/p/{w.b.project_id}/duplicates",
            f"/w/{MISSING_WS}/p/{MISSING_PRJ}/duplicates",
        ),
    ),
    Case(
        "duplicates.merge",
        "POST",
        with_twin("/w/{ws}/p/{prj}/duplicates/merge"),
        HTML_WRITE,
        htmx=True,
        writes=True,
        body=lambda w: {"data": {"keep": w.a.image_id, "member": [w.a.image_id, w.a.twin_id]}},
        leak=lambda w: (
            f"/w/{w.b.workspace_id}/p/{w.b.project_id}/duplicates/merge",
            f"/w/{MISSING_WS}/p/{MISSING_PRJ}/duplicates/merge",
        ),
    ),
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
        "gallery.counts",
        "GET",
        lambda w, app: gallery(w, suffix="/counts?status=failed"),
        HTML_READ,
        htmx=True,
        leak=gallery_leak("/counts"),
    ),
    Case(
        "gallery.facets",
        "GET",
        lambda w, app: gallery(w, suffix="/facets?orientation=landscape"),
        HTML_READ,
        htmx=True,
        leak=gallery_leak("/facets"),
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
        "gallery.set_crop",
        "POST",
        lambda w, app: gallery(w, suffix=f"/files/{w.a.image_id}/crops"),
        HTML_WRITE,
        body=lambda w: {"data": {"save": "card", "card-x": "0", "card-y": "0", "card-width": "1", "card-height": "1"}},
        htmx=True,
        writes=True,
        leak=file_leak(G + "/files/{f}/crops"),
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
    # Saved views (gallery): every member saves their own and opens anyone's in the workspace; only the owner
    # renames or deletes one (A's view is its owner's).
    Case(
        "saved_views.create",
        "POST",
        lambda w, app: f"/w/{w.a.workspace_id}/p/{w.a.project_id}/views",
        dict(HTML_WRITE, owner=302, editor=302, viewer=302),
        body=lambda w: {"data": {"name": "Mine", "sort": "name", "layout": "table"}},
        writes=True,
        leak=lambda w: (
            f"/w/{w.b.workspace_id}/p/{w.b.project_id}/views",
            f"/w/{MISSING_WS}/p/{MISSING_PRJ}/views",
        ),
    ),
    Case(
        "saved_views.open_view",
        "GET",
        lambda w, app: f"/w/{w.a.workspace_id}/p/{w.a.project_id}/views/{w.a.view_id}",
        expect(302, anon__token_read__token_write__other_token=401, other_session=404),
        htmx=True,
        leak=view_leak(gallery_side=True),
    ),
    Case(
        "saved_views.rename",
        "POST",
        lambda w, app: f"/w/{w.a.workspace_id}/p/{w.a.project_id}/views/{w.a.view_id}/rename",
        dict(HTML_WRITE, owner=302, editor=403, viewer=403),
        body=lambda w: {"data": {"name": "Renamed"}},
        writes=True,
        leak=view_leak("/rename", gallery_side=True),
    ),
    Case(
        "saved_views.delete",
        "POST",
        lambda w, app: f"/w/{w.a.workspace_id}/p/{w.a.project_id}/views/{w.a.view_id}/delete",
        dict(HTML_WRITE, owner=302, editor=403, viewer=403),
        writes=True,
        leak=view_leak("/delete", gallery_side=True),
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
    Case(
        "workspace_settings.update_crop_presets",
        "POST",
        lambda w, app: f"/w/{w.a.workspace_id}/settings/crop-presets",
        expect(200, editor__viewer=403, anon__token_read__token_write__other_token=400, other_session=404),
        body=lambda w: {"data": {"preset-0-name": "wide", "preset-0-ratio": "21:9"}},
        htmx=True,
        writes=True,
        leak=lambda w: (
            f"/w/{w.b.workspace_id}/settings/crop-presets",
            f"/w/{MISSING_WS}/settings/crop-presets",
        ),
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
        "api.replace_file_content",
        "PUT",
        lambda w, app: f"/api/files/{w.a.image_id}/content",
        dict(API_WRITE, owner=202, editor=202, token_write=202),
        body=lambda w: {"data": {"file": (io.BytesIO(png()), "new.png")}, "content_type": "multipart/form-data"},
        writes=True,
        leak=file_leak("/api/files/{f}/content"),
    ),
    Case(
        "api.list_file_versions",
        "GET",
        lambda w, app: f"/api/files/{w.a.image_id}/versions",
        API_READ,
        leak=file_leak("/api/files/{f}/versions"),
    ),
    Case(
        "api.get_file_version",
        "GET",
        lambda w, app: f"/api/files/{w.a.image_id}/versions/1",
        API_READ,
        leak=file_leak("/api/files/{f}/versions/1"),
    ),
    # Version 1 is the current one, so a caller who may restore is told so (409) and nothing changes.
    Case(
        "api.restore_file_version",
        "POST",
        lambda w, app: f"/api/files/{w.a.image_id}/versions/1/restore",
        dict(API_WRITE, owner=409, editor=409, token_write=409),
        leak=file_leak("/api/files/{f}/versions/1/restore"),
    ),
    # The stable delivery URL: public like the images service's own URLs, a redirect to the current version.
    Case("delivery.stable", "GET", lambda w, app: f"/i/{w.a.image_id}/public", expect(302)),
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
    Case(
        "api.image_facets",
        "GET",
        lambda w, app: f"/api/images/facets?workspace_id={w.a.workspace_id}",
        API_READ,
        leak=lambda w: (
            f"/api/images/facets?workspace_id={w.b.workspace_id}",
            f"/api/images/facets?workspace_id={MISSING_WS}",
        ),
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
        "api.list_collections",
        "GET",
        lambda w, app: f"/api/collections?workspace_id={w.a.workspace_id}",
        API_READ,
        leak=workspace_leak("/api/collections"),
    ),
    Case(
        "api.create_collection",
        "POST",
        lambda w, app: f"/api/collections?workspace_id={w.a.workspace_id}",
        dict(API_WRITE, owner=201, editor=201, token_write=201),
        body=lambda w: {"json": {"projectId": w.a.project_id, "name": "New"}},
        writes=True,
        leak=workspace_leak("/api/collections"),
    ),
    Case(
        "api.get_collection",
        "GET",
        lambda w, app: f"/api/collections/{w.a.collection_id}",
        API_READ,
        leak=collection_leak(),
    ),
    Case(
        "api.rename_collection",
        "PATCH",
        lambda w, app: f"/api/collections/{w.a.collection_id}",
        API_WRITE,
        body=lambda w: {"json": {"name": "Renamed"}},
        writes=True,
        leak=collection_leak(),
    ),
    Case(
        "api.delete_collection",
        "DELETE",
        lambda w, app: f"/api/collections/{w.a.collection_id}",
        dict(API_WRITE, owner=204, editor=204, token_write=204),
        writes=True,
        leak=collection_leak(),
    ),
    Case(
        "api.add_collection_images",
        "POST",
        lambda w, app: f"/api/collections/{w.a.empty_collection_id}/images",
        API_WRITE,
        body=lambda w: {"json": {"ids": [w.a.image_id]}},
        writes=True,
        leak=lambda w: (
            f"/api/collections/{w.b.empty_collection_id}/images",
            f"/api/collections/{MISSING_COL}/images",
        ),
    ),
    Case(
        "api.remove_collection_images",
        "DELETE",
        lambda w, app: f"/api/collections/{w.a.collection_id}/images",
        API_WRITE,
        body=lambda w: {"json": {"ids": [w.a.image_id]}},
        writes=True,
        leak=collection_leak("/images"),
    ),
    Case(
        "api.list_tags",
        "GET",
        lambda w, app: f"/api/tags?workspace_id={w.a.workspace_id}&prefix=r",
        API_READ,
        leak=workspace_leak("/api/tags"),
    ),
    Case(
        "api.change_image_tags",
        "POST",
        lambda w, app: f"/api/images/tags?workspace_id={w.a.workspace_id}",
        API_WRITE,
        body=lambda w: {"json": {"ids": [w.a.image_id], "add": ["blue"], "remove": ["red"]}},
        writes=True,
        leak=workspace_leak("/api/images/tags"),
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
        "api.similar_images",
        "GET",
        with_twin("/api/images/{f}/similar"),
        API_READ,
        leak=file_leak("/api/images/{f}/similar"),
    ),
    Case(
        "api.list_duplicate_groups",
        "GET",
        with_twin("/api/duplicates?workspace_id={ws}"),
        API_READ,
        leak=lambda w: (
            f"/api/duplicates?workspace_id={w.b.workspace_id}",
            f"/api/duplicates?workspace_id={MISSING_WS}",
        ),
    ),
    Case(
        "api.merge_duplicates",
        "POST",
        with_twin("/api/duplicates/merge?workspace_id={ws}"),
        API_WRITE,
        body=lambda w: {"json": {"keep": w.a.image_id, "merge": [w.a.twin_id]}},
        writes=True,
        leak=lambda w: (
            f"/api/duplicates/merge?workspace_id={w.b.workspace_id}",
            f"/api/duplicates/merge?workspace_id={MISSING_WS}",
        ),
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
        body=lambda w: {
            "data": {"file": (io.BytesIO(png(color=(20, 160, 90))), "new.png")},
            "content_type": "multipart/form-data",
        },
        writes=True,
    ),
    Case("api.get_upload_url", "GET", lambda w, app: upload_url_path(w, app), EVERYONE),
    Case(
        "api.get_crop_presets",
        "GET",
        lambda w, app: f"/api/workspace/crop-presets?workspace_id={w.a.workspace_id}",
        API_READ,
        leak=lambda w: (
            f"/api/workspace/crop-presets?workspace_id={w.b.workspace_id}",
            f"/api/workspace/crop-presets?workspace_id={MISSING_WS}",
        ),
    ),
    Case(
        "api.put_crop_presets",
        "PUT",
        lambda w, app: f"/api/workspace/crop-presets?workspace_id={w.a.workspace_id}",
        API_OWNER,
        body=lambda w: {"json": {"data": [{"name": "wide", "ratio": "21:9", "minWidth": None}]}},
        writes=True,
        leak=lambda w: (
            f"/api/workspace/crop-presets?workspace_id={w.b.workspace_id}",
            f"/api/workspace/crop-presets?workspace_id={MISSING_WS}",
        ),
    ),
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
    Case(
        "api.tus_create",
        "POST",
        lambda w, app: "/api/tus",
        dict(API_WRITE, owner=201, editor=201, token_write=201, other_session=400),
        body=tus_body("a"),
        writes=True,
    ),
    Case("api.tus_options", "OPTIONS", lambda w, app: "/api/tus", expect(204)),
    Case(
        "api.tus_offset",
        "HEAD",
        tus_url,
        dict(API_WRITE, owner=200, editor=200, token_write=200),
        body=tus_body(),
        leak=lambda w: (f"/api/tus/{w.b.tus_id}", f"/api/tus/{MISSING_TUS}"),
    ),
    Case(
        "api.tus_append",
        "PATCH",
        tus_url,
        dict(API_WRITE, owner=204, editor=204, token_write=204),
        body=tus_body(data=b"abc"),
        writes=True,
        leak=lambda w: (f"/api/tus/{w.b.tus_id}", f"/api/tus/{MISSING_TUS}"),
    ),
    Case(
        "api.tus_terminate",
        "DELETE",
        tus_url,
        dict(API_WRITE, owner=204, editor=204, token_write=204),
        body=tus_body(),
        writes=True,
        leak=lambda w: (f"/api/tus/{w.b.tus_id}", f"/api/tus/{MISSING_TUS}"),
    ),
    # A resumable upload a one-time upload URL started: the URL's secret is the permission, for every caller.
    Case("api.tus_upload_url_offset", "HEAD", tus_through_url, expect(200), body=tus_body()),
    Case("api.tus_upload_url_append", "PATCH", tus_through_url, expect(204), body=tus_body(data=b"abc"), writes=True),
    Case("api.tus_upload_url_terminate", "DELETE", tus_through_url, expect(204), body=tus_body(), writes=True),
    # Saved views (API): a caller's own (a user's, or a token's); `read` is enough to save one; anyone in the
    # workspace gets or runs a view by id; only its owner (A's owner) renames or deletes it.
    Case(
        "api.list_views",
        "GET",
        lambda w, app: f"/api/views?workspace_id={w.a.workspace_id}",
        API_READ,
        leak=lambda w: (f"/api/views?workspace_id={w.b.workspace_id}", f"/api/views?workspace_id={MISSING_WS}"),
    ),
    Case(
        "api.create_view",
        "POST",
        lambda w, app: f"/api/views?workspace_id={w.a.workspace_id}",
        expect(201, anon=401, other_token__other_session=404),
        body=lambda w: {"json": {"projectId": w.a.project_id, "name": "Mine", "query": "sort=-size"}},
        writes=True,
    ),
    Case("api.get_view", "GET", lambda w, app: f"/api/views/{w.a.view_id}", API_READ, leak=view_leak()),
    Case(
        "api.run_view",
        "GET",
        lambda w, app: f"/api/views/{w.a.view_id}/images",
        API_READ,
        leak=view_leak("/images"),
    ),
    Case(
        "api.rename_view",
        "PATCH",
        lambda w, app: f"/api/views/{w.a.view_id}",
        expect(200, editor__viewer__token_read__token_write=403, anon=401, other_token__other_session=404),
        body=lambda w: {"json": {"name": "Renamed"}},
        writes=True,
        leak=view_leak(),
    ),
    Case(
        "api.delete_view",
        "DELETE",
        lambda w, app: f"/api/views/{w.a.view_id}",
        expect(200, editor__viewer__token_read__token_write=403, anon=401, other_token__other_session=404),
        writes=True,
        leak=view_leak(),
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
    # A HEAD or OPTIONS a route serves itself (tus), not the ones Flask adds to every GET and every route.
    routes |= {(rule.endpoint, "HEAD") for rule in app.url_map.iter_rules() if rule.methods == {"HEAD", "OPTIONS"}}
    routes |= {(rule.endpoint, "OPTIONS") for rule in app.url_map.iter_rules() if rule.methods == {"OPTIONS"}}
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
    and not case.endpoint.startswith(("api.tus_upload_url_", "api.tus_options"))
]


@pytest.mark.parametrize("case", WRITE_CASES, ids=lambda c: c.id)
def test_session_writes_need_the_csrf_token(app, case):
    """Signed-in writes without the X-CSRFToken header (or form field), or with a forged one, fail and change nothing."""
    world = world_for(app, case)
    before = snapshot(app)
    for forged in (None, "forged-token"):
        caller = Caller(app, world, "owner")
        kwargs = case.body(world) if case.body else {}
        headers = {**kwargs.pop("headers", {}), **({"X-CSRFToken": forged} if forged else {})}
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
            getattr(world.b, "tus_id", MISSING_TUS),
            MISSING_TUS,
            world.b.collection_id,
            world.b.empty_collection_id,
            MISSING_COL,
            world.b.view_id,
            MISSING_VIEW,
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
