"""Saved views: a user's named query of a project (the query engine's parameters as a query string) and its layout,
opened in the gallery, run by the API, the CLI and MCP, and shared by URL with anyone in the workspace."""

from __future__ import annotations

import functools
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from sqlalchemy import ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from app.domain import queries
from app.domain.accounts import get_project
from app.domain.common import UTCDateTime, new_id, utcnow
from app.domain.errors import DomainError, NotFound
from app.extensions import db

LAYOUTS = ("grid", "table")
MAX_NAME = 100
MAX_QUERY = 2000
MAX_VIEWS = 200  # per owner and workspace
# A view is a list's filters, search and sort; the page (limit, cursor), the count and the project are not the view's.
_NOT_VIEWED = {"project_id", "limit", "cursor", "count"}


def parameters() -> tuple[str, ...]:
    """The names a view's query may hold: every parameter the engine declares for the gallery's lists (files and
    images), so a filter added to the engine is a view's filter too, with no list written here."""
    declared = dict.fromkeys(queries.PARAMETERS["files"] + queries.PARAMETERS["images"])
    return tuple(name for name in declared if name not in _NOT_VIEWED)


@functools.cache
def parameters_model() -> type[BaseModel]:
    """A view's query as a model made from the engine's own fields (names, types, constraints): unknown names fail."""
    fields = {
        name: (queries.ListQuery.model_fields[name].annotation, queries.ListQuery.model_fields[name])
        for name in parameters()
    }
    return create_model("SavedViewParameters", __config__=ConfigDict(extra="forbid"), **fields)


class SavedView(db.Model):
    """One named view of a project, owned by a user (or, for a token caller, by the token)."""

    __tablename__ = "saved_view"
    __table_args__ = (
        Index("ix_saved_view_user", "workspace_id", "user_id", "name"),
        Index("ix_saved_view_token", "workspace_id", "token_id", "name"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("viw"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), nullable=True)
    token_id: Mapped[str | None] = mapped_column(ForeignKey("api_token.id", ondelete="CASCADE"), nullable=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    query: Mapped[str] = mapped_column(String(MAX_QUERY), default="")
    layout: Mapped[str] = mapped_column(String(8), default="grid")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def values(self) -> dict[str, str]:
        """The view's parameters by name, as the query string holds them."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def list_query(self, **fixed) -> queries.ListQuery:
        """The engine's query of this view (its project, its filters and sort; `fixed`: the page, the subject)."""
        return queries.parse(self.values, workspace_id=self.workspace_id, project_id=self.project_id, **fixed)


class Owner:
    """Who saves views: a signed-in user, or a token (tokens belong to the workspace, not to a user)."""

    def __init__(self, user_id: str | None = None, token_id: str | None = None):
        if (user_id is None) == (token_id is None):
            raise ValueError("a view's owner is a user or a token")
        self.user_id, self.token_id = user_id, token_id

    def owns(self, view: SavedView) -> bool:
        return (view.user_id, view.token_id) == (self.user_id, self.token_id)

    def clause(self):
        if self.user_id is not None:
            return SavedView.user_id == self.user_id
        return SavedView.token_id == self.token_id


def clean_query(raw: str | None) -> str:
    """The view's query string, checked against the engine's parameters and values and written canonically (the
    engine's order of names, each once, none empty); a bad one is `invalid_view_query` naming the parameter."""
    raw = (raw or "").strip().removeprefix("?")
    if len(raw) > MAX_QUERY:
        raise _bad_query(None, f"A view's query can be at most {MAX_QUERY:,} characters.")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=bool(raw), max_num_fields=100)
    except ValueError:
        raise _bad_query(None, "The view's query is not a query string (name=value&…).") from None
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:
            raise _bad_query(name, f"{name} is given more than once.")
        if not value.strip():
            raise _bad_query(name, f"{name} is empty; leave it out or give it a value.")
        values[name] = value.strip()
    try:
        parameters_model()(**values)
    except ValidationError as invalid:
        error = invalid.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else None
        if error["type"] == "extra_forbidden":
            raise _bad_query(name, f"Unknown parameter {name!r}; a view takes {', '.join(parameters())}.") from None
        refused = queries.invalid_parameter(name or "query", error["msg"])
        raise _bad_query(name, refused.message) from None
    order = {name: index for index, name in enumerate(parameters())}
    return urlencode(sorted(values.items(), key=lambda pair: order[pair[0]]))


def _bad_query(name: str | None, message: str) -> DomainError:
    return DomainError("invalid_view_query", message, parameter="query", **({"field": name} if name else {}))


def clean_name(raw) -> str:
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not name or len(name) > MAX_NAME:
        raise DomainError("invalid_view_name", f"A view's name is 1 to {MAX_NAME} characters.", parameter="name")
    return name


def clean_layout(raw) -> str:
    if raw in (None, ""):
        return "grid"
    if raw not in LAYOUTS:
        raise DomainError("invalid_layout", "A view's layout is grid or table.", parameter="layout")
    return raw


def list_views(workspace_id: str, owner: Owner, project_id: str | None = None) -> list[SavedView]:
    """The owner's views in the workspace (of one project, if given), by name."""
    statement = select(SavedView).where(SavedView.workspace_id == workspace_id, owner.clause())
    if project_id is not None:
        get_project(workspace_id, project_id)
        statement = statement.where(SavedView.project_id == project_id)
    return list(db.session.scalars(statement.order_by(func.lower(SavedView.name), SavedView.id)))


def get_view(workspace_id: str, view_id: str, project_id: str | None = None) -> SavedView:
    """Any view of the workspace (a view's URL is shared with everyone in it); another workspace's answers 404."""
    view = db.session.get(SavedView, view_id) if isinstance(view_id, str) and len(view_id) <= 32 else None
    if view is None or view.workspace_id != workspace_id or project_id not in (None, view.project_id):
        raise NotFound("view_not_found", f"No saved view {view_id!r} in this workspace.")
    return view


def own_view(workspace_id: str, view_id: str, owner: Owner) -> SavedView:
    """A view the caller may change: only its owner renames or deletes it."""
    view = get_view(workspace_id, view_id)
    if not owner.owns(view):
        raise DomainError("view_not_yours", "Only the person who saved this view can change or delete it.", status=403)
    return view


def _name_free(workspace_id: str, owner: Owner, project_id: str, name: str, keep: str | None = None) -> None:
    statement = select(SavedView.id).where(
        SavedView.workspace_id == workspace_id,
        SavedView.project_id == project_id,
        owner.clause(),
        func.lower(SavedView.name) == name.lower(),
    )
    if keep is not None:
        statement = statement.where(SavedView.id != keep)
    taken = db.session.scalar(statement)
    if taken is not None:
        raise DomainError("view_name_taken", f"You already have a view called {name!r} in this project.", status=409)


def create_view(
    workspace_id: str, owner: Owner, project_id: str, name, query: str | None, layout: str | None = None
) -> SavedView:
    """A new view from a name, a query string the engine accepts and a layout; nothing is stored if any is bad."""
    if not isinstance(project_id, str) or not project_id:
        raise DomainError("invalid_field", "project_id: the project the view lists.", parameter="projectId")
    try:
        get_project(workspace_id, project_id)
    except NotFound:
        raise NotFound("project_not_found", "No project with that id in this workspace.") from None
    view = SavedView(
        workspace_id=workspace_id,
        project_id=project_id,
        user_id=owner.user_id,
        token_id=owner.token_id,
        name=clean_name(name),
        query=clean_query(query),
        layout=clean_layout(layout),
    )
    count = db.session.scalar(
        select(func.count(SavedView.id)).where(SavedView.workspace_id == workspace_id, owner.clause())
    )
    if count >= MAX_VIEWS:
        raise DomainError("too_many_views", f"You can keep at most {MAX_VIEWS} saved views per workspace.", status=409)
    _name_free(workspace_id, owner, project_id, view.name)
    db.session.add(view)
    db.session.commit()
    return view


def rename_view(workspace_id: str, owner: Owner, view_id: str, name) -> SavedView:
    view = own_view(workspace_id, view_id, owner)
    name = clean_name(name)
    _name_free(workspace_id, owner, view.project_id, name, keep=view.id)
    view.name, view.updated_at = name, utcnow()
    db.session.commit()
    return view


def delete_view(workspace_id: str, owner: Owner, view_id: str) -> None:
    view = own_view(workspace_id, view_id, owner)
    db.session.delete(view)
    db.session.commit()
