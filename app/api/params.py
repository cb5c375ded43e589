"""What every /api endpoint accepts besides its path, checked by one hook before authentication: an unknown, repeated
or empty query parameter, an unknown JSON field or a repeated form field answers 400 naming it, never a silently
ignored typo (`?permanant=true`) or a first-value-wins (`?permanent=true&permanent=false`). The names come from each
route's models (`operation(query=…, body=…, form=…)`, app/api/spec.py), the same ones the document lists."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

from app.api import bp
from app.api.problems import ApiProblem
from app.api.spec import DECLARED
from app.domain import inputs, queries
from app.domain.queries import ListQuery


@dataclass(frozen=True)
class Accepts:
    """One endpoint's query parameters, JSON object fields (None: no JSON body) and multipart fields."""

    query: tuple[str, ...] = ()
    repeatable: tuple[str, ...] = ()  # list-valued query parameters (`tag=a&tag=b`)
    json: tuple[str, ...] | None = None
    form: tuple[str, ...] = ()
    changes: bool = False  # a PATCH: the JSON object must name at least one field


NOTHING = Accepts()


def accepts(endpoint: str | None) -> Accepts:
    """The endpoint's declaration as names: its query model's fields, its body's (by JSON name) and its form's."""
    declared = DECLARED.get(endpoint or "")
    if declared is None:
        return NOTHING
    return Accepts(
        query=declared.names("query"),
        repeatable=declared.lists("query"),
        json=declared.names("body") if declared.body is not None else None,
        form=declared.names("form"),
        changes=declared.body is not None and declared.body.CHANGES,
    )


def _bad(name: str, detail: str, **extra) -> ApiProblem:
    return ApiProblem(400, "invalid_parameter", detail, parameter=name, **extra)


@bp.before_request
def check_declared() -> None:
    """Applies the endpoint's declaration to every request before authentication or any work (not to OPTIONS,
    which acts on nothing, nor to a path that matched no route)."""
    if request.method == "OPTIONS" or request.endpoint is None:
        return
    declared = accepts(request.endpoint)
    check_names(request.args, declared.query, declared.repeatable)
    if declared.json is not None and request.is_json:
        check_fields(request.get_json(silent=True), declared)


def check_names(args, allowed: tuple[str, ...], repeatable: tuple[str, ...] = ()) -> None:
    """An unknown, repeated (unless a list) or empty query parameter answers 400 naming it (and, if unknown, what is
    allowed)."""
    for name in args:
        if name not in allowed:
            taken = f"this call takes {', '.join(allowed)}" if allowed else "this call takes no query parameters"
            raise _bad(name, f"Unknown parameter {name!r}; {taken}.", allowed=list(allowed))
        if len(args.getlist(name)) > 1 and name not in repeatable:
            raise _bad(name, f"{name} is given more than once.")
        if not all(args.getlist(name)):
            raise _bad(name, f"{name} is empty; leave it out or give it a value.")


def check_fields(body, declared: Accepts) -> None:
    """A JSON object may hold only the declared fields; a PATCH must change at least one."""
    if not isinstance(body, dict):
        return  # the view answers invalid_body / invalid_json with its own wording
    unknown = sorted(set(body) - set(declared.json or ()))
    if unknown:
        raise ApiProblem(
            400,
            "unknown_field",
            f"Unknown field {unknown[0]!r}; this call takes {', '.join(declared.json or ())}.",
            parameter=unknown[0],
            allowed=list(declared.json or ()),
        )
    if declared.changes and not body:
        raise ApiProblem(400, "invalid_body", f"Name at least one of {', '.join(declared.json or ())} to change.")


def form_file(name: str = "file"):
    """The one multipart file part `name` after checking the form against the declaration: a repeated or unknown
    field answers 400 (call it only after the request's upload limit is set, as it reads the body)."""
    allowed = accepts(request.endpoint).form
    for field in (*request.form, *request.files):
        if field not in allowed:
            raise ApiProblem(
                400,
                "unknown_field",
                f"Unknown form field {field!r}; this call takes {', '.join(allowed)}.",
                parameter=field,
                allowed=list(allowed),
            )
        if len(request.form.getlist(field)) + len(request.files.getlist(field)) > 1:
            raise _bad(field, f"The form field {field!r} is given more than once.")
    return request.files.get(name)


def list_query(kind: str, query: inputs.Query, workspace_id: str) -> ListQuery:
    """The validated parameters of the list `kind` (images, files, trash) as the query engine's ListQuery."""
    values = query.model_dump(exclude_none=True, exclude={"workspace_id"})
    subject = "images" if kind == "images" else "files"
    scope = "trash" if kind == "trash" else "live"
    return queries.parse(values, workspace_id=workspace_id, subject=subject, scope=scope)
