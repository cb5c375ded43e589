"""The workspace's webhook endpoints with their recent attempts, for its owners to see (managed by API or CLI)."""

from __future__ import annotations

from flask import Blueprint, abort, g
from werkzeug.exceptions import HTTPException

from app.domain import accounts, webhooks
from app.web.auth import login_required, require_role
from app.web.render import render

bp = Blueprint("webhooks", __name__, url_prefix="/w/<workspace_id>/webhooks")

RECENT = 10


@bp.before_request
@login_required
def load_workspace():
    if require_role(g.workspace_id) != "owner":
        abort(403, "Webhooks are the workspace owners' to see and manage.")
    g.workspace = accounts.get_workspace(g.workspace_id)


@bp.url_value_preprocessor
def pull_workspace(endpoint, values) -> None:
    g.workspace_id = values.pop("workspace_id", None)


@bp.url_defaults
def keep_workspace(endpoint, values) -> None:
    if "workspace" in g:
        values.setdefault("workspace_id", g.workspace.id)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    if error.code in (301, 302, 303, 307, 308) or error.code is None:
        return error
    message = error.description or "That did not work."
    return render("error.html", "gallery/_error.html", status=error.code, message=message, status_code=error.code)


@bp.get("")
def index():
    endpoints = [
        (endpoint, webhooks.list_deliveries(g.workspace.id, endpoint.id, RECENT))
        for endpoint in webhooks.list_endpoints(g.workspace.id)
    ]
    return render(
        "webhooks/index.html", "webhooks/_endpoints.html", endpoints=endpoints, event_types=webhooks.EVENT_TYPES
    )
