"""Masters: what Images is sent when the original breaks its input limits or is a format it refuses.

The original is never changed. A master is derived from it (orientation applied, colour in sRGB, scaled down only as far
as the limits require, re-encoded until it fits the byte limit), stored beside it, and can always be rebuilt from it.
"""

from __future__ import annotations

import ctypes
import io
import math
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass

from PIL import Image

from app.adapters.storage import master_key  # noqa: F401 - also where the jobs find it
from app.domain import png_bands
from app.domain.pictures import (
    MAX_PIXELS,
    MAX_SIDE,
    PictureError,
    check_decodable,
    eight_bit,
    is_wide,
    sample_scale,
    srgb,
)

MAX_BYTES = 10 * 1024 * 1024
# What Images takes as it is: Cloudflare's upload formats (Pillow's names; MPO is a camera JPEG with a second picture
# appended). AVIF is not among them and a hosted AVIF is capped at 1,200 px, so every AVIF is sent as a master.
SENT_AS_IS = {"JPEG", "MPO", "PNG", "GIF", "WEBP", "HEIF", "SVG"}
JPEG_QUALITIES = (92, 88, 84, 80, 75, 70, 60, 50)
WEBP_QUALITIES = (90, 80, 70, 60, 50)
# When the lowest quality still does not fit, the picture is scaled by this much and encoded again, a few times.
SHRINK_STEP = 0.8
SHRINK_TRIES = 6
# The worker's memory promise (RELIABILITY.md) for a master, its interpreter included. Decoders that can only
# decode a picture whole, with buffers of their own, cost this many bytes per pixel at their peak (measured with
# bench/format_memory_bench.py); a master of a larger picture of theirs is refused with a reason, not attempted.
MEMORY_BUDGET = 512_000_000 - 72_000_000  # less the interpreter, its libraries and a margin
DECODE_BYTES_PER_PIXEL = {"WEBP": 17, "AVIF": 10, "HEIF": 9}
# Bytes a pixel while decoded and made 8-bit RGB(A)/L: the decoded mode plus the converted copy where there is one.
_PIXEL_BYTES = {"1": 5, "L": 1, "P": 5, "LA": 6, "PA": 6, "I;16": 3, "I;16B": 3, "I;16L": 3, "I;16N": 3, "CMYK": 8}
_PIXEL_BYTES |= {"I": 5, "F": 5}
_FORMAT_NAMES = {"WEBP": "WebP", "HEIF": "HEIC/HEIF"}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


# glibc's mallopt parameter for the size from which an allocation is mapped on its own (and unmapped when freed).
_M_MMAP_THRESHOLD = -3
MAPPED_FROM = 1024 * 1024


def return_freed_buffers() -> bool:
    """Makes every allocation of 1 MB or more its own mapping, given back to the system when it is freed; the worker
    calls it once at start. By default glibc raises that threshold to the size of each large block freed (up to
    32 MB), so the band buffers a master is made of stay behind as heap the process keeps: measured on the largest
    RGBA PNG, the peak fell from 501 to 492 MB, and one CI run on a busy machine had seen 512.4 MB. Returns whether
    it took effect (not on another C library or system)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, MAPPED_FROM) == 1


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
    if format_ == "AVIF":
        return "AVIF is not among the images service's upload formats (and it caps a hosted AVIF at 1,200 px)"
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
            _check_memory(image, stream)
            if image.format in ("JPEG", "MPO"):
                image.draft(image.mode if image.mode in ("RGB", "L") else None, _draft_size(*image.size))
            # No seek(0): the file opens at its first picture (a PSD at the merged one, numbered 1, not 0).
            image = _png_in_bands(image, stream)
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
        target = fit(*image.size)
        if image.size != target and is_wide(image):
            # 16- and 32-bit samples made 8-bit a band at a time as they are scaled: no full-size 8-bit copy.
            scale = sample_scale(image)
            image = _replace(image, _resize_in_bands(image, target, lambda band: eight_bit(band, scale), "L"))
        image = _normalize_mode(image)
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
            "images service; export it as an 8-bit RGB JPEG or PNG and upload it again.",
        ) from exc
    return image


def _check_memory(image: Image.Image, stream) -> None:
    """A picture whose decode would take the worker past its memory promise is refused before it is decoded: what
    Pillow holds decoded (its RGB takes 4 bytes a pixel) and converted plus the scaled copy, or what the decoder is
    measured to take (a TIFF's file too). A JPEG decodes at a reduced scale and a large 8-bit PNG a band at a time:
    neither is held whole."""
    width, height = image.size
    target = fit(width, height)
    banded = image.format == "PNG" and target != image.size and png_bands.eligible(stream)
    if image.format in ("JPEG", "MPO") or banded:
        return
    cost = DECODE_BYTES_PER_PIXEL.get(image.format, _PIXEL_BYTES.get(image.mode, 4))
    scaled_bytes = 1 if image.mode == "L" or is_wide(image) else 4
    needed = width * height * cost + (target[0] * target[1] * scaled_bytes if target != image.size else 0)
    if image.format == "TIFF":
        needed += stream.seek(0, 2)  # libtiff maps the file: its pages count against the worker while it decodes
        stream.seek(0)
    if needed <= MEMORY_BUDGET:
        return
    name = _FORMAT_NAMES.get(image.format, image.format)
    raise PictureError(
        "image_too_large",
        f"The {name} image has {width * height / 1_000_000:,.0f} megapixels ({image.mode}); converting it for the "
        f"images service would take about {needed / 1_000_000:,.0f} MB, over the worker's "
        f"{MEMORY_BUDGET / 1_000_000:,.0f} MB for a picture. Export it smaller, or as JPEG, and upload it again.",
    )


def _png_in_bands(image: Image.Image, stream) -> Image.Image:
    """A PNG over the limits, scaled to them as it is decoded (app.domain.png_bands), never whole in memory."""
    target = fit(*image.size)
    if image.format != "PNG" or target == image.size or not png_bands.eligible(stream):
        return image
    alpha = image.mode in ("RGBA", "LA") or "transparency" in image.info
    mode = "RGBA" if alpha else ("L" if image.mode == "L" else "RGB")
    scaled = png_bands.resized(stream, image.size, target, mode)
    scaled.info = {key: image.info[key] for key in ("icc_profile", "exif") if image.info.get(key)}
    image.close()
    return scaled


def _draft_size(width: int, height: int) -> tuple[int, int]:
    """What to ask of a JPEG's reduced-scale decode: the limits' size, or, for a picture over the area limit, the
    largest of the 1/2, 1/4, 1/8 scales within it, so a 179-megapixel JPEG is never decoded whole (537 MB)."""
    if width * height <= MAX_PIXELS:
        return fit(width, height)
    for denominator in (2, 4, 8):
        scaled = (max(1, width // denominator), max(1, height // denominator))
        if scaled[0] * scaled[1] <= MAX_PIXELS:
            break
    return scaled


def _resize_in_bands(
    image: Image.Image, size: tuple[int, int], convert=None, mode: str | None = None, band_rows: int = 256
) -> Image.Image:
    """LANCZOS, a band of rows at a time: the same pixels as one resize, without its full-height intermediate and
    (for RGBA) its premultiplied copy of the whole picture, which would double the worker's peak memory; `convert`
    turns each band into `mode` first."""
    out = Image.new(mode or image.mode, size)
    scale_y = image.height / size[1]
    margin = math.ceil(3 * max(scale_y, 1.0)) + 2  # LANCZOS reaches 3 source pixels per output pixel each side
    for top in range(0, size[1], band_rows):
        bottom = min(size[1], top + band_rows)
        source_top, source_bottom = top * scale_y, bottom * scale_y
        crop_top = max(0, math.floor(source_top) - margin)
        crop_bottom = min(image.height, math.ceil(source_bottom) + margin)
        band = image.crop((0, crop_top, image.width, crop_bottom))
        if convert is not None:
            band = _replace(band, convert(band))
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


def _normalize_mode(image: Image.Image) -> Image.Image:
    """8-bit L, RGB or RGBA (CMYK kept for the ICC step), a strip at a time for 16- and 32-bit samples."""
    return _replace(image, eight_bit(image))


def _to_srgb(image: Image.Image) -> Image.Image:
    """Colour converted to sRGB through the embedded ICC profile, then the profile dropped."""
    return _replace(image, srgb(image))


def _encode_to_fit(image: Image.Image) -> tuple[bytes, str, int, int]:
    """High quality first; lower quality step by step, and only then fewer pixels, until the bytes fit."""
    alpha = image.mode == "RGBA" and _transparent(image)
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


def _transparent(image: Image.Image, rows: int = 256) -> bool:
    """Whether any pixel is less than opaque, a strip at a time: getextrema() on the whole picture copies each band."""
    for top in range(0, image.height, rows):
        strip = image.crop((0, top, image.width, min(image.height, top + rows)))
        if strip.getextrema()[3][0] < 255:
            return True
    return False


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

    Encoding a large picture costs as much as decoding it; predicting from 1/16 of its rows saves the full encodes
    that would not fit (the sample is held beside the picture: 25 MB for 100 megapixels)."""
    strips = 8
    rows = max(1, image.height // (strips * 16))
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
