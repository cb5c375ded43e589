"""A photo library's summary of an image's EXIF: camera and lens, exposure as 1/75 s, f/2.4, ISO, when it was taken."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

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
