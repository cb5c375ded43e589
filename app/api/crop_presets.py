"""A workspace's crop presets: anyone in it reads them, owners (or write tokens) replace the list."""

from flask import g, request

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.spec import operation
from app.domain import crops, inputs, shapes
from app.domain.accounts import get_workspace


def _presets_json(presets) -> dict:
    return shapes.CropPresetList(data=[shapes.CropPreset(**preset.as_json()) for preset in presets]).dump()


@bp.get("/workspace/crop-presets")
@require("read")
@operation(
    "listCropPresets",
    "workspace",
    {200: (shapes.CropPresetList, "Every preset, in order.")},
    (400, 401, 404),
    query=inputs.WorkspaceQuery,
)
def get_crop_presets():
    """The workspace's crop presets

    hero 16:9, card 1:1 and social 1.91:1 until an owner changes them.
    """
    workspace_id = workspace_param(request.args.get("workspace_id"))
    return _presets_json(crops.workspace_presets(get_workspace(workspace_id)))


@bp.put("/workspace/crop-presets")
@require("owner")
@operation(
    "replaceCropPresets",
    "workspace",
    {200: (shapes.CropPresetList, "The presets as they are now.")},
    (400, 401, 403, 404, 415),
    query=inputs.WorkspaceQuery,
    body=inputs.CropPresetsUpdate,
)
def put_crop_presets():
    """Replace the workspace's crop presets

    The whole list at once, so order and removals are explicit; a bad list answers 400 `invalid_crop_preset` and
    nothing changes. Recorded in the settings history. Owners only: an owner's session or a `write` token.
    """
    workspace_id = workspace_param(request.args.get("workspace_id"))
    actor = g.user.email if g.user is not None else f"token:{g.token.id}"
    return _presets_json(crops.update_presets(workspace_id, actor, request.get_json()["data"]))
