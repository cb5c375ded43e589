"""Saved views: each caller's named views of a project (a user's own; a token caller's are the token's), and a
view's images. Anyone in the workspace may open or run a view by its id (views are shared by URL); only its owner
renames or deletes it. Saving a view needs only the `read` scope: viewers save their own views too."""

from flask import g, url_for

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.spec import operation, validated
from app.domain import inputs, queries, saved_views, shapes
from app.domain.shapes import image_json, list_json, saved_view_json


def _owner() -> saved_views.Owner:
    return saved_views.Owner(user_id=g.user.id) if g.user is not None else saved_views.Owner(token_id=g.token.id)


def _json(view) -> dict:
    url = url_for(
        "saved_views.open_view",
        workspace_id=view.workspace_id,
        project_id=view.project_id,
        view_id=view.id,
        _external=True,
    )
    return saved_view_json(view, url)


@bp.get("/views")
@require("read")
@operation(
    "listSavedViews",
    "views",
    {200: (shapes.SavedViewList, "Your saved views, by name.")},
    (400, 401, 404),
    query=inputs.SavedViewListQuery,
)
def list_views():
    """List your saved views

    A signed-in user's own views; a token's own views for a token caller. `project_id` keeps one project's.
    """
    query = validated("query")
    workspace_id = workspace_param(query.workspace_id)
    views = saved_views.list_views(workspace_id, _owner(), query.project_id)
    return list_json([_json(view) for view in views], None)


@bp.post("/views")
@require("read")
@operation(
    "createSavedView",
    "views",
    {201: (shapes.SavedView, "The saved view.")},
    (400, 401, 404, 409, 415),
    query=inputs.WorkspaceQuery,
    body=inputs.SavedViewCreate,
    headers={201: ("Location",)},
)
def create_view():
    """Save a view

    The query is checked by the query engine (the parameters of `GET /api/files` and `/api/images` but the page, the
    count and the project): a bad one answers 400 `invalid_view_query` and nothing is stored. A name you already
    gave a view of the project answers 409 `view_name_taken`.
    """
    workspace_id = workspace_param(validated("query").workspace_id)
    body = validated("json")
    view = saved_views.create_view(workspace_id, _owner(), body.project_id, body.name, body.query, body.layout)
    return _json(view), 201, {"Location": url_for("api.get_view", view_id=view.id)}


@bp.get("/views/<view_id>")
@require("read")
@operation("getSavedView", "views", {200: (shapes.SavedView, "The view.")}, (400, 401, 404))
def get_view(view_id):
    """Get a saved view

    Any view of the workspace (views are shared by URL); another workspace's answers 404 `view_not_found`.
    """
    return _json(saved_views.get_view(g.workspace_id, view_id))


@bp.patch("/views/<view_id>")
@require("read")
@operation(
    "renameSavedView",
    "views",
    {200: (shapes.SavedView, "The view as it is now.")},
    (400, 401, 403, 404, 409, 415),
    body=inputs.SavedViewPatch,
    media=("application/json", "application/merge-patch+json"),
)
def rename_view(view_id):
    """Rename a saved view

    Only the view's owner may (403 `view_not_yours`).
    """
    view = saved_views.rename_view(g.workspace_id, _owner(), view_id, validated("json").name)
    return _json(view)


@bp.delete("/views/<view_id>")
@require("read")
@operation("deleteSavedView", "views", {200: (shapes.SavedViewDeleted, "Gone.")}, (400, 401, 403, 404))
def delete_view(view_id):
    """Delete a saved view

    Only the view's owner may (403 `view_not_yours`); the images it lists are untouched.
    """
    saved_views.delete_view(g.workspace_id, _owner(), view_id)
    return shapes.SavedViewDeleted(id=view_id).dump()


@bp.get("/views/<view_id>/images")
@require("read")
@operation(
    "runSavedView",
    "views",
    {200: (shapes.ImageList, "A page of the view's images, in its sort.")},
    (400, 401, 404),
    query=inputs.SavedViewRunQuery,
)
def run_view(view_id):
    """List a saved view's images

    The view's filters, search and sort run by the same query engine as `GET /api/images`, with the page (`limit`,
    `cursor`) and `count` from the caller.
    """
    page_of = validated("query")
    view = saved_views.get_view(g.workspace_id, view_id)
    query = view.list_query(subject="images", limit=page_of.limit, cursor=page_of.cursor, count=page_of.count)
    page = queries.run(query)
    return list_json([image_json(entry.image, entry.file) for entry in page.entries], page.next_cursor, page.total)
