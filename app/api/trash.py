"""The trash in the API: restore, list, empty; deleting (`DELETE /api/files|images/{id}`) puts a file here."""

from flask import g, request

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.params import list_query
from app.api.spec import operation, validated
from app.domain import inputs, queries, shapes, trash
from app.domain.shapes import file_json, list_json, trashed_file_json


@bp.post("/files/<file_id>/restore")
@require("write")
@operation("restoreFile", "trash", {200: (shapes.File, "The file, back.")}, (400, 401, 403, 404))
def restore_file(file_id):
    """Restore a file from the trash

    The file comes back under the same id; an image is provisioned again under the same Images id, so a public image
    answers at the same delivery URL once it is ready again (`image.status` is `processing` until then). A private
    image may get a new Images id; its URLs are signed and short-lived anyway. 404 when the file is not in the
    trash. Session callers must send the `X-CSRFToken` header.
    """
    restored = trash.restore_files(g.workspace_id, [file_id])
    return file_json(restored[0])


@bp.get("/trash")
@require("read")
@operation(
    "listTrash",
    "trash",
    {200: (shapes.TrashList, "A page of trashed files, newest upload first.")},
    (400, 401, 404),
    query=inputs.TrashListQuery,
)
def list_trash():
    """List the files in the trash"""
    spec = list_query("trash", validated("query"), workspace_param(request.args.get("workspace_id")))
    page = queries.run(spec)
    return list_json([trashed_file_json(entry.file) for entry in page.entries], page.next_cursor, page.total)


@bp.delete("/trash")
@require("write")
@operation(
    "emptyTrash",
    "trash",
    {200: (shapes.TrashEmptied, "How many files were purged.")},
    (400, 401, 403, 404),
    query=inputs.TrashEmptyQuery,
)
def empty_trash():
    """Empty the trash

    Every file in the workspace's (or the project's) trash is removed for good now: rows at once, bytes by background
    jobs that retry until done.
    """
    workspace_id = workspace_param(request.args.get("workspace_id"))
    purged = trash.empty(workspace_id, project_id=validated("query").project_id)
    return shapes.TrashEmptied(purged=purged).dump()
