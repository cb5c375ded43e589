"""The gallery's own edit forms (focal point by click, drag or keys; inline rename), announced as `image.updated`
exactly as `PATCH /api/images/{id}` does (app.domain.image_edits holds the shared parts)."""

from __future__ import annotations

import math
from collections.abc import Callable

from app.domain.accounts import DomainError
from app.domain.events import emit
from app.domain.files import File, safe_display_name
from app.domain.image_edits import gravity, snapshot, with_focus
from app.domain.images import Image
from app.extensions import db

__all__ = ["crop_options", "gravity", "rename_file", "set_focal_point"]


def _edit(image: Image | None, file: File | None, change: Callable[[], None]) -> None:
    """Applies `change` and, for an image, emits `image.updated` with what changed (as the API does); commits."""
    announce = image is not None and file is not None
    before = snapshot(image, file) if announce else None
    change()
    if announce:
        after = snapshot(image, file)
        changed = {key: value for key, value in after.items() if before[key] != value}
        if changed:
            emit("image.updated", workspace_id=file.workspace_id, subject_id=file.id, payload={"changed": changed})
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
    """Renames with the same cleaning as uploads (no path, no control characters, bounded); blank is refused."""
    if not (name or "").strip():
        raise DomainError("invalid_name", "A name cannot be empty.")

    def change() -> None:
        file.name = safe_display_name(name)

    _edit(db.session.get(Image, file.id), file, change)
    return file
