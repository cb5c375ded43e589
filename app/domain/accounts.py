"""Tenants and the people and programs allowed into them: workspaces, projects, users, memberships, tokens."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from app.domain import services
from app.domain.common import UTCDateTime, new_id, utcnow
from app.domain.errors import DomainError, NotFound
from app.domain.permissions import ROLES, SCOPES
from app.extensions import db

TOKEN_PREFIX = "aet_"


class Workspace(db.Model):
    __tablename__ = "workspace"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ws"))
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def setting(self, name: str, default=None):
        return (self.settings or {}).get(name, default)


class Project(db.Model):
    __tablename__ = "project"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("prj"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(db.Model):
    __tablename__ = "user"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("usr"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class Membership(db.Model):
    __tablename__ = "membership"

    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("tok"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def allows(self, scope: str) -> bool:
        return scope == "read" or self.scope == "write"


def hash_token(secret: str) -> str:
    # Secrets carry 256 random bits, so a plain SHA-256 is enough to make a stolen table useless.
    return hashlib.sha256(secret.encode()).hexdigest()


def _require_name(name: str, what: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise DomainError("invalid_name", f"A {what} name must be 1 to 200 characters.")
    return name


def create_workspace(name: str) -> Workspace:
    workspace = Workspace(name=_require_name(name, "workspace"), settings={})
    db.session.add(workspace)
    db.session.flush()
    services.storage().add_workspace(workspace.id)
    return workspace


def get_workspace(workspace_id: str) -> Workspace:
    workspace = db.session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("workspace_not_found", f"No workspace {workspace_id!r}.")
    return workspace


def create_project(workspace_id: str, name: str) -> Project:
    get_workspace(workspace_id)
    project = Project(workspace_id=workspace_id, name=_require_name(name, "project"))
    db.session.add(project)
    db.session.flush()
    return project


def get_project(workspace_id: str, project_id: str) -> Project:
    project = db.session.get(Project, project_id)
    if project is None or project.workspace_id != workspace_id:
        raise NotFound("project_not_found", f"No project {project_id!r} in this workspace.")
    return project


def create_user(email: str, password: str, workspace_id: str, role: str) -> User:
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 320:
        raise DomainError("invalid_email", "That is not an email address.")
    if role not in ROLES:
        raise DomainError("invalid_role", f"The role must be one of {', '.join(ROLES)}.")
    if len(password or "") < 8:
        raise DomainError("weak_password", "A password needs at least 8 characters.")
    get_workspace(workspace_id)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, password_hash=generate_password_hash(password))
        db.session.add(user)
        db.session.flush()
    else:
        user.password_hash = generate_password_hash(password)
    membership = db.session.get(Membership, (user.id, workspace_id))
    if membership is None:
        db.session.add(Membership(user_id=user.id, workspace_id=workspace_id, role=role))
    else:
        membership.role = role
    db.session.flush()
    return user


def create_token(workspace_id: str, scope: str, name: str = "") -> tuple[ApiToken, str]:
    """Returns the row and the secret; the secret is shown once and never stored."""
    if scope not in SCOPES:
        raise DomainError("invalid_scope", f"The scope must be one of {', '.join(SCOPES)}.")
    get_workspace(workspace_id)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(workspace_id=workspace_id, scope=scope, name=name, token_hash=hash_token(secret))
    db.session.add(token)
    db.session.flush()
    return token, secret


def authenticate_token(secret: str) -> ApiToken | None:
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    digest = hash_token(secret)
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or token.revoked_at is not None or not hmac.compare_digest(token.token_hash, digest):
        return None
    return token


def authenticate_user(email: str, password: str) -> User | None:
    """The user with this email and password, or None; the same work is done either way, so timing says nothing."""
    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    return user if user.check_password(password or "") else None


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-real-password")


def role_in(user_id: str, workspace_id: str) -> str | None:
    membership = db.session.get(Membership, (user_id, workspace_id))
    return membership.role if membership else None


def can_write(role: str | None) -> bool:
    return role in ("owner", "editor")


def workspaces_of(user_id: str) -> list[tuple[Workspace, str]]:
    rows = db.session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Workspace.name)
    )
    return [(workspace, role) for workspace, role in rows]


def projects_of(workspace_id: str) -> list[Project]:
    return list(db.session.scalars(select(Project).where(Project.workspace_id == workspace_id).order_by(Project.name)))
