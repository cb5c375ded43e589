"""Who is calling: a bearer token (programs) or the browser session (the gallery), and which workspace it may touch.

A token sees only its own workspace. A session user sees the workspaces they are a member of: the workspace comes
from `workspace_id` (query or form), or, for a URL naming a file, from that file; a workspace the user is not a
member of is treated exactly like one that does not exist. Session requests that change state need a CSRF token
in the `X-CSRFToken` header; bearer requests are exempt (they carry no ambient credentials).
"""

from __future__ import annotations

import functools
from datetime import timedelta

from flask import current_app, g, request, session
from flask_wtf.csrf import CSRFError

from app.api.problems import ApiProblem
from app.domain.accounts import DomainError, User, authenticate_token, can_write, role_in
from app.domain.common import utcnow
from app.extensions import csrf, db

# A workspace id no row has: lookups in it answer the domain's own 404, identical to a nonexistent object's.
NOWHERE = ""
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def current_token():
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiProblem(
            401,
            "unauthorized",
            "Send an API token as 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": 'Bearer realm="aeontel"'},
        )
    token = authenticate_token(secret.strip())
    if token is None:
        raise ApiProblem(
            401,
            "invalid_token",
            "The API token is unknown or revoked.",
            headers={"WWW-Authenticate": 'Bearer realm="aeontel", error="invalid_token"'},
        )
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
        db.session.commit()
    return token


def session_user() -> User | None:
    """The signed-in browser user, when the request carries no Authorization header."""
    if "Authorization" in request.headers or _cross_origin():
        return None
    user_id = session.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        return None
    return db.session.get(User, user_id)


def _cross_origin() -> bool:
    """A request another site's page made: its cookie is ignored, so a session never works cross-origin."""
    origin = request.headers.get("Origin")
    if not origin:
        return False
    own = {request.host_url.rstrip("/"), current_app.config.get("PUBLIC_URL", "").rstrip("/")}
    return origin.rstrip("/") not in own


def require(scope: str):
    """Authenticates the request, checks the scope or role, and puts the workspace to act in on `g`.

    `read` and `write` as their names say; `owner` (webhooks) takes an owner's session or a write token."""

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            user = session_user()
            if user is None:
                _authorize_token(scope)
                _refuse_nul(kwargs)
            else:
                _refuse_nul(kwargs)
                _authorize_session(user, scope, kwargs)
            return view(*args, **kwargs)

        return guarded

    return decorate


def _refuse_nul(view_args: dict) -> None:
    """No id or name holds a NUL character, and PostgreSQL refuses to even compare one: answer 400, not 500."""
    fields = [*view_args.items(), *request.args.items(multi=True)]
    if _has_form():
        fields += list(request.form.items(multi=True))
    for name, value in fields:
        if isinstance(value, str) and "\x00" in value:
            raise ApiProblem(400, "invalid_parameter", f"{name} must not contain NUL characters.", parameter=name)


def _authorize_token(scope: str) -> None:
    token = current_token()
    # Tokens have scopes, not roles: what only owners may do (webhooks) needs a write token.
    needed = "write" if scope == "owner" else scope
    if not token.allows(needed):
        raise ApiProblem(
            403, "insufficient_scope", f"This token has the '{token.scope}' scope; this request needs '{needed}'."
        )
    g.token, g.user = token, None
    g.workspace_id = token.workspace_id


def _authorize_session(user: User, scope: str, view_args: dict) -> None:
    if request.method not in SAFE_METHODS:
        try:
            csrf.protect()
        except CSRFError as exc:
            raise ApiProblem(
                400, "csrf_failed", f"{exc.description} Send the page's CSRF token in the 'X-CSRFToken' header."
            ) from None
    g.token, g.user = None, user
    explicit = request.args.get("workspace_id") or (request.form.get("workspace_id") if _has_form() else None)
    if explicit:
        if role_in(user.id, explicit) is None:
            raise ApiProblem(404, "workspace_not_found", f"No workspace {explicit!r}.")
        workspace_id = explicit
    elif view_args.keys() & NAMED:
        workspace_id = _named_workspace(view_args)
        if workspace_id is None or role_in(user.id, workspace_id) is None:
            g.workspace_id = NOWHERE  # the view's lookup answers its usual 404
            return
    else:
        workspace_id = None
        if request.method not in SAFE_METHODS:
            form_project = request.form.get("project_id") if _has_form() else None
            workspace_id = _project_workspace(form_project or request.args.get("project_id") or _tus_project())
        if workspace_id is None or role_in(user.id, workspace_id) is None:
            raise ApiProblem(
                400, "workspace_id_missing", "Say which workspace with 'workspace_id'.", parameter="workspace_id"
            )
    role = role_in(user.id, workspace_id)
    if scope == "write" and not can_write(role):
        raise ApiProblem(
            403, "insufficient_role", f"You are a {role} in this workspace; this needs an editor or owner."
        )
    if scope == "owner" and role != "owner":
        raise ApiProblem(403, "insufficient_role", f"You are a {role} in this workspace; this needs an owner.")
    g.workspace_id = workspace_id


def _has_form() -> bool:
    return request.method not in SAFE_METHODS and request.mimetype in (
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    )


# The path parameters that name one workspace's object: the session acts in that object's workspace.
NAMED = {"file_id", "webhook_id", "collection_id", "view_id", "upload_id"}


def _named_workspace(view_args: dict) -> str | None:
    """The workspace of the file, webhook endpoint, collection, saved view or resumable upload the URL names (None:
    no such thing)."""
    from app.domain.files import File
    from app.domain.grouping import Collection
    from app.domain.resumable import workspace_of
    from app.domain.saved_views import SavedView
    from app.domain.webhooks import WebhookEndpoint

    models = {"file_id": File, "webhook_id": WebhookEndpoint, "collection_id": Collection, "view_id": SavedView}
    for name, model in models.items():
        if name in view_args:
            return _workspace_of(model, view_args[name])
    return workspace_of(view_args["upload_id"])


def _workspace_of(model, object_id) -> str | None:
    if not isinstance(object_id, str) or not 0 < len(object_id) <= 32 or "\x00" in object_id:
        return None
    found = db.session.get(model, object_id)
    return found.workspace_id if found else None


def _tus_project() -> str | None:
    """A resumable upload names its project in Upload-Metadata (tus clients send no form)."""
    from app.domain.resumable import parse_metadata

    if "Upload-Metadata" not in request.headers:
        return None
    try:
        return parse_metadata(request.headers["Upload-Metadata"]).get("project_id")
    except DomainError:
        return None


def _project_workspace(project_id) -> str | None:
    """An upload that names only its project acts in that project's workspace."""
    from app.domain.accounts import Project

    return _workspace_of(Project, project_id)


def workspace_param(value: str | None) -> str:
    """An explicit workspace_id must be the caller's; any other answers 404, as if it did not exist."""
    if value and value != g.workspace_id:
        raise ApiProblem(404, "workspace_not_found", f"No workspace {value!r}.")
    return g.workspace_id
