"""Masters: what Images is sent when the original breaks its input limits or is a format it refuses.

The original is never changed. A master is derived from it (orientation applied, colour in sRGB, scaled down only as far
as the limits require, re-encoded until it fits the byte limit), stored beside it, and can always be rebuilt from it.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms

from app.adapters.storage import master_key  # noqa: F401 - also where the jobs find it
from app.domain.pictures import MAX_PIXELS, MAX_SIDE, PictureError, check_decodable

MAX_BYTES = 10 * 1024 * 1024
# What Images takes as it is (Pillow's format names; MPO is a camera JPEG with a second picture appended).
SENT_AS_IS = {"JPEG", "MPO", "PNG", "GIF", "WEBP", "HEIF", "AVIF", "SVG"}
JPEG_QUALITIES = (92, 88, 84, 80, 75, 70, 60, 50)
WEBP_QUALITIES = (90, 80, 70, 60, 50)
# When the lowest quality still does not fit, the picture is scaled by this much and encoded again, a few times.
SHRINK_STEP = 0.8
SHRINK_TRIES = 6
_SRGB = ImageCms.createProfile("sRGB")
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class Master:
    key: str
    size: int
    width: int
    height: int
    format: str  # jpeg | png | webp


def fit(width: int, height: int, frames: int = 1) -> tuple[int, int]:
    """The largest size of the same shape that keeps the longest side and the area (of all frames) in the limits."""
    if max(width, height) <= MAX_SIDE and width * height * frames <= MAX_PIXELS:
        return width, height
    long, short = max(width, height), min(width, height)

    def shape(new_long: int) -> tuple[int, int]:
        return new_long, max(1, short * new_long // long)

    def fits(new_long: int) -> bool:
        new_long, new_short = shape(new_long)
        return new_long <= MAX_SIDE and (new_long * new_short * frames <= MAX_PIXELS or new_short == 1)

    new_long = min(long, MAX_SIDE, math.floor(long * math.sqrt(MAX_PIXELS / (width * height * frames))) + 1)
    while new_long > 1 and not fits(new_long):
        new_long -= 1
    while new_long < min(long, MAX_SIDE) and fits(new_long + 1):
        new_long += 1
    new_long, new_short = shape(new_long)
    return (new_long, new_short) if width >= height else (new_short, new_long)


def reason(format_: str, size: int, width: int, height: int, frames: int = 1, mode: str = "RGB") -> str | None:
    """Why this original cannot go to Images as it is, or None when it can."""
    if format_ not in SENT_AS_IS:
        return f"{format_} is not a format Images accepts"
    if mode == "CMYK":
        return "CMYK colour (made for print) is converted to sRGB for screens"
    if size > MAX_BYTES:
        return f"{size / 1_000_000:.1f} MB is over the {MAX_BYTES // (1024 * 1024)} MB limit"
    if max(width, height) > MAX_SIDE:
        return f"{max(width, height):,} px is over the {MAX_SIDE:,} px limit"
    if width * height * frames > MAX_PIXELS:
        return f"{width * height * frames / 1e6:,.0f} megapixels is over the {MAX_PIXELS // 1_000_000} megapixel limit"
    return None


def inspect(stream) -> tuple[int, str]:
    """Frames of an animation (1 for a still; a multi-page TIFF counts as one, its first page becomes the master)
    and the colour mode, read from the header."""
    stream.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(stream)
        frames = getattr(image, "n_frames", 1) if image.format in ("GIF", "WEBP", "PNG") else 1
        mode = image.mode
    stream.seek(0)
    return max(1, int(frames)), mode


def build(storage, storage_key: str, stream, tmp_dir: str | None = None) -> Master:
    """Derives the master from the original's bytes and stores it beside the original."""
    image = _decode(stream)
    encoded, fmt, width, height = _encode_to_fit(image)
    image.close()
    key = master_key(storage_key)
    fd, path = tempfile.mkstemp(prefix="master-", dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(encoded)
        storage.put_file(key, path)
    finally:
        if os.path.exists(path):
            os.unlink(path)
    return Master(key=key, size=len(encoded), width=width, height=height, format=fmt)


def _decode(stream) -> Image.Image:
    """The first frame or page, decoded no larger than the limits need (JPEG decodes at 1/2, 1/4 or 1/8 scale)."""
    stream.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(stream)
            check_decodable(*image.size)
            if image.format in ("JPEG", "MPO"):
                image.draft(image.mode if image.mode in ("RGB", "L") else None, fit(*image.size))
            image.seek(0)
            image.load()
            # Read after loading: Pillow's TIFF decoder applies the orientation itself and drops the tag.
            orientation = image.getexif().get(0x0112, 1)
        except PictureError:
            raise
        except Image.DecompressionBombError as exc:
            raise PictureError("image_too_large", f"The image is too large to decode ({exc}).") from exc
        except Exception as exc:  # noqa: BLE001 - decoders raise many types on bad bytes
            raise PictureError("image_damaged", f"The image is damaged and cannot be read ({exc}).") from exc
    mode = image.mode
    try:
        image = _normalize_mode(image)
        target = fit(*image.size)
        if image.size != target:
            image = _replace(image, _resize_in_bands(image, target))
        image = _to_srgb(image)
        if orientation in _TRANSPOSE:
            image = _replace(image, image.transpose(_TRANSPOSE[orientation]))
    except MemoryError as exc:
        raise PictureError(
            "image_too_large",
            "The image is too large to convert in the memory the worker has; export it smaller and upload it again.",
        ) from exc
    except (ValueError, OSError) as exc:
        raise PictureError(
            "image_unsupported",
            f"The image's colour mode ({mode}) cannot be converted for the "
            "images service; export it as an RGB JPEG, PNG or TIFF.",
        ) from exc
    return image


def _resize_in_bands(image: Image.Image, size: tuple[int, int], band_rows: int = 256) -> Image.Image:
    """LANCZOS, a band of rows at a time: the same pixels as one resize, without its full-height intermediate and
    (for RGBA) its premultiplied copy of the whole picture, which would double the worker's peak memory."""
    out = Image.new(image.mode, size)
    scale_y = image.height / size[1]
    margin = math.ceil(3 * max(scale_y, 1.0)) + 2  # LANCZOS reaches 3 source pixels per output pixel each side
    for top in range(0, size[1], band_rows):
        bottom = min(size[1], top + band_rows)
        source_top, source_bottom = top * scale_y, bottom * scale_y
        crop_top = max(0, math.floor(source_top) - margin)
        crop_bottom = min(image.height, math.ceil(source_bottom) + margin)
        band = image.crop((0, crop_top, image.width, crop_bottom))
        piece = band.resize(
            (size[0], bottom - top),
            Image.Resampling.LANCZOS,
            box=(0, source_top - crop_top, image.width, source_bottom - crop_top),
        )
        out.paste(piece, (0, top))
        band.close()
        piece.close()
    return out


def _replace(old: Image.Image, new: Image.Image) -> Image.Image:
    """Keeps one full-size picture in memory at a time (the worker's peak is the decode plus the resized copy)."""
    if new is not old:
        icc = old.info.get("icc_profile")
        old.close()
        if icc and "icc_profile" not in new.info:
            new.info["icc_profile"] = icc
    return new


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _normalize_mode(image: Image.Image) -> Image.Image:
    """8-bit L, RGB or RGBA: 16- and 32-bit samples scaled down, palettes expanded, CMYK kept for the ICC step."""
    if image.mode in ("RGB", "RGBA", "L", "CMYK"):
        return image
    if image.mode.startswith("I;16"):
        return _replace(image, image.point(lambda value: value * (1 / 256)).convert("L"))
    if image.mode == "I":
        scale = 1 / 256 if image.getextrema()[1] > 255 else 1
        return _replace(image, image.point(lambda value: value * scale).convert("L"))
    if image.mode == "F":
        return _replace(image, image.convert("L"))
    return _replace(image, image.convert("RGBA" if _has_alpha(image) else "RGB"))


def _to_srgb(image: Image.Image) -> Image.Image:
    """Colour converted to sRGB through the embedded ICC profile (CMYK print files included), then the profile dropped."""
    icc = image.info.get("icc_profile")
    out_mode = "RGBA" if image.mode == "RGBA" else ("L" if image.mode == "L" else "RGB")
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=out_mode)
            if converted is not None:
                image = _replace(image, converted)
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: the numbers are taken as sRGB
    if image.mode not in ("RGB", "RGBA", "L"):
        image = _replace(image, image.convert("RGB"))
    image.info.pop("icc_profile", None)
    return image


def _encode_to_fit(image: Image.Image) -> tuple[bytes, str, int, int]:
    """High quality first; lower quality step by step, and only then fewer pixels, until the bytes fit."""
    alpha = image.mode == "RGBA" and image.getextrema()[3][0] < 255
    if image.mode == "RGBA" and not alpha:
        image = _replace(image, image.convert("RGB"))
    for attempt in range(SHRINK_TRIES + 1):
        for data, fmt in _candidates(image, alpha):
            if len(data) <= MAX_BYTES:
                return data, fmt, image.width, image.height
        if attempt < SHRINK_TRIES:
            size = (max(1, round(image.width * SHRINK_STEP)), max(1, round(image.height * SHRINK_STEP)))
            image = _replace(image, image.resize(size, Image.Resampling.LANCZOS))
    raise PictureError(
        "image_too_large",
        f"The image could not be made smaller than {MAX_BYTES // (1024 * 1024)} MB "
        "without ruining it; export it smaller and upload it again.",
    )


def _candidates(image: Image.Image, alpha: bool):
    if alpha:
        yield _save(image, "PNG", compress_level=6), "png"
        yield _save(image, "WEBP", lossless=True, method=0), "webp"
        for quality in WEBP_QUALITIES:
            yield _save(image, "WEBP", quality=quality, method=2), "webp"
        return
    for quality in JPEG_QUALITIES[_first_quality(image) :]:
        yield _save(image, "JPEG", quality=quality, subsampling=2), "jpeg"


def _first_quality(image: Image.Image) -> int:
    """Index of the highest quality whose bytes, predicted from strips of the picture, fit with a margin.

    Encoding a large picture costs as much as decoding it; predicting from 1/8 of its rows saves the full encodes
    that would not fit."""
    strips = 8
    rows = max(1, image.height // (strips * 8))
    if image.width * image.height < 4_000_000 or rows * strips >= image.height:
        return 0
    sample = Image.new(image.mode, (image.width, rows * strips))
    for index in range(strips):
        top = (image.height - rows) * index // (strips - 1)
        sample.paste(image.crop((0, top, image.width, top + rows)), (0, rows * index))
    factor = image.height / sample.height
    for index, quality in enumerate(JPEG_QUALITIES):
        if len(_save(sample, "JPEG", quality=quality, subsampling=2)) * factor <= MAX_BYTES * 0.92:
            return index
    return len(JPEG_QUALITIES) - 1


def _save(image: Image.Image, format_: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format_, **options)
    return out.getvalue()
