"""Named crops: a workspace's crop presets and each image's rectangle per preset, checked and placed here only.

A preset is a name, an aspect ratio written `W:H` and an optional minimum width. An image's crop for a preset is
either a stored rectangle in the displayed image's pixels (`x`, `y` from the top left, `width`, `height`) or
automatic: derived from the focal point when there is one, otherwise left to the images service's saliency
(`gravity=auto`). The geometry functions are pure; every face (gallery, API, CLI, MCP) goes through them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.domain.errors import DomainError

NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
RATIO = re.compile(r"(\d{1,4}(?:\.\d{1,4})?):(\d{1,4}(?:\.\d{1,4})?)")
RATIO_RANGE = (0.1, 10.0)  # from a tall 1:10 strip to a wide 10:1 banner
MAX_PRESETS = 12
MAX_MIN_WIDTH = 12_000
SETTING = "crop_presets"
# Width of the URL each crop lists (a crop narrower than this is delivered at its own width).
URL_WIDTH = 1200


@dataclass(frozen=True)
class Preset:
    name: str
    ratio: str  # as written, e.g. "16:9"
    min_width: int | None = None

    @property
    def aspect(self) -> float:
        width, height = self.ratio.split(":")
        return float(width) / float(height)

    def min_height(self) -> int | None:
        return None if self.min_width is None else max(1, round(self.min_width / self.aspect))

    def as_json(self) -> dict:
        return {"name": self.name, "ratio": self.ratio, "minWidth": self.min_width}


DEFAULTS = (Preset("hero", "16:9"), Preset("card", "1:1"), Preset("social", "1.91:1"))


def _invalid(detail: str) -> DomainError:
    return DomainError("invalid_crop_preset", detail, parameter="cropPresets")


def parse_preset(raw) -> Preset:
    """One preset from JSON ({name, ratio, minWidth?}) or the CLI's `name=W:H[@minwidth]`."""
    if isinstance(raw, str):
        name, _, rest = raw.partition("=")
        ratio, _, min_width = rest.partition("@")
        raw = {"name": name, "ratio": ratio, "minWidth": int(min_width) if min_width.isdigit() else min_width or None}
    if not isinstance(raw, dict) or not {"name", "ratio"} <= set(raw) or set(raw) - {"name", "ratio", "minWidth"}:
        raise _invalid('A crop preset is {"name": "hero", "ratio": "16:9", "minWidth": 1200 or null}.')
    name, ratio, min_width = raw["name"], raw["ratio"], raw.get("minWidth")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise _invalid(f"Preset name {name!r} must be 1-32 lowercase letters, digits or '-', starting with a letter.")
    match = RATIO.fullmatch(ratio) if isinstance(ratio, str) else None
    if match is None or float(match.group(2)) == 0:
        raise _invalid(f"Preset {name}: ratio {ratio!r} must be written W:H, such as 16:9 or 1.91:1.")
    aspect = float(match.group(1)) / float(match.group(2))
    if not RATIO_RANGE[0] <= aspect <= RATIO_RANGE[1]:
        raise _invalid(f"Preset {name}: ratio {ratio} must be between 1:10 and 10:1.")
    if min_width is not None and (
        isinstance(min_width, bool) or not isinstance(min_width, int) or not 1 <= min_width <= MAX_MIN_WIDTH
    ):
        raise _invalid(f"Preset {name}: minWidth must be a whole number of pixels from 1 to {MAX_MIN_WIDTH:,}.")
    return Preset(name, ratio, min_width)


def parse_presets(raw) -> tuple[Preset, ...]:
    """A whole list of presets: each valid, names unique, at most MAX_PRESETS."""
    if not isinstance(raw, list):
        raise _invalid("cropPresets must be a list of presets.")
    if len(raw) > MAX_PRESETS:
        raise _invalid(f"A workspace can have at most {MAX_PRESETS} crop presets.")
    presets = tuple(parse_preset(item) for item in raw)
    names = [preset.name for preset in presets]
    duplicate = next((name for name in names if names.count(name) > 1), None)
    if duplicate:
        raise _invalid(f"Preset names must be unique; {duplicate!r} is there twice.")
    return presets


def workspace_presets(workspace) -> tuple[Preset, ...]:
    """The workspace's presets, the defaults until an owner changes them."""
    stored = workspace.setting(SETTING)
    if stored is None:
        return DEFAULTS
    return tuple(Preset(item["name"], item["ratio"], item.get("minWidth")) for item in stored)


def presets_text(presets) -> str:
    """A short, human summary (the settings history records it)."""
    return ", ".join(f"{p.name} {p.ratio}" + (f"@{p.min_width}" if p.min_width else "") for p in presets) or "none"


# ------------------------------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    width: int
    height: int

    def as_json(self) -> dict:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


def keeps_ratio(rect: Rect, aspect: float) -> bool:
    """Whether whole-pixel rounding explains the difference between the rect's shape and the ratio."""
    return abs(rect.width - rect.height * aspect) <= 1 or abs(rect.height - rect.width / aspect) <= 1


def check_rect(preset: Preset, image_w: int, image_h: int, raw) -> Rect:
    """A rectangle for `preset` inside an image_w × image_h image: whole pixels, the preset's ratio, its minimum."""
    field = f"crops.{preset.name}"
    if not isinstance(raw, dict) or set(raw) != {"x", "y", "width", "height"}:
        raise DomainError(
            "invalid_crop", f'{field} is {{"x", "y", "width", "height"}} in pixels, or null.', parameter=field
        )
    values = [raw[key] for key in ("x", "y", "width", "height")]
    if any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise DomainError("invalid_crop", f"{field}: x, y, width and height are whole pixels.", parameter=field)
    rect = Rect(*values)
    if rect.x < 0 or rect.y < 0 or rect.width < 1 or rect.height < 1:
        raise DomainError("invalid_crop", f"{field} must start inside the image and be at least 1 px.", parameter=field)
    if rect.x + rect.width > image_w or rect.y + rect.height > image_h:
        raise DomainError(
            "invalid_crop", f"{field} must lie inside the image ({image_w} × {image_h} px).", parameter=field
        )
    if not keeps_ratio(rect, preset.aspect):
        raise DomainError(
            "invalid_crop",
            f"{field} is {rect.width} × {rect.height}, not the preset's {preset.ratio} (within a pixel).",
            parameter=field,
        )
    if preset.min_width is not None and rect.width < preset.min_width:
        raise DomainError(
            "crop_too_small", f"{field} must be at least {preset.min_width} px wide for {preset.name}.", parameter=field
        )
    return rect


def largest_rect(aspect: float, image_w: int, image_h: int, point: tuple[float, float]) -> Rect:
    """The largest `aspect` rectangle inside the image placed by `point` (0-1 each way), as a crop's gravity is."""
    if image_w / image_h > aspect:
        width, height = min(image_w, max(1, round(image_h * aspect))), image_h
    else:
        width, height = image_w, min(image_h, max(1, round(image_w / aspect)))
    x = min(max(0, round((image_w - width) * point[0])), image_w - width)
    y = min(max(0, round((image_h - height) * point[1])), image_h - height)
    return Rect(x, y, width, height)


def trim_options(rect: Rect, image_w: int, image_h: int, aspect: float, width: int | None = None) -> str:
    """Flexible-variant options for a stored rect: trim it out (top;right;bottom;left), then size it with fit=cover."""
    out_w = width if width is not None else min(URL_WIDTH, rect.width)
    out_h = max(1, round(out_w / aspect))
    bottom, right = image_h - rect.y - rect.height, image_w - rect.x - rect.width
    return f"trim={rect.y};{right};{bottom};{rect.x},w={out_w},h={out_h},fit=cover"


def auto_options(aspect: float, gravity: str | None, width: int = URL_WIDTH) -> str:
    """Flexible-variant options for an automatic crop: the focal point's gravity, else the service's saliency."""
    return f"w={width},h={max(1, round(width / aspect))},fit=cover,{gravity or 'gravity=auto'}"


def stored_rect(image, name: str) -> Rect | None:
    raw = (image.crops or {}).get(name)
    return None if raw is None else Rect(raw["x"], raw["y"], raw["width"], raw["height"])


def still_fits(rect: Rect, preset: Preset, image_w: int, image_h: int) -> bool:
    """Whether a stored rect is still valid for the preset as it is now (presets can be edited afterwards)."""
    try:
        check_rect(preset, image_w, image_h, rect.as_json())
    except DomainError:
        return False
    return True


def crop_json(image, preset: Preset, gravity: str | None, url_of) -> dict:
    """One preset's entry in the Image JSON: `url_of(options)` delivers it; `rect` is null when saliency decides."""
    rect = stored_rect(image, preset.name)
    if rect is not None and still_fits(rect, preset, image.width, image.height):
        options = trim_options(rect, image.width, image.height, preset.aspect)
        return {"url": url_of(options), "rect": rect.as_json(), "auto": False, "ratio": preset.ratio}
    if gravity is None:
        return {"url": url_of(auto_options(preset.aspect, None)), "rect": None, "auto": True, "ratio": preset.ratio}
    point = tuple(float(part) for part in gravity.removeprefix("gravity=").split("x"))
    derived = largest_rect(preset.aspect, image.width, image.height, point)  # type: ignore[arg-type]
    return {
        "url": url_of(auto_options(preset.aspect, gravity)),
        "rect": derived.as_json(),
        "auto": True,
        "ratio": preset.ratio,
    }


def image_crops(image, point: str | None) -> dict:
    """Every preset of the image's workspace with its URL, rect and whether it is automatic (the Image JSON's crops);
    `point` is the focal point's `gravity=XxY` option (None: none). Private images have no flexible variants, so
    their crops list the rect with a null URL."""
    from app.domain.accounts import Workspace
    from app.domain.images import delivery_url
    from app.extensions import db

    presets = workspace_presets(db.session.get(Workspace, image.workspace_id))
    url_of = (lambda options: None) if image.require_signed_urls else (lambda options: delivery_url(image, options))
    return {preset.name: crop_json(image, preset, point, url_of) for preset in presets}


def update_presets(workspace_id: str, actor: str, raw) -> tuple[Preset, ...]:
    """Replaces the workspace's presets (recorded in the settings history); stored crops of a preset that is gone
    or whose ratio changed are kept but listed as automatic until they fit again."""
    from app.domain.accounts import get_workspace
    from app.domain.common import utcnow
    from app.domain.workspace_settings import SettingChange
    from app.extensions import db

    workspace = get_workspace(workspace_id)
    presets, old = parse_presets(raw), workspace_presets(workspace)
    if presets != old:
        workspace.settings = {**(workspace.settings or {}), SETTING: [preset.as_json() for preset in presets]}
        db.session.add(
            SettingChange(
                workspace_id=workspace_id,
                actor=actor[:320],
                field=SETTING,
                old_value=presets_text(old)[:64],
                new_value=presets_text(presets)[:64],
                changed_at=utcnow(),
            )
        )
    db.session.commit()
    return presets
