"""The one parser of list parameters: every name is checked, so a misspelt filter answers 400 instead of wrong rows."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from app.api.problems import ApiProblem
from app.domain import files
from app.domain.accounts import NotFound
from app.domain.listing import FILE_STATUSES, MAX_Q, SORTS, ListQuery

COMMON = ("workspace_id", "project_id", "q", "sort", "created_after", "created_before", "limit", "cursor", "count")
ALLOWED = {
    "images": COMMON + ("format", "has_alt_text"),
    "files": COMMON + ("status",),
}
# Parameters newer than the first API: these must have a value when given (the older ones treat empty as absent).
STRICT = {"sort", "created_after", "created_before", "count", "format", "has_alt_text", "status"}
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_FORMAT = re.compile(r"[a-z0-9+.-]{1,16}")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def _bad(name: str, detail: str) -> ApiProblem:
    return ApiProblem(400, "invalid_parameter", detail, parameter=name)


def check_names(args, allowed: tuple[str, ...], what: str) -> None:
    """An unknown or repeated query parameter (or an empty one of the newer ones) answers 400 naming it."""
    for name in args:
        if name not in allowed:
            raise _bad(name, f"Unknown parameter {name!r}; {what} take {', '.join(allowed)}.")
        if len(args.getlist(name)) > 1:
            raise _bad(name, f"{name} is given more than once.")
        if name in STRICT and not args.get(name):
            raise _bad(name, f"{name} is empty; leave it out or give it a value.")


def parse_list_query(kind: str, args, workspace_id: str) -> ListQuery:
    """A ListQuery from query-string `args`; an unknown, repeated or malformed parameter answers 400 naming it."""
    allowed = ALLOWED[kind]
    check_names(args, allowed, f"{kind} lists")
    value = {name: args.get(name) for name in allowed if args.get(name) not in (None, "")}
    project_id = value.get("project_id")
    if project_id is not None and not _ID.fullmatch(project_id):
        raise NotFound("project_not_found", f"No project {project_id!r} in this workspace.")
    q = value.get("q")
    if q is not None and len(q) > MAX_Q:
        raise ApiProblem(400, "invalid_q", f"q must be at most {MAX_Q} characters of text.", parameter="q")
    sort = value.get("sort", "-created")
    if sort not in SORTS:
        raise _bad("sort", f"sort must be one of {', '.join(SORTS)} (a leading '-' means descending).")
    spec = dict(
        kind=kind,
        workspace_id=workspace_id,
        project_id=project_id,
        q=q,
        sort=sort,
        created_after=_time(value, "created_after"),
        created_before=_time(value, "created_before"),
        limit=files.parse_limit(value.get("limit")),
        cursor=value.get("cursor"),
        count=_boolean(value, "count") or False,
    )
    if kind == "images":
        image_format = value.get("format")
        if image_format is not None and not _FORMAT.fullmatch(image_format.lower()):
            raise _bad("format", "format is an image format such as jpeg, png, webp, gif or svg.")
        spec.update(format=image_format and image_format.lower(), has_alt_text=_boolean(value, "has_alt_text"))
    else:
        status = value.get("status")
        if status is not None and status not in FILE_STATUSES:
            raise _bad("status", f"status must be one of {', '.join(FILE_STATUSES)}.")
        spec.update(status=status)
    return ListQuery(**spec)


def _boolean(value: dict, name: str) -> bool | None:
    raw = value.get(name)
    if raw is None:
        return None
    if raw.lower() not in _BOOLEANS:
        raise _bad(name, f"{name} must be true or false.")
    return _BOOLEANS[raw.lower()]


def _time(value: dict, name: str) -> datetime | None:
    raw = value.get(name)
    if raw is None:
        return None
    try:
        if len(raw) > 40:
            raise ValueError
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(name, f"{name} must be an ISO 8601 date or time, e.g. 2026-11-30 or 2026-11-30T12:00:00Z.") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    if not 1970 <= stamp.year <= 9998:
        raise _bad(name, f"{name} must be a date between 1970 and 9998.")
    return stamp.astimezone(UTC)
