"""Editing an image's descriptive fields (alt text, decorative, focal point, name) and deleting one not ready yet."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from app.domain import crops, organise
from app.domain.accounts import Workspace
from app.domain.errors import DomainError, NotFound
from app.domain.events import emit
from app.domain.files import MAX_NAME_LENGTH, File, clean_name
from app.domain.gallery import clean_alt_text
from app.domain.image_status import not_ready
from app.domain.images import Image, get_image
from app.event_types import EventType
from app.extensions import db

EDITABLE = ("altText", "decorative", "focalPoint", "name", "crops", "tags")
_CROPPING = re.compile(r"(^|,)fit=(cover|crop)(,|$)")


def _invalid(field: str, detail: str) -> DomainError:
    return DomainError("invalid_field", detail, parameter=field)


def parse_focal_point(value) -> tuple[float, float] | None:
    """{x, y} with both numbers in [0, 1] (0, 0 is the top left), or None for the centre."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"x", "y"}:
        raise _invalid("focalPoint", 'focalPoint is {"x": …, "y": …} or null.')
    point = []
    for axis in ("x", "y"):
        number = value[axis]
        if (
            isinstance(number, bool)
            or not isinstance(number, (int, float))
            or not math.isfinite(number)
            or not 0 <= number <= 1
        ):
            raise _invalid("focalPoint", f"focalPoint.{axis} must be a number from 0 to 1.")
        point.append(float(number))
    return point[0], point[1]


def parse_name(value) -> str:
    """1 to 255 characters, cleaned as the gallery's rename cleans (a "/" is kept: a typed name is not a path)."""
    if not isinstance(value, str) or not value.strip():
        raise _invalid("name", "name must be a non-empty string.")
    if len(value) > MAX_NAME_LENGTH:
        raise _invalid("name", f"name can be at most {MAX_NAME_LENGTH} characters.")
    cleaned = clean_name(value)
    if cleaned == "untitled" and value.strip() != "untitled":
        raise _invalid("name", "name must contain something besides spaces, dots and control characters.")
    return cleaned


def _parse(changes) -> dict:
    if not isinstance(changes, dict):
        raise DomainError("invalid_body", "Send a JSON object with any of " + ", ".join(EDITABLE) + ".")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise DomainError(
            "unknown_field",
            f"Unknown field {unknown[0]!r}; editable fields are {', '.join(EDITABLE)}.",
            parameter=unknown[0],
        )
    parsed = {}
    if "altText" in changes:
        if changes["altText"] is not None and not isinstance(changes["altText"], str):
            raise _invalid("altText", "altText must be a string or null.")
        parsed["altText"] = changes["altText"]
    if "decorative" in changes:
        if not isinstance(changes["decorative"], bool):
            raise _invalid("decorative", "decorative must be true or false.")
        parsed["decorative"] = changes["decorative"]
    if "focalPoint" in changes:
        parsed["focalPoint"] = parse_focal_point(changes["focalPoint"])
    if "name" in changes:
        parsed["name"] = parse_name(changes["name"])
    if "crops" in changes:
        if not isinstance(changes["crops"], dict) or not changes["crops"]:
            raise _invalid("crops", 'crops is {"<preset>": {"x", "y", "width", "height"} or null, …}.')
        parsed["crops"] = changes["crops"]
    if "tags" in changes:
        parsed["tags"] = changes["tags"]
    return parsed


def apply_crops(image: Image, raw: dict) -> None:
    """Stores or clears (null) the rectangle of each named preset, checked against the preset and the image."""
    workspace = db.session.get(Workspace, image.workspace_id)
    presets = {preset.name: preset for preset in crops.workspace_presets(workspace)}
    stored = dict(image.crops or {})
    for name, value in raw.items():
        if name not in presets:
            raise DomainError(
                "unknown_crop_preset",
                f"There is no crop preset {name!r}; this workspace has {', '.join(presets) or 'none'}.",
                parameter=f"crops.{name}",
            )
        if value is None:
            stored.pop(name, None)
        else:
            stored[name] = crops.check_rect(presets[name], image.width, image.height, value).as_json()
    image.crops = stored or None


def update_image(workspace_id: str, file_id: str, changes) -> tuple[Image, File]:
    """Applies a partial edit; `image.updated` with the changed fields commits with the rows."""
    parsed = _parse(changes)
    image = get_image_or_not_ready(workspace_id, file_id)
    file = db.session.get(File, file_id)
    before = snapshot(image, file)
    if "altText" in parsed or "decorative" in parsed:
        describing = " ".join((parsed.get("altText") or "").split())
        if parsed.get("decorative") is True and describing:
            raise DomainError(
                "alt_text_on_decorative",
                "A decorative image carries no alt text: send either decorative: true or altText, not both.",
                parameter="altText",
            )
        # Describing an image makes it not decorative, unless the same request says otherwise.
        decorative = parsed.get("decorative", image.decorative and not describing)
        alt_text = parsed.get("altText", image.alt_text)
        image.alt_text, image.decorative = clean_alt_text(alt_text, decorative)
    if "focalPoint" in parsed:
        image.focal_x, image.focal_y = parsed["focalPoint"] or (None, None)
    if "name" in parsed:
        file.name = parsed["name"]
    if "crops" in parsed:
        apply_crops(image, parsed["crops"])
    after = snapshot(image, file)
    changed = {key: value for key, value in after.items() if before[key] != value}
    if "tags" in parsed and (tagged := organise.set_tags(workspace_id, file_id, parsed["tags"])):
        changed["tags"] = tagged
    if changed:
        emit(EventType.IMAGE_UPDATED, workspace_id=workspace_id, subject_id=file_id, payload={"changed": changed})
    db.session.commit()
    return image, file


def snapshot(image: Image, file: File) -> dict:
    """The editable fields; each stored crop is its own key (`crops.hero`), so image.updated names the one changed."""
    return {
        "altText": image.alt_text,
        "decorative": image.decorative,
        "focalPoint": focal_point(image),
        "name": file.name,
        **{f"crops.{name}": (image.crops or {}).get(name) for name in _crop_names(image)},
    }


def _crop_names(image: Image) -> list[str]:
    workspace = db.session.get(Workspace, image.workspace_id)
    return sorted({preset.name for preset in crops.workspace_presets(workspace)} | set(image.crops or {}))


def focal_point(image: Image) -> dict | None:
    if image.focal_x is None or image.focal_y is None:
        return None
    return {"x": image.focal_x, "y": image.focal_y}


def gravity(image: Image) -> str | None:
    """The `gravity=XxY` option every crop URL carries when the image has a focal point; None means the centre."""
    point = focal_point(image)
    return None if point is None else f"gravity={_number(point['x'])}x{_number(point['y'])}"


def with_focus(image: Image, options: str) -> str:
    """Flexible-variant options that crop (`fit=cover|crop`) keep the focal point in frame with `gravity=XxY`."""
    option = gravity(image)
    if option is None or not _CROPPING.search(options) or "gravity=" in options:
        return options
    return f"{options},{option}"


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def get_image_or_not_ready(workspace_id: str, file_id: str) -> Image:
    """The image; an image file still on its way (or failed) answers 409 image_not_ready, anything else 404."""
    try:
        return get_image(workspace_id, file_id)
    except NotFound:
        file = db.session.get(File, file_id) if isinstance(file_id, str) and len(file_id) <= 32 else None
        if file is not None and file.workspace_id == workspace_id and file.deleted_at is None:
            refusal = not_ready(file)
            if refusal is not None:
                raise refusal from None
        raise


def delete_image(workspace_id: str, file_id: str, permanent: bool = False):
    """Deletes the image with its file, ready or not (a file still being processed goes and never becomes one): into
    the workspace's trash, or for good; returns until when it can be restored (None: gone for good)."""
    from app.domain import trash

    return trash.delete_image(workspace_id, file_id, permanent)


def _edit(image: Image | None, file: File | None, change: Callable[[], None]) -> None:
    """Applies `change` and, for an image, emits `image.updated` with what changed (as the API does); commits."""
    announce = image is not None and file is not None
    before = snapshot(image, file) if announce else None
    change()
    if announce:
        after = snapshot(image, file)
        changed = {key: value for key, value in after.items() if before[key] != value}
        if changed:
            emit(
                EventType.IMAGE_UPDATED,
                workspace_id=file.workspace_id,
                subject_id=file.id,
                payload={"changed": changed},
            )
    db.session.commit()


def set_focal_point(image: Image, x: float | None, y: float | None) -> Image:
    """Stores where crops keep their subject (0-1 across and down); None for both returns to the centre."""
    if x is None and y is None:
        point = (None, None)
    else:
        if x is None or y is None:
            raise DomainError("invalid_focal_point", "A focal point needs both x and y, or neither to reset it.")
        try:
            x, y = float(x), float(y)
        except (TypeError, ValueError):
            raise DomainError("invalid_focal_point", "The focal point's x and y must be numbers from 0 to 1.") from None
        if not (math.isfinite(x) and math.isfinite(y) and 0 <= x <= 1 and 0 <= y <= 1):
            raise DomainError("invalid_focal_point", "The focal point's x and y must be numbers from 0 to 1.")
        point = (round(x, 4), round(y, 4))

    def change() -> None:
        image.focal_x, image.focal_y = point

    _edit(image, db.session.get(File, image.file_id) if image.file_id else None, change)
    return image


def crop_options(image: Image, options: str) -> str:
    """Adds the focal point to flexible-variant options that crop (`fit=cover` or `fit=crop`)."""
    return with_focus(image, options)


def rename_file(file: File, name: str | None) -> File:
    """Renames to the name as typed (a "/" is part of it, not a path), cleaned and bounded; blank is refused."""
    if not (name or "").strip():
        raise DomainError("invalid_name", "A name cannot be empty.")

    def change() -> None:
        file.name = clean_name(name)

    _edit(db.session.get(Image, file.id), file, change)
    return file
