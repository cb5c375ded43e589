"""A small two-workspace world for the security tests: members of each role, tokens, files and images, fast.

Users are inserted with one password hash computed once (scrypt per user would cost seconds per test); signing in
is done the way the gallery tests do it, by putting the user id and a CSRF secret in the test client's session.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field

from itsdangerous import URLSafeTimedSerializer
from PIL import Image as PILImage
from werkzeug.security import generate_password_hash

PASSWORD = "correct horse battery"
PASSWORD_HASH = generate_password_hash(PASSWORD)
ROLES = ("owner", "editor", "viewer", "anon", "token_read", "token_write", "other_token", "other_session")
SESSION_ROLES = ("owner", "editor", "viewer", "other_session")
_serial = itertools.count(1)


def png(size=(32, 24), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


@dataclass
class Side:
    """One workspace: its project, tokens, an image file and a file whose provisioning failed."""

    workspace_id: str
    project_id: str
    write_token: str
    read_token: str
    image_id: str
    failed_id: str
    users: dict = field(default_factory=dict)
    webhook_id: str = ""
    delivery_id: str = ""
    collection_id: str = ""  # holds the image, which is tagged "red"
    empty_collection_id: str = ""
    view_id: str = ""
    twin_id: str = ""  # a near duplicate of the image, made by the matrix cases that merge (twin_a)


@dataclass
class World:
    a: Side
    b: Side


def _spool(app, data: bytes):
    from app.domain.files import UploadSpool

    spool = UploadSpool(app.config["UPLOAD_TMP_DIR"], app.config["MAX_UPLOAD_BYTES"])
    spool.write(data)
    return spool


def _side(app, name: str, roles: tuple[str, ...]) -> Side:
    from app.domain import accounts, files
    from app.domain.images import Image, Provisioning
    from app.extensions import db

    n = next(_serial)
    ws = accounts.create_workspace(f"{name} {n}")
    prj = accounts.create_project(ws.id, "Website")
    _, write = accounts.create_token(ws.id, "write")
    _, read = accounts.create_token(ws.id, "read")
    users = {}
    for role in roles:
        user = accounts.User(email=f"{role}-{n}@{name.lower()}.example", password_hash=PASSWORD_HASH)
        db.session.add(user)
        db.session.flush()
        db.session.add(accounts.Membership(user_id=user.id, workspace_id=ws.id, role=role))
        users[role] = user.id
    db.session.commit()
    image = files.store_upload(ws.id, prj.id, _spool(app, png()), "photo.png")
    db.session.add(
        Image(
            file_id=image.id,
            workspace_id=ws.id,
            cf_image_id=image.id,
            width=32,
            height=24,
            size=image.size,
            format="png",
            exif={},
            require_signed_urls=False,
        )
    )
    db.session.add(Provisioning(file_id=image.id, workspace_id=ws.id, state="done", attempts=1, cf_image_id=image.id))
    failed = files.store_upload(ws.id, prj.id, _spool(app, png(color=(0, 90, 0))), "broken.png")
    failed.status, failed.error_code, failed.error_message = "error", "images_unavailable", "The service was away."
    db.session.add(
        Provisioning(
            file_id=failed.id, workspace_id=ws.id, state="failed", attempts=3, last_error="The service was away."
        )
    )
    db.session.commit()
    webhook_id, delivery_id = _webhook(ws.id)
    full, empty = _organised(ws.id, prj.id, image.id)
    view_id = _saved_view(ws.id, prj.id, users["owner"])
    return Side(ws.id, prj.id, write, read, image.id, failed.id, users, webhook_id, delivery_id, full, empty, view_id)


def _organised(workspace_id: str, project_id: str, image_id: str) -> tuple[str, str]:
    """A collection holding the image (tagged "red") and an empty one."""
    from app.domain import organise

    full = organise.create_collection(workspace_id, project_id, "Picks").id
    organise.add_to_collection(workspace_id, full, ids=[image_id])
    organise.change_tags(workspace_id, ids=[image_id], add=["red"])
    return full, organise.create_collection(workspace_id, project_id, "Empty").id


def _saved_view(workspace_id: str, project_id: str, user_id: str) -> str:
    """The owner's saved view of the project (others in the workspace may open it, only the owner change it)."""
    from app.domain import saved_views

    owner = saved_views.Owner(user_id=user_id)
    return saved_views.create_view(workspace_id, owner, project_id, "By name", "sort=name", "table").id


def _webhook(workspace_id: str) -> tuple[str, str]:
    """An endpoint (a public literal address, never contacted here) with one delivered message."""
    from app.domain import webhooks
    from app.domain.common import isoformat, new_id, utcnow
    from app.extensions import db

    endpoint, _ = webhooks.create_endpoint(workspace_id, "https://1.1.1.1/hooks")
    now = utcnow()
    delivery = webhooks.WebhookDelivery(
        id=new_id("msg"),
        endpoint_id=endpoint.id,
        event_id=new_id("evt"),
        event_type="image.created",
        payload={"type": "image.created", "timestamp": isoformat(now), "data": {}},  # as webhooks send it
        state="succeeded",
        attempts=1,
        next_attempt_at=now,
        pending_since=now,
        created_at=now,
    )
    db.session.add(delivery)
    db.session.commit()
    return endpoint.id, delivery.id


def build_world(app) -> World:
    with app.app_context():
        a = _side(app, "Acme", ("owner", "editor", "viewer"))
        b = _side(app, "Other", ("owner",))
        return World(a, b)


class Caller:
    """A test client acting as one role: a signed-in session (with its CSRF token) or a bearer token or nobody."""

    def __init__(self, app, world: World, role: str):
        self.role = role
        self.client = app.test_client()
        self.headers: dict[str, str] = {}
        self.csrf = None
        user_id = {"other_session": world.b.users["owner"]}.get(role) or world.a.users.get(role)
        if role in SESSION_ROLES:
            raw = f"csrf-secret-{role}"
            with self.client.session_transaction() as session:
                session["user_id"] = user_id
                session["csrf_token"] = raw
            self.csrf = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)
        token = {
            "token_read": world.a.read_token,
            "token_write": world.a.write_token,
            "other_token": world.b.write_token,
        }.get(role)
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def open(self, method: str, url: str, *, csrf: bool = True, htmx: bool = False, **kwargs):
        headers = dict(self.headers)
        if csrf and self.csrf and method not in ("GET", "HEAD", "OPTIONS"):
            headers["X-CSRFToken"] = self.csrf
        if htmx:
            headers["HX-Request"] = "true"
        headers.update(kwargs.pop("headers", {}))
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        response.get_data()  # read and close now (static files and blobs hold a file open until closed)
        response.close()
        return response


def snapshot(app) -> tuple:
    """Everything a state-changing request could touch in the database, as comparable values."""
    from sqlalchemy import select

    from app.domain.accounts import ApiToken, Membership, User, Workspace
    from app.domain.files import File
    from app.domain.grouping import Collection, CollectionImage, ImageTag, Tag
    from app.domain.images import Image, Provisioning
    from app.domain.resumable import ResumableUpload
    from app.domain.saved_views import SavedView
    from app.domain.upload_urls import UploadUrl
    from app.domain.versions import FileVersion
    from app.domain.webhooks import WebhookDelivery, WebhookEndpoint
    from app.extensions import db

    with app.app_context():
        rows = (
            sorted(db.session.execute(select(FileVersion.file_id, FileVersion.number, FileVersion.state)).all()),
            sorted(db.session.execute(select(File.id, File.status, File.error_code, File.name, File.deleted_at)).all()),
            sorted(
                db.session.execute(
                    select(Image.file_id, Image.alt_text, Image.decorative, Image.focal_x, Image.focal_y)
                ).all()
            ),
            sorted((file_id, repr(crops)) for file_id, crops in db.session.execute(select(Image.file_id, Image.crops))),
            sorted(db.session.execute(select(Provisioning.file_id, Provisioning.state, Provisioning.attempts)).all()),
            sorted(db.session.execute(select(User.id, User.password_hash)).all()),
            sorted(db.session.execute(select(Collection.id, Collection.name, Collection.image_count)).all()),
            sorted(db.session.execute(select(CollectionImage.collection_id, CollectionImage.file_id)).all()),
            sorted(db.session.execute(select(Tag.id, Tag.name, Tag.use_count)).all()),
            sorted(db.session.execute(select(ImageTag.tag_id, ImageTag.file_id)).all()),
            sorted(db.session.execute(select(Membership.user_id, Membership.workspace_id, Membership.role)).all()),
            sorted(db.session.execute(select(ApiToken.id, ApiToken.revoked_at)).all()),
            sorted(
                (ws_id, name, sorted((settings or {}).items()))
                for ws_id, name, settings in db.session.execute(
                    select(Workspace.id, Workspace.name, Workspace.settings)
                )
            ),
            sorted(db.session.execute(select(UploadUrl.id, UploadUrl.state, UploadUrl.file_id)).all()),
            sorted(db.session.execute(select(ResumableUpload.id, ResumableUpload.offset)).all()),
            sorted(db.session.execute(select(SavedView.id, SavedView.name, SavedView.query, SavedView.layout)).all()),
            sorted(
                db.session.execute(
                    select(
                        WebhookEndpoint.id,
                        WebhookEndpoint.url,
                        WebhookEndpoint.description,
                        WebhookEndpoint.enabled,
                        WebhookEndpoint.secret_encrypted,
                    )
                ).all()
            ),
            sorted(
                db.session.execute(
                    select(WebhookDelivery.id, WebhookDelivery.state, WebhookDelivery.pending_since)
                ).all()
            ),
        )
        db.session.remove()
        return rows


class WindowClock:
    """The rate limiter's clock in a test: it stands at the start of a window (of `seconds`) and moves only when
    told, so no sign-in straddles a window edge and no test waits for one."""

    def __init__(self, seconds: int):
        self.now = float(seconds * 1_000_000)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def limit_on(app, seconds: int) -> WindowClock:
    """Puts a WindowClock under the app's rate limiter (its constructor's `clock`)."""
    clock = WindowClock(seconds)
    app.extensions["rate_limiter"].clock = clock
    return clock
