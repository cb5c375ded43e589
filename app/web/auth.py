"""Browser sign-in: the session cookie names the user, and every gallery request checks their membership."""

from __future__ import annotations

import math
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, g, redirect, request, session, url_for

from app.domain import accounts, limits
from app.domain.errors import NotFound
from app.extensions import db, htmx
from app.web.render import render

bp = Blueprint("auth", __name__)

WRONG_CREDENTIALS = "That email and password do not match an account. Check both and try again."


@bp.before_app_request
def load_user() -> None:
    user_id = session.get("user_id")
    g.user = db.session.get(accounts.User, user_id) if isinstance(user_id, str) else None
    if user_id and g.user is None:
        session.clear()  # the account is gone


def sign_in_redirect():
    """htmx requests follow redirects inside the page, so they are told to navigate instead."""
    target = url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if htmx:
        response = redirect(target)
        response.status_code = 401
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.user is None:
            return sign_in_redirect()
        return view(*args, **kwargs)

    return wrapped


def require_role(workspace_id: str) -> str:
    """The user's role in the workspace; a workspace they are not in does not exist for them."""
    role = accounts.role_in(g.user.id, workspace_id)
    if role is None:
        abort(404)
    return role


def _safe_next(target: str | None) -> str | None:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = _safe_next(request.values.get("next"))
    if g.user is not None and request.method == "GET":
        return redirect(next_url or url_for("home.index"))
    error = None
    email = ""
    if request.method == "POST":
        email = (request.form.get("email") or "").strip()
        password = request.form.get("password") or ""
        try:
            limits.check_login(request.remote_addr, email)  # before the password is even looked at
        except limits.RateLimited as limited:
            minutes = "a minute" if limited.retry_after <= 60 else f"{math.ceil(limited.retry_after / 60)} minutes"
            message = f"Too many sign-in attempts for this account. Wait {minutes} and try again."
            return render(
                "auth/login.html",
                status=429,
                headers={"Retry-After": str(limited.retry_after)},
                error=message,
                email=email,
                next_url=next_url,
            )
        if not email or not password:
            error = "Enter your email and your password."
        else:
            user = accounts.authenticate_user(email, password)
            if user is None:
                error = WRONG_CREDENTIALS
            else:
                last = session.get("last_project")
                session.clear()  # a fresh session on sign-in: nothing from before survives (fixation)
                session["user_id"] = user.id
                if last and last[0] in {ws.id for ws, _ in accounts.workspaces_of(user.id)}:
                    session["last_project"] = last
                return redirect(next_url or url_for("home.index"))
    return render("auth/login.html", status=401 if error else 200, error=error, email=email, next_url=next_url)


@bp.post("/logout")
def logout():
    last = session.get("last_project")
    session.clear()
    if last:
        session["last_project"] = last  # ids only; the next sign-in checks membership before using it
    return redirect(url_for("auth.login"))


def remember_project(workspace_id: str, project_id: str) -> None:
    if session.get("last_project") != [workspace_id, project_id]:
        session["last_project"] = [workspace_id, project_id]


def landing_project() -> tuple[str, str] | None:
    """The project the user opened last, else the first project of their first workspace."""
    memberships = accounts.workspaces_of(g.user.id)
    member_of = {ws.id for ws, _ in memberships}
    last = session.get("last_project")
    if isinstance(last, list) and len(last) == 2 and last[0] in member_of:
        try:
            accounts.get_project(last[0], last[1])
            return last[0], last[1]
        except NotFound:
            pass
    for workspace, _ in memberships:
        projects = accounts.projects_of(workspace.id)
        if projects:
            return workspace.id, projects[0].id
    return None


def switcher() -> list[tuple[accounts.Workspace, str, list[accounts.Project]]]:
    """Every workspace the user belongs to with its projects, for the header's switcher."""
    if g.get("user") is None:
        return []
    return [(ws, role, accounts.projects_of(ws.id)) for ws, role in accounts.workspaces_of(g.user.id)]


def project_scoped(bp) -> None:
    """A blueprint under `/w/<workspace_id>/p/<project_id>/…`: its URLs keep the current project, and every request
    signs in, checks the role and loads `g.workspace`, `g.project`, `g.role` and `g.can_write` first."""

    @bp.url_defaults
    def keep_project(endpoint, values) -> None:
        if "project" in g:
            values.setdefault("workspace_id", g.project.workspace_id)
            values.setdefault("project_id", g.project.id)

    @bp.url_value_preprocessor
    def pull_project(endpoint, values) -> None:
        g.workspace_id = values.pop("workspace_id", None)
        g.project_id = values.pop("project_id", None)

    @bp.before_request
    @login_required
    def load_project():
        g.role = require_role(g.workspace_id)
        g.project = accounts.get_project(g.workspace_id, g.project_id)
        g.workspace = accounts.get_workspace(g.workspace_id)
        g.can_write = accounts.can_write(g.role)
