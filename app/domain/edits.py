"""Edits an editor makes to an image or file after upload: the focal point crops keep, and the file's name."""

from __future__ import annotations

import math

from app.domain.accounts import DomainError
from app.domain.files import File, safe_display_name
from app.domain.images import Image
from app.extensions import db


def set_focal_point(image: Image, x: float | None, y: float | None) -> Image:
    """Stores where crops keep their subject (0-1 across and down); None for both returns to the centre."""
    if x is None and y is None:
        image.focal_x = image.focal_y = None
    else:
        if x is None or y is None:
            raise DomainError("invalid_focal_point", "A focal point needs both x and y, or neither to reset it.")
        try:
            x, y = float(x), float(y)
        except (TypeError, ValueError):
            raise DomainError("invalid_focal_point", "The focal point's x and y must be numbers from 0 to 1.") from None
        if not (math.isfinite(x) and math.isfinite(y) and 0 <= x <= 1 and 0 <= y <= 1):
            raise DomainError("invalid_focal_point", "The focal point's x and y must be numbers from 0 to 1.")
        image.focal_x, image.focal_y = round(x, 4), round(y, 4)
    db.session.commit()
    return image


def gravity(image: Image) -> str | None:
    """The `gravity=XxY` option every crop URL carries when the image has a focal point; None means the centre."""
    if image.focal_x is None or image.focal_y is None:
        return None
    return f"gravity={_short(image.focal_x)}x{_short(image.focal_y)}"


def _short(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if value else "0"


def crop_options(image: Image, options: str) -> str:
    """Adds the focal point to flexible-variant options that crop (`fit=cover` or `fit=crop`)."""
    if ("fit=cover" in options or "fit=crop" in options) and gravity(image):
        return f"{options},{gravity(image)}"
    return options


def rename_file(file: File, name: str | None) -> File:
    """Renames with the same cleaning as uploads (no path, no control characters, bounded); blank is refused."""
    if not (name or "").strip():
        raise DomainError("invalid_name", "A name cannot be empty.")
    file.name = safe_display_name(name)
    db.session.commit()
    return file
