"""Near duplicates over the API: an image's similar images, the workspace's groups, and the merge that keeps one."""

from flask import g, request

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.images import checked_id
from app.api.spec import operation, validated
from app.domain import duplicates, inputs, shapes
from app.domain.accounts import get_project
from app.domain.shapes import image_shape


def similar_shape(near: duplicates.Near) -> shapes.SimilarImage:
    return shapes.SimilarImage(distance=near.distance, image=image_shape(near.image, near.file))


@bp.get("/images/<file_id>/similar")
@require("read")
@operation(
    "listSimilarImages",
    "duplicates",
    {200: (shapes.SimilarList, "Images near this one, nearest first.")},
    (400, 401, 404),
    query=inputs.SimilarQuery,
)
def similar_images(file_id):
    """List images similar to this one

    The workspace's other images whose perceptual hash (a 64-bit pHash computed when the image was made) differs in at
    most `threshold` bits: the same photo resized, recompressed, re-exported with other metadata or slightly cropped.
    Found through indexed bands of the hash, never by a scan. An image made before hashes existed has none until the
    backfill reaches it (`aeontel duplicates backfill`); it answers an empty list.
    """
    query = validated("query")
    found = duplicates.similar(g.workspace_id, checked_id(file_id), query.threshold, query.limit)
    return shapes.SimilarList(data=[similar_shape(near) for near in found]).dump()


@bp.get("/duplicates")
@require("read")
@operation(
    "listDuplicateGroups",
    "duplicates",
    {200: (shapes.DuplicateGroupList, "A page of groups of near duplicates.")},
    (400, 401, 404),
    query=inputs.DuplicatesQuery,
)
def list_duplicate_groups():
    """List groups of near duplicates

    Walks the workspace's (or one project's) images in upload order, a few hundred per page, each one an indexed
    lookup; a group is listed once, under its oldest image. A page may hold no group and still have a next one:
    follow `next_cursor` until it is null.
    """
    query = validated("query")
    workspace_param(request.args.get("workspace_id"))
    if query.project_id:
        get_project(g.workspace_id, query.project_id)
    found, next_cursor = duplicates.groups(g.workspace_id, query.project_id, query.cursor)
    groups = [
        shapes.DuplicateGroup(keep=group.members[0].file.id, images=[similar_shape(near) for near in group.members])
        for group in found
    ]
    return shapes.DuplicateGroupList(data=groups, has_more=next_cursor is not None, next_cursor=next_cursor).dump()


@bp.post("/duplicates/merge")
@require("write")
@operation(
    "mergeDuplicates",
    "duplicates",
    {200: (shapes.MergeResult, "The kept image and the files put in the trash.")},
    (400, 401, 403, 404, 415),
    query=inputs.WorkspaceQuery,
    body=inputs.MergeRequest,
)
def merge_duplicates():
    """Keep one image, trash its duplicates

    In one transaction: the kept image takes a merged image's alt text (or its being decorative) and focal point
    where it has none, and the merged images go to the workspace's trash like any delete (restore them to undo;
    `file.deleted`, `image.deleted` and, when the kept one gained something, `image.updated` are emitted). 400
    `invalid_merge` when the kept image is also listed to merge; 404 `image_not_found` for any image not in this
    workspace (nothing is changed).
    """
    body = validated("json")
    workspace_param(request.args.get("workspace_id"))
    merged = duplicates.merge(g.workspace_id, checked_id(body.keep), [checked_id(i) for i in body.merge])
    trashed = [shapes.TrashedDuplicate(id=i, restorable_until=until) for i, until in merged.trashed.items()]
    return shapes.MergeResult(
        kept=image_shape(merged.kept, merged.file), changed=merged.changed, trashed=trashed
    ).dump()
