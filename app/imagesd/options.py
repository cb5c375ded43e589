"""Transformation options: flexible-variant text (`w=400,fit=cover`) and named-variant JSON become one Transform."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

from PIL import ImageColor

from .errors import ApiError, DeliveryError
from .settings import MAX_SIDE

FITS = ("scale-down", "contain", "cover", "crop", "pad", "squeeze")
VARIANT_FITS = ("scale-down", "contain", "cover", "crop", "pad")
FORMATS = ("auto", "avif", "webp", "jpeg", "baseline-jpeg", "png", "json")
METADATA = ("keep", "copyright", "none")
# gravity=auto is saliency (app/imagesd/attention.py); AUTO marks it until the pixels are known.
AUTO = (-1.0, -1.0)
GRAVITY_SIDES = {
    "auto": AUTO,
    "center": (0.5, 0.5),
    "face": (0.5, 0.5),
    "left": (0.0, 0.5),
    "right": (1.0, 0.5),
    "top": (0.5, 0.0),
    "bottom": (0.5, 1.0),
}
# Cloudflare names these qualities without publishing the numbers; the stand-in's guesses.
QUALITY_NAMES = {"high": 90, "medium-high": 80, "medium-low": 65, "low": 50}
FLIPS = ("h", "v", "hv")
ALIASES = {"w": "width", "h": "height", "q": "quality", "f": "format", "g": "gravity"}
UNSUPPORTED = {"zoom", "segment", "border", "onerror"}
TRIM_SIDES = ("trim.left", "trim.top", "trim.width", "trim.height")
SPLIT_OPTIONS = re.compile(r",(?![^()]*\))")


@dataclass(frozen=True)
class Transform:
    width: int | None = None
    height: int | None = None
    fit: str = "scale-down"
    gravity: tuple[float, float] = (0.5, 0.5)
    quality: int = 85
    format: str = "auto"
    dpr: float = 1.0
    sharpen: float = 0.0
    blur: float = 0.0
    rotate: int = 0
    flip: str = ""
    background: tuple[int, int, int, int] | None = None
    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0
    gamma: float = 1.0
    metadata: str = "copyright"
    anim: bool = True
    # Pixels cut from the displayed original's top, right, bottom and left before anything else.
    trim: tuple[int, int, int, int] = (0, 0, 0, 0)
    # trim.width/trim.height with trim.left/trim.top: a region instead of sides (resolved against the size).
    trim_region: tuple[int | None, int | None] = (None, None)

    @property
    def auto_gravity(self) -> bool:
        return self.gravity == AUTO

    def trimmed(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The (left, top, right, bottom) box a width × height original keeps after trim, at least 1 px a side."""
        top, right, bottom, left = self.trim
        region_w, region_h = self.trim_region
        if region_w is not None:
            right = width - left - region_w
        if region_h is not None:
            bottom = height - top - region_h
        left, top = min(max(0, left), width - 1), min(max(0, top), height - 1)
        right_edge = max(left + 1, min(width, width - max(0, right)))
        bottom_edge = max(top + 1, min(height, height - max(0, bottom)))
        return left, top, right_edge, bottom_edge

    def cache_text(self) -> str:
        return repr(self)

    def target_size(self) -> tuple[int | None, int | None]:
        """Width and height after dpr, capped at the largest side Images will produce."""

        def scaled(value: int | None) -> int | None:
            return None if value is None else max(1, min(MAX_SIDE, round(value * self.dpr)))

        return scaled(self.width), scaled(self.height)


def invalid(message: str) -> DeliveryError:
    return DeliveryError(400, 9401, message)


def _whole(name: str, raw: str, low: int, high: int) -> int:
    if not re.fullmatch(r"\d+", raw):
        raise invalid(f"{name}={raw} is not valid: {name} must be a whole number of pixels.")
    value = int(raw)
    if not low <= value <= high:
        raise invalid(f"{name}={raw} is out of range: {name} must be between {low} and {high}.")
    return value


def _number(name: str, raw: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise invalid(f"{name}={raw} is not valid: {name} must be a number.") from None
    if not (low <= value <= high):
        raise invalid(f"{name}={raw} is out of range: {name} must be between {low:g} and {high:g}.")
    return value


def _choice(name: str, raw: str, choices) -> str:
    if raw not in choices:
        raise invalid(f"{name}={raw} is not valid: {name} must be one of {', '.join(choices)}.")
    return raw


def _gravity(raw: str) -> tuple[float, float]:
    if raw in GRAVITY_SIDES:
        return GRAVITY_SIDES[raw]
    match = re.fullmatch(r"([0-9.]+)x([0-9.]+)", raw)
    if match:
        try:
            x, y = float(match.group(1)), float(match.group(2))
        except ValueError:
            x = y = -1.0
        if 0 <= x <= 1 and 0 <= y <= 1:
            return (x, y)
    raise invalid(
        f"gravity={raw} is not valid: use auto, left, right, top, bottom or XxY with X and Y between 0 and 1."
    )


def _trim(raw: str) -> tuple[int, int, int, int]:
    parts = raw.split(";")
    if len(parts) != 4 or not all(re.fullmatch(r"\d+", part) for part in parts):
        raise invalid(f"trim={raw} is not valid: write top;right;bottom;left in whole pixels, such as trim=20;0;20;0.")
    return tuple(int(part) for part in parts)  # type: ignore[return-value]


def _trim_side(transform: Transform, key: str, value: int) -> Transform:
    """trim.left/trim.top move the region's corner; trim.width/trim.height give its size."""
    top, right, bottom, left = transform.trim
    region_w, region_h = transform.trim_region
    if key == "trim.width":
        region_w = value
    elif key == "trim.height":
        region_h = value
    elif key == "trim.left":
        left = value
    else:
        top = value
    return replace(transform, trim=(top, right, bottom, left), trim_region=(region_w, region_h))


def _background(raw: str) -> tuple[int, int, int, int]:
    try:
        color = ImageColor.getcolor(raw, "RGBA")
    except ValueError:
        raise invalid(f"background={raw} is not a CSS colour (write # as %23).") from None
    return tuple(color)  # type: ignore[return-value]


def _apply(transform: Transform, key: str, raw: str) -> Transform:
    key = ALIASES.get(key, key)
    if key in {"width", "height"}:
        if raw == "auto":
            return replace(transform, **{key: None})
        return replace(transform, **{key: _whole(key, raw, 1, MAX_SIDE)})
    if key == "fit":
        return replace(transform, fit=_choice("fit", raw, FITS))
    if key == "gravity":
        return replace(transform, gravity=_gravity(raw))
    if key == "quality":
        if raw in QUALITY_NAMES:
            return replace(transform, quality=QUALITY_NAMES[raw])
        return replace(transform, quality=_whole("quality", raw, 1, 100))
    if key == "format":
        return replace(transform, format=_choice("format", raw, FORMATS))
    if key == "dpr":
        return replace(transform, dpr=_number("dpr", raw, 0.1, 2))
    if key == "sharpen":
        return replace(transform, sharpen=_number("sharpen", raw, 0, 10))
    if key == "blur":
        return replace(transform, blur=_number("blur", raw, 0, 250))
    if key == "rotate":
        return replace(transform, rotate=int(_choice("rotate", raw, ("0", "90", "180", "270"))))
    if key == "flip":
        return replace(transform, flip=_choice("flip", raw, FLIPS))
    if key == "background":
        return replace(transform, background=_background(raw))
    if key in {"brightness", "contrast", "saturation", "gamma"}:
        return replace(transform, **{key: _number(key, raw, 0, 10)})
    if key == "metadata":
        return replace(transform, metadata=_choice("metadata", raw, METADATA))
    if key == "anim":
        return replace(transform, anim=_choice("anim", raw, ("true", "false")) == "true")
    if key == "trim":
        return replace(transform, trim=_trim(raw))
    if key in TRIM_SIDES:
        return _trim_side(transform, key, _whole(key, raw, 1 if key in {"trim.width", "trim.height"} else 0, 10**6))
    if key == "compression":
        _choice("compression", raw, ("fast",))
        return transform
    if key in UNSUPPORTED:
        raise invalid(f"{key} is a Cloudflare option the local stand-in does not implement.")
    raise invalid(f"{key} is not an image option.")


@functools.lru_cache(maxsize=4096)
def parse_flexible(text: str) -> Transform:
    """Parse the last URL segment of a flexible variant; raise 9401 with the offending option otherwise."""
    transform = Transform()
    if not text:
        raise invalid("A flexible variant needs at least one option, such as w=400.")
    for item in SPLIT_OPTIONS.split(text):
        key, sep, raw = item.partition("=")
        if not sep or not key or raw == "":
            raise invalid(f"{item!r} is not an option: write key=value pairs separated by commas, without spaces.")
        transform = _apply(transform, key.strip(), raw)
    return transform


def validate_variant_options(options: object) -> dict:
    """Check a named variant's options as the API receives them and return them with defaults filled in."""
    if not isinstance(options, dict):
        raise ApiError(400, 5400, "options must be an object with fit, width, height and metadata.")
    unknown = set(options) - {"fit", "width", "height", "metadata", "browser_ttl"}
    if unknown:
        raise ApiError(400, 5400, f"Unknown variant option: {', '.join(sorted(unknown))}.")
    fit = options.get("fit", "scale-down")
    if fit not in VARIANT_FITS:
        raise ApiError(400, 5400, f"fit must be one of {', '.join(VARIANT_FITS)}, not {fit!r}.")
    metadata = options.get("metadata", "none")
    if metadata not in METADATA:
        raise ApiError(400, 5400, f"metadata must be one of {', '.join(METADATA)}, not {metadata!r}.")
    clean = {"fit": fit, "metadata": metadata}
    for name in ("width", "height"):
        value = options.get(name)
        if value is None:
            raise ApiError(400, 5400, f"options.{name} is required.")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise ApiError(400, 5400, f"options.{name} must be a whole number of pixels, not {value!r}.")
        if not 1 <= value <= MAX_SIDE:
            raise ApiError(400, 5400, f"options.{name} must be between 1 and {MAX_SIDE}, not {value!r}.")
        clean[name] = int(value)
    if "browser_ttl" in options:
        ttl = options["browser_ttl"]
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= 31_536_000:
            raise ApiError(400, 5400, "options.browser_ttl must be a whole number of seconds up to 31536000.")
        clean["browser_ttl"] = ttl
    return clean


def from_variant(options: dict) -> Transform:
    return Transform(
        width=options.get("width"),
        height=options.get("height"),
        fit=options.get("fit", "scale-down"),
        metadata=options.get("metadata", "none"),
    )
