import re

from flask import g, jsonify, request, url_for

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.params import list_query
from app.api.problems import ApiProblem
from app.api.spec import operation, validated
from app.domain import files, image_edits, inputs, queries, shapes
from app.domain.errors import NotFound
from app.domain.shapes import image_json, images_json, list_json

# Ids this API hands out; anything else cannot name an image and answers the same 404 as a missing one.
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


@bp.get("/images")
@require("read")
@operation(
    "listImages", "images", {200: (shapes.ImageList, "A page of images.")}, (400, 401, 404), query=inputs.ImageListQuery
)
def list_images():
    """List images, newest first

    Unknown parameters answer 400 `invalid_parameter` naming them.
    """
    spec = list_query("images", validated("query"), workspace_param(request.args.get("workspace_id")))
    page = queries.run(spec)
    return list_json(images_json([(entry.image, entry.file) for entry in page.entries]), page.next_cursor, page.total)


@bp.get("/images/facets")
@require("read")
@operation(
    "getImageFacets",
    "images",
    {200: (shapes.ImageFacets, "Each facet's top values with counts.")},
    (400, 401, 404),
    query=inputs.ImageFacetsQuery,
)
def image_facets():
    """Facet counts of the images that match

    Takes the images list's filters; for each facet (camera, maker, lens, orientation, colour family, format, source,
    has alt text) its ten most frequent values among the matching images, with counts ("Canon EOS R5 (1,204)").
    Counts are exact up to 5,000 matching images and estimated above (`exact: false`).
    """
    spec = list_query("images", validated("query"), workspace_param(request.args.get("workspace_id")))
    return shapes.facets_json(queries.facets(spec))


@bp.post("/images")
@operation(
    "createImage",
    "images",
    {405: (shapes.Problem, "Always: images come from uploaded files.")},
    headers={405: ("Allow",)},
    public=True,
)
def create_image():
    """Not supported: upload a file instead

    There is no create call for images (an image is a file whose bytes are an image); upload with `POST /api/files`.
    """
    raise ApiProblem(
        405,
        "use_files_endpoint",
        "Images are not created directly: upload the file with POST /api/files and it becomes an image once processed.",
        headers={"Allow": "GET, HEAD, OPTIONS", "Link": f'<{url_for("api.upload_file")}>; rel="alternate"'},
        see=url_for("api.upload_file"),
    )


@bp.get("/images/<file_id>")
@require("read")
@operation(
    "getImage",
    "images",
    {200: (shapes.Image, "The image."), 304: (None, "Unchanged since the `ETag` sent in `If-None-Match`.")},
    (400, 401, 404, 409),
    headers={200: ("ETag",), 304: ("ETag",)},
)
def get_image(file_id):
    """Get one image

    An image file that is not ready yet (processing, waiting, failed) answers 409 `image_not_ready`; a missing one 404.
    """
    image = image_edits.get_image_or_not_ready(g.workspace_id, checked_id(file_id))
    return conditional(image_json(image, files.get_file(g.workspace_id, file_id)))


@bp.patch("/images/<file_id>")
@require("write")
@operation(
    "updateImage",
    "images",
    {200: (shapes.Image, "The image as it is now.")},
    (400, 401, 403, 404, 409, 415),
    body=inputs.ImageUpdate,
    media=("application/json", "application/merge-patch+json"),
)
def update_image(file_id):
    """Edit alt text, decorative, focal point, name, tags

    Changes only the fields sent; emits `image.updated` with the fields that changed.
    """
    image, file = image_edits.update_image(g.workspace_id, checked_id(file_id), validated("json").changes())
    return image_json(image, file)


@bp.delete("/images/<file_id>")
@require("write")
@operation(
    "deleteImage",
    "images",
    {200: (shapes.ImageDeleted, "The image is gone.")},
    (400, 401, 403, 404),
    query=inputs.DeleteQuery,
)
def delete_image(file_id):
    """Delete an image and its file

    The image and its file are gone from every list and read at once and the images-service copy is removed
    (nothing is delivered); the file's bytes and row stay in the workspace's trash until `restorableUntil`. An image
    still processing is deleted too (and never appears). `permanent=true` (or `trash_days` 0) removes the bytes too,
    by background jobs shortly after. A second delete answers 404.
    """
    until = image_edits.delete_image(g.workspace_id, checked_id(file_id), validated("query").permanent)
    return shapes.ImageDeleted(file_id=file_id, restorable_until=until).dump()


def conditional(body: dict):
    """A JSON answer with a strong ETag that answers 304 to a matching If-None-Match."""
    response = jsonify(body)
    response.add_etag()
    return response.make_conditional(request)


def checked_id(file_id: str) -> str:
    if not _ID.fullmatch(file_id):
        raise NotFound("image_not_found", f"No image {file_id!r} in this workspace.")
    return file_id
