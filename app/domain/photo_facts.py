"""A photo library's summary of an image's EXIF: camera and lens, exposure as 1/75 s, f/2.4, ISO, when it was taken."""

from __future__ import annotations

import colorsys
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

COLOUR_SPACES = {1: "sRGB", 2: "Adobe RGB", 65535: "Uncalibrated (see the embedded profile)"}
_EXIF_TIME = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"[+-]\d{2}:\d{2}")


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def exposure(seconds) -> str | None:
    """1/75 s where a whole denominator is within 10 %, otherwise seconds with one decimal (0.8 s, 2 s, 1.5 s)."""
    value = _number(seconds)
    if value is None or value <= 0:
        return None
    if value < 1:
        denominator = round(1 / value)
        if denominator >= 2 and abs(1 / denominator - value) <= value / 10:
            return f"1/{denominator} s"
    return (f"{value:.1f}".removesuffix(".0") if value >= 0.05 else f"{value:.2g}") + " s"


def f_number(value) -> str | None:
    """f/2.4, f/8, f/11: one decimal at most, as lenses are marked."""
    number = _number(value)
    if number is None or number <= 0:
        return None
    return "f/" + f"{number:.1f}".removesuffix(".0")


def focal_length(value, in_35mm=None) -> str | None:
    number = _number(value)
    if number is None or number <= 0:
        return None
    text = f"{number:.1f}".removesuffix(".0") + " mm"
    equivalent = _number(in_35mm)
    if equivalent and equivalent > 0 and round(equivalent) != round(number):
        text += f" ({round(equivalent)} mm in 35 mm terms)"
    return text


def camera(exif: dict) -> str | None:
    make, model = (str(exif.get(k) or "").strip() for k in ("Make", "Model"))
    if model and make and model.lower().startswith(make.split()[0].lower()):
        return model
    return " ".join(part for part in (make, model) if part) or None


def lens(exif: dict) -> str | None:
    model = str(exif.get("LensModel") or "").strip()
    make = str(exif.get("LensMake") or "").strip()
    if model and make and not model.lower().startswith(make.split()[0].lower()):
        return f"{make} {model}"
    return model or None


@dataclass(frozen=True)
class Taken:
    """When a photo was taken: `iso` carries the offset when the camera recorded one, so a browser can localise it."""

    iso: str
    text: str
    zoned: bool


def taken(exif: dict) -> Taken | None:
    raw = str(exif.get("DateTimeOriginal") or exif.get("DateTime") or "")
    match = _EXIF_TIME.match(raw)
    if not match:
        return None
    year, month, day, hour, minute, second = match.groups()
    if not (
        year >= "0001"
        and "01" <= month <= "12"
        and "01" <= day <= "31"
        and hour < "24"
        and minute < "60"
        and second < "61"
    ):
        return None
    local = f"{year}-{month}-{day}T{hour}:{minute}:{second}"
    offset = str(exif.get("OffsetTimeOriginal") or exif.get("OffsetTime") or "").strip()
    zoned = bool(_OFFSET.fullmatch(offset))
    return Taken(iso=local + (offset if zoned else ""), text=f"{year}-{month}-{day} {hour}:{minute}", zoned=zoned)


def summary(exif: dict, width: int, height: int) -> list[tuple[str, str]]:
    """(label, value) rows in a photo library's order; what the EXIF does not say is left out."""
    exif = exif or {}
    iso = exif.get("ISOSpeedRatings") or exif.get("PhotographicSensitivity")
    if isinstance(iso, list):
        iso = iso[0] if iso else None
    rows = [
        ("Camera", camera(exif)),
        ("Lens", lens(exif)),
        (
            "Exposure",
            ", ".join(
                filter(
                    None,
                    [
                        exposure(exif.get("ExposureTime")),
                        f_number(exif.get("FNumber")),
                        f"ISO {iso}" if isinstance(iso, int) and iso > 0 else None,
                    ],
                )
            ),
        ),
        ("Focal length", focal_length(exif.get("FocalLength"), exif.get("FocalLengthIn35mmFilm"))),
        ("Dimensions", f"{width:,} × {height:,} px"),
        ("Colour profile", COLOUR_SPACES.get(exif.get("ColorSpace"))),
        ("Location", "Stored in the EXIF (GPS kept)" if exif.get("GPSInfo") else "Not stored (removed on upload)"),
    ]
    return [(label, value) for label, value in rows if value]


# --- the facts the library filters on, extracted once at provisioning (app.domain.images) ----------------------

ORIENTATIONS = ("landscape", "portrait", "square")
# The colour families a dominant colour falls in, by hue and lightness: small and fixed, so a facet stays short.
COLOUR_FAMILIES = (
    "black",
    "white",
    "grey",
    "red",
    "orange",
    "brown",
    "yellow",
    "green",
    "teal",
    "blue",
    "purple",
    "pink",
)
_HUES = ((15, "red"), (45, "orange"), (70, "yellow"), (160, "green"), (200, "teal"), (260, "blue"), (300, "purple"))
_COLOUR = re.compile(r"#([0-9a-fA-F]{6})")
MAX_FACT = 128
# Letters NFKD does not take apart, spelled as people type them without the accent.
_LETTERS = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d"})


def fold(text: str | None) -> str | None:
    """Text for a search in any case and any accents: NFKD without combining marks, case-folded ("Élodie" → "elodie")."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def orientation(width: int, height: int) -> str:
    """landscape, portrait or square from the displayed size (within 2 % counts as square)."""
    if abs(width - height) <= max(width, height) * 0.02:
        return "square"
    return "landscape" if width > height else "portrait"


def colour_family(hex_colour: str | None) -> str | None:
    """The family of a `#rrggbb` colour: black, white or grey when dark, light or unsaturated; else by hue."""
    match = _COLOUR.fullmatch(hex_colour or "")
    if not match:
        return None
    red, green, blue = (int(match.group(1)[i : i + 2], 16) / 255 for i in (0, 2, 4))
    hue, lightness, saturation = colorsys.rgb_to_hls(red, green, blue)
    if lightness < 0.12:
        return "black"
    if lightness > 0.92:
        return "white"
    if saturation < 0.15:
        return "grey"
    degrees = hue * 360
    family = next((name for limit, name in _HUES if degrees < limit), "pink" if degrees < 345 else "red")
    if family in ("orange", "red") and lightness < 0.35 and degrees >= 10:
        return "brown"
    return family


def taken_at(exif: dict) -> datetime | None:
    """When the photo was taken as an instant in UTC (a time without an offset is read as UTC), or None."""
    when = taken(exif or {})
    if when is None:
        return None
    try:
        stamp = datetime.fromisoformat(when.iso)
    except ValueError:
        return None
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC) if 1970 <= stamp.year <= 9998 else None


def _short(value: str | None) -> str | None:
    value = " ".join((value or "").split())[:MAX_FACT]
    return value or None


def facts(exif: dict, width: int, height: int, dominant_color: str | None, uploaded: datetime) -> dict:
    """The indexed columns of an image: camera make and model, lens, date taken (upload time when the EXIF has
    none), orientation and colour family."""
    exif = exif or {}
    return {
        "camera_make": _short(str(exif.get("Make") or "")),
        "camera_model": _short(camera(exif)),
        "lens": _short(lens(exif)),
        "taken_at": taken_at(exif) or uploaded,
        "orientation": orientation(width, height),
        "colour": colour_family(dominant_color),
    }
