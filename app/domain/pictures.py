"""Reading what an image is from its header and EXIF, and a placeholder from a tiny decode: no full decode anywhere."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from fractions import Fraction

import blurhash
import pillow_jxl  # noqa: F401 - registers the JPEG XL decoder with Pillow
from PIL import ExifTags, Image, ImageOps, TiffImagePlugin, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()

# Images' input limits: an original beyond them is sent as a master that fits (app.domain.masters).
MAX_SIDE = 12_000
MAX_PIXELS = 100_000_000
# The decompression limit: nothing larger is decoded at all (a pixel bomb), which bounds the worker's memory.
DECODE_MAX_PIXELS = 2 * 89_478_485
# The size limits are checked from the header first; Pillow's own bomb guard stays as the second line.
Image.MAX_IMAGE_PIXELS = DECODE_MAX_PIXELS

_ROTATED = {5, 6, 7, 8}
_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_SKIPPED_TAGS = {
    "MakerNote",
    "UserComment",
    "PrintImageMatching",
    "ExifOffset",
    "GPSInfo",
    "JPEGInterchangeFormat",
    "JPEGInterchangeFormatLength",
    "StripOffsets",
    "StripByteCounts",
    "InterColorProfile",
}
MAX_EXIF_VALUE = 512


class PictureError(Exception):
    """The bytes are not an image the product can take; `code` is stable, the message is for editors."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Header:
    format: str
    width: int
    height: int
    stored_width: int
    stored_height: int
    orientation: int = 1
    exif: dict = field(default_factory=dict)


def read_header(stream, *, keep_gps: bool = False) -> Header:
    """Dimensions as displayed (EXIF orientation applied) and EXIF as JSON-safe named tags."""
    if getattr(stream, "read", None) and not _probably_svg(stream):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(stream)
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            if isinstance(exc, UnidentifiedImageError):
                raise PictureError("not_an_image", "The file is not an image we can read.") from exc
            size = _bomb_size(stream)
            check_decodable(*size)
            raise _too_big_error(*size) from exc
        except Exception as exc:  # noqa: BLE001 - decoders raise many types (struct.error, RuntimeError, ...) on bad bytes
            raise PictureError("image_damaged", f"The image is damaged and cannot be read ({exc}).") from exc
    else:
        raise PictureError("svg", "SVG images have no pixel size to read.")
    width, height = image.size
    check_decodable(width, height)
    try:
        exif = image.getexif()
    except Exception:  # noqa: BLE001 - damaged EXIF must not cost the picture
        exif = Image.Exif()
    orientation = exif.get(ExifTags.Base.Orientation, 1) if exif else 1
    orientation = orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1
    shown = (height, width) if orientation in _ROTATED else (width, height)
    return Header(
        format=image.format or "unknown",
        width=shown[0],
        height=shown[1],
        stored_width=width,
        stored_height=height,
        orientation=orientation,
        exif=exif_json(exif, keep_gps=keep_gps),
    )


def _probably_svg(stream) -> bool:
    head = stream.read(512)
    stream.seek(0)
    return b"<svg" in head.lower() or (head.lstrip().startswith(b"<") and b"svg" in head.lower())


def _bomb_size(stream) -> tuple[int, int]:
    stream.seek(0)
    try:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(stream).size
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    except Exception:  # noqa: BLE001
        return (0, 0)


def check_decodable(width: int, height: int) -> None:
    """Beyond the decompression limit a file is refused before any pixel is decoded, whatever its bytes weigh."""
    if width * height > DECODE_MAX_PIXELS:
        raise PictureError(
            "image_too_large",
            f"The image has {width * height / 1_000_000:,.0f} megapixels ({width:,}×{height:,}); "
            f"the limit for processing is {DECODE_MAX_PIXELS // 1_000_000} megapixels.",
        )


def check_limits(width: int, height: int) -> None:
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise _too_big_error(width, height)


def _too_big_error(width: int, height: int) -> PictureError:
    if width > MAX_SIDE:
        return PictureError("image_too_large", f"The image is {width:,} px wide; the limit is {MAX_SIDE:,} px.")
    if height > MAX_SIDE:
        return PictureError("image_too_large", f"The image is {height:,} px high; the limit is {MAX_SIDE:,} px.")
    megapixels = width * height / 1_000_000
    return PictureError(
        "image_too_large",
        f"The image has {megapixels:,.0f} megapixels; the limit is {MAX_PIXELS // 1_000_000} megapixels.",
    )


def exif_json(exif: Image.Exif, *, keep_gps: bool = False) -> dict:
    """Named EXIF tags with values JSON can hold; GPS only when the workspace asked to keep it."""
    result: dict = {}
    if not exif:
        return result
    for tag, value in exif.items():
        _put(result, ExifTags.TAGS.get(tag), value)
    for ifd_tag in (_EXIF_IFD,):
        try:
            for tag, value in exif.get_ifd(ifd_tag).items():
                _put(result, ExifTags.TAGS.get(tag), value)
        except Exception:  # noqa: BLE001 - a broken sub-IFD loses only itself
            continue
    if keep_gps:
        try:
            gps = {ExifTags.GPSTAGS.get(tag, str(tag)): _plain(value) for tag, value in exif.get_ifd(_GPS_IFD).items()}
            gps = {key: value for key, value in gps.items() if value is not None}
            if gps:
                result["GPSInfo"] = gps
        except Exception:  # noqa: BLE001
            pass
    return result


def _put(result: dict, name: str | None, value) -> None:
    if not name or name in _SKIPPED_TAGS or name.startswith("GPS"):
        return
    plain = _plain(value)
    if plain is not None:
        result[name] = plain


def _plain(value):
    if isinstance(value, (TiffImagePlugin.IFDRational, Fraction)):
        try:
            number = float(value)
        except ZeroDivisionError:
            return None
        return number if number == number and abs(number) != float("inf") else None
    if isinstance(value, bytes):
        text = value.rstrip(b"\0")
        if len(text) <= MAX_EXIF_VALUE and all(32 <= byte < 127 for byte in text):
            return text.decode("ascii")
        return None
    if isinstance(value, str):
        value = value.replace("\0", "").strip()
        return value[:MAX_EXIF_VALUE] if value else None
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, (tuple, list)):
        items = [_plain(item) for item in value[:32]]
        return [item for item in items if item is not None] or None
    return None


def check_jpeg_length(stream, width: int, height: int) -> None:
    """A Huffman-coded JPEG spends at least one bit on every 8×8 block of its first component; a file shorter than
    that ends early, whatever libjpeg fills in (it decodes the missing rows as grey without an error)."""
    stream.seek(0, 2)
    length = stream.tell()
    stream.seek(0)
    head = stream.read(65536)
    stream.seek(0)
    if _jpeg_is_arithmetic(head):
        return
    blocks = math.ceil(width / 8) * math.ceil(height / 8)
    if length < blocks // 8:
        raise PictureError(
            "image_damaged",
            f"The image is damaged: its header says {width:,}×{height:,} px but the file ends after "
            f"{length:,} bytes, too few for that many pixels. Export it again and re-upload it.",
        )


def _jpeg_is_arithmetic(head: bytes) -> bool:
    pos = 2
    while pos + 4 <= len(head) and head[pos] == 0xFF:
        marker = head[pos + 1]
        if marker in (0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            return True
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xDA):
            return False
        pos += 2 + int.from_bytes(head[pos + 2 : pos + 4], "big")
    return False


class PlaceholderTooCostly(Exception):
    """Decoding this image for a placeholder would cost more memory than the worker allows itself."""


# Formats without a reduced-scale decode are decoded whole for a placeholder: at most this many pixels
# (4 bytes each at most after conversion), so a 100-megapixel PNG costs no worker 400 MB and more.
PLACEHOLDER_MAX_PIXELS = 24_000_000


def placeholder(stream, size: int = 32) -> tuple[str, str]:
    """A BlurHash and the dominant colour (`#rrggbb`) from a decode at about 1/8 scale where the format allows."""
    image = Image.open(stream)
    image.draft("RGB", (size * 2, size * 2))  # JPEG decodes straight to a small scale
    if image.width * image.height > PLACEHOLDER_MAX_PIXELS:
        raise PlaceholderTooCostly(f"{image.format} {image.width}x{image.height} has no reduced-scale decode")
    image = ImageOps.exif_transpose(image.convert("RGB") if image.mode not in ("RGB", "L") else image)
    image = image.convert("RGB")
    image.thumbnail((size, size), Image.Resampling.BILINEAR)
    components_x, components_y = (4, 3) if image.width >= image.height else (3, 4)
    raw = image.tobytes()
    rows = [
        [tuple(raw[(y * image.width + x) * 3 : (y * image.width + x) * 3 + 3]) for x in range(image.width)]
        for y in range(image.height)
    ]
    hash_ = blurhash.encode(rows, components_x, components_y)
    quantized = image.quantize(colors=5, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or [0, 0, 0]
    count, index = max(quantized.getcolors() or [(1, 0)])
    red, green, blue = palette[index * 3 : index * 3 + 3]
    return hash_, f"#{red:02x}{green:02x}{blue:02x}"
