"""The trash in the API: restore, list, empty; deleting (`DELETE /api/files|images/{id}`) puts a file here."""

from flask import g, request

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.params import check_names
from app.api.problems import ApiProblem
from app.domain import files, trash
from app.domain.common import isoformat
from app.domain.shapes import file_json, list_json, trashed_file_json


def permanent_param() -> bool:
    """`?permanent=true` removes for good (also from the trash); anything but a clear yes or no is a 400."""
    raw = (request.args.get("permanent") or "").strip().lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    raise ApiProblem(400, "invalid_permanent", "permanent must be true or false.", parameter="permanent")


def restorable_until(until) -> dict:
    """The delete answer's `restorableUntil`: when the trash purges it, or null when it is gone for good now."""
    return {"restorableUntil": isoformat(until)}


@bp.post("/files/<file_id>/restore")
@require("write")
def restore_file(file_id):
    """Brings a file back from the trash; its image is provisioned again under the same id (and delivery URL)."""
    restored = trash.restore_files(g.workspace_id, [file_id])
    return file_json(restored[0])


@bp.get("/trash")
@require("read")
def list_trash():
    check_names(request.args, ("workspace_id", "project_id", "limit", "cursor"), "the trash's list")
    workspace_id = workspace_param(request.args.get("workspace_id"))
    limit = files.parse_limit(request.args.get("limit"))
    rows, next_cursor = trash.list_trash(
        workspace_id, project_id=request.args.get("project_id") or None, limit=limit, cursor=request.args.get("cursor")
    )
    return list_json([trashed_file_json(row) for row in rows], next_cursor)


@bp.delete("/trash")
@require("write")
def empty_trash():
    check_names(request.args, ("workspace_id", "project_id"), "emptying the trash")
    workspace_id = workspace_param(request.args.get("workspace_id"))
    purged = trash.empty(workspace_id, project_id=request.args.get("project_id") or None)
    return {"object": "trash", "purged": purged}
