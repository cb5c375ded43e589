"""Bearer tokens for programs: a token sees only its own workspace, and writes need the write scope."""

from __future__ import annotations

import functools
from datetime import timedelta

from flask import g, request

from app.api.problems import ApiProblem
from app.domain.accounts import authenticate_token
from app.domain.common import utcnow
from app.extensions import db


def current_token():
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiProblem(401, "unauthorized", "Send an API token as 'Authorization: Bearer <token>'.",
                         headers={"WWW-Authenticate": 'Bearer realm="aeontel"'})
    token = authenticate_token(secret.strip())
    if token is None:
        raise ApiProblem(401, "invalid_token", "The API token is unknown or revoked.",
                         headers={"WWW-Authenticate": 'Bearer realm="aeontel", error="invalid_token"'})
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
        db.session.commit()
    return token


def require(scope: str):
    """Authenticates the request, checks the scope, and puts the token's workspace on `g`."""

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            token = current_token()
            if not token.allows(scope):
                raise ApiProblem(403, "insufficient_scope", f"This token has the '{token.scope}' scope; "
                                 f"this request needs '{scope}'.")
            g.token = token
            g.workspace_id = token.workspace_id
            return view(*args, **kwargs)

        return guarded

    return decorate


def workspace_param(value: str | None) -> str:
    """An explicit workspace_id must be the token's own; any other answers 404, as if it did not exist."""
    if value and value != g.workspace_id:
        raise ApiProblem(404, "workspace_not_found", f"No workspace {value!r}.")
    return g.workspace_id
