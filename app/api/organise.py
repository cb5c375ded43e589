"""Collections of a project and tags of a workspace: everyone in the workspace reads and filters by them, editors
(or write tokens) change them."""

from flask import g, request, url_for
from pydantic import ValidationError

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.spec import operation, problem_of, validated
from app.domain import grouping, inputs, organise, shapes
from app.domain.shapes import collection_json, tag_json


@bp.get("/collections")
@require("read")
@operation(
    "listCollections",
    "collections",
    {200: (shapes.CollectionList, "Every collection, by name.")},
    (400, 401, 404),
    query=inputs.CollectionListQuery,
)
def list_collections():
    """List the workspace's collections (or one project's)"""
    query = validated("query")
    workspace_id = workspace_param(query.workspace_id)
    found = organise.list_collections(workspace_id, query.project_id)
    return {"object": "list", "data": [collection_json(collection) for collection in found]}


@bp.post("/collections")
@require("write")
@operation(
    "createCollection",
    "collections",
    {201: (shapes.Collection, "The new, empty collection.")},
    (400, 401, 403, 404, 409, 415),
    query=inputs.WorkspaceQuery,
    body=inputs.CollectionCreate,
    headers={201: ("Location",)},
)
def create_collection():
    """Create a collection in a project

    Names are unique in a project in any case (409 `collection_exists`); collections are flat.
    """
    workspace_id = workspace_param(validated("query").workspace_id)
    body = validated("json")
    collection = organise.create_collection(workspace_id, body.project_id, body.name)
    location = url_for("api.get_collection", collection_id=collection.id)
    return collection_json(collection), 201, {"Location": location}


@bp.get("/collections/<collection_id>")
@require("read")
@operation("getCollection", "collections", {200: (shapes.Collection, "The collection.")}, (400, 401, 404))
def get_collection(collection_id):
    """Get one collection"""
    return collection_json(grouping.get_collection(g.workspace_id, collection_id))


@bp.patch("/collections/<collection_id>")
@require("write")
@operation(
    "renameCollection",
    "collections",
    {200: (shapes.Collection, "The collection as it is now.")},
    (400, 401, 403, 404, 409, 415),
    body=inputs.CollectionRename,
)
def rename_collection(collection_id):
    """Rename a collection"""
    return collection_json(organise.rename_collection(g.workspace_id, collection_id, validated("json").name))


@bp.delete("/collections/<collection_id>")
@require("write")
@operation(
    "deleteCollection",
    "collections",
    {204: (None, "Gone; its images stay where they are.")},
    (400, 401, 403, 404),
)
def delete_collection(collection_id):
    """Delete a collection (its images stay)"""
    organise.delete_collection(g.workspace_id, collection_id)
    return "", 204


@bp.post("/collections/<collection_id>/images")
@require("write")
@operation(
    "addCollectionImages",
    "collections",
    {200: (shapes.CollectionChange, "How many were new to it, and the collection now.")},
    (400, 401, 403, 404, 415),
    body=inputs.ImageSelection,
)
def add_collection_images(collection_id):
    """Add images to a collection

    Only images of the collection's project join it; images already in it are left as they are.
    Send `ids` (at most 10,000; ids of other projects or workspaces, files in the trash and files that are no image
    are skipped) or `query` (GET /api/images's filters as a JSON object, e.g. `{"tag": ["beach"]}`: every image
    they match, on all pages, in one statement).
    """
    body = validated("json")
    collection, changed = organise.add_to_collection(g.workspace_id, collection_id, ids=body.ids, query=body.query)
    return {"object": "collection_change", "collection": collection_json(collection), "changed": changed}


@bp.delete("/collections/<collection_id>/images")
@require("write")
@operation(
    "removeCollectionImages",
    "collections",
    {200: (shapes.CollectionChange, "How many were in it, and the collection now.")},
    (400, 401, 403, 404, 415),
    body=inputs.ImageSelection,
)
def remove_collection_images(collection_id):
    """Take images out of a collection (the images stay)

    The body is the same as adding's: spectree leaves a DELETE's body to the view, which checks it with the same model.

    Send `ids` (at most 10,000; ids of other projects or workspaces, files in the trash and files that are no image
    are skipped) or `query` (GET /api/images's filters as a JSON object, e.g. `{"tag": ["beach"]}`: every image
    they match, on all pages, in one statement).
    """
    body = validated("json") or _checked(inputs.ImageSelection)
    collection, changed = organise.remove_from_collection(g.workspace_id, collection_id, ids=body.ids, query=body.query)
    return {"object": "collection_change", "collection": collection_json(collection), "changed": changed}


def _checked(model):
    """The JSON body as `model`, its first error as problem+json (the object itself was checked by `operation`)."""
    try:
        return model.model_validate(request.get_json())
    except ValidationError as invalid:
        raise problem_of(invalid) from None


@bp.get("/tags")
@require("read")
@operation(
    "listTags",
    "tags",
    {200: (shapes.TagList, "Tags, most used first.")},
    (400, 401, 404),
    query=inputs.TagSuggestQuery,
)
def list_tags():
    """Suggest tags as one types

    The workspace's tags starting with `prefix` in any case, most used first (without `prefix`, the most used).
    """
    query = validated("query")
    workspace_id = workspace_param(query.workspace_id)
    found = organise.suggest_tags(workspace_id, query.prefix, query.limit)
    return {"object": "list", "data": [tag_json(tag) for tag in found]}


@bp.post("/images/tags")
@require("write")
@operation(
    "changeImageTags",
    "images",
    {200: (shapes.TagsChanged, "How many images changed.")},
    (400, 401, 403, 404, 415),
    query=inputs.WorkspaceQuery,
    body=inputs.TagsChange,
)
def change_image_tags():
    """Add and remove tags on many images

    Each image that changed gets `image.updated` with `changed.tags: {added, removed}`.
    Send `ids` (at most 10,000; ids of other projects or workspaces, files in the trash and files that are no image
    are skipped) or `query` (GET /api/images's filters as a JSON object, e.g. `{"tag": ["beach"]}`: every image
    they match, on all pages, in one statement).
    """
    workspace_id = workspace_param(validated("query").workspace_id)
    body = validated("json")
    changed = organise.change_tags(workspace_id, body.ids, body.query, body.add, body.remove)
    return {"object": "tags_change", "changed": changed}
