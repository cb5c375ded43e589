"""Reading what an image is from its header and EXIF, and a placeholder from a tiny decode: no full decode anywhere."""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

import blurhash
import imagehash
import pillow_jxl  # noqa: F401 - registers the JPEG XL decoder with Pillow
from PIL import ExifTags, Image, ImageCms, ImageOps, TiffImagePlugin, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()
Image.init()

# The formats that become images: those the product decodes (Pillow and its HEIF and JPEG XL plugins) whose files
# begin with a signature. A file is one when a decoder recognises its first bytes; it then becomes an image or fails
# with a reason (damaged, too large). Anything else stays a plain file. README.md and docs/api.md list them.
DECODED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "HEIF", "JXL", "TIFF", "JPEG2000", "BMP", "PSD", "ICO", "QOI")
# Every `format` an image can have (lower case, as stored and as `GET /api/images?format=` takes it): the decoded
# formats, MPO (a camera's multi-picture JPEG, as Pillow names it) and SVG.
FORMATS = frozenset({name.lower() for name in (*DECODED_FORMATS, "MPO")} | {"svg"})
_MEDIA_TYPES = {"JPEG2000": "image/jp2", "QOI": "image/qoi", "HEIF": "image/heif"}
_SIGNATURE_BYTES = 16  # what Pillow's own Image.open shows each decoder to decide
_SRGB = ImageCms.createProfile("sRGB")

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


def decoded_format(head: bytes) -> str | None:
    """The format whose decoder recognises these first bytes (its own signature test; nothing is decoded)."""
    prefix = head[:_SIGNATURE_BYTES]
    for format_ in DECODED_FORMATS:
        accept = Image.OPEN.get(format_, (None, None))[1]
        if accept is not None and prefix and accept(prefix):
            return format_
    return None


def media_type(format_: str) -> str:
    return _MEDIA_TYPES.get(format_) or Image.MIME.get(format_) or f"image/{format_.lower()}"


def read_header(stream, *, keep_gps: bool = False) -> Header:
    """Dimensions as displayed (EXIF orientation applied) and EXIF as JSON-safe named tags."""
    if getattr(stream, "read", None) and not _probably_svg(stream):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(stream)
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            if isinstance(exc, UnidentifiedImageError):
                raise _unreadable(stream) from exc
            raise _bomb_error(stream, exc) from exc
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


# Enough of a file's start for the header of every format taken (JPEG, PNG, GIF, WebP, TIFF, HEIC, AVIF).
HEADER_BYTES = 64 * 1024


def refuse_early(head: bytes) -> None:
    """Raises read_header's own `image_too_large` for a header whose pixels the product refuses, while the rest of
    the upload has not arrived; anything else (not an image, a header cut short, damage) is left to the worker."""
    try:
        read_header(io.BytesIO(head))
    except PictureError as exc:
        if exc.code == "image_too_large":
            raise


def _probably_svg(stream) -> bool:
    head = stream.read(512)
    stream.seek(0)
    return b"<svg" in head.lower() or (head.lstrip().startswith(b"<") and b"svg" in head.lower())


def _unreadable(stream) -> PictureError:
    """A file a decoder recognises by its signature but cannot open is damaged; anything else is not an image."""
    stream.seek(0)
    format_ = decoded_format(stream.read(_SIGNATURE_BYTES))
    stream.seek(0)
    if format_ is None:
        return PictureError("not_an_image", "The file is not an image we can read.")
    name = {"JPEG2000": "JPEG 2000", "WEBP": "WebP", "HEIF": "HEIC/HEIF", "JXL": "JPEG XL"}.get(format_, format_)
    return PictureError(
        "image_damaged",
        f"The {name} image is damaged: its header cannot be read. Export it again and re-upload it.",
    )


def _bomb_error(stream, exc: Exception) -> PictureError:
    """The decompression limit's refusal, sized from the header when it can be read again, else from Pillow's count."""
    size = _bomb_size(stream)
    if size is not None:
        check_decodable(*size)
        return _too_big_error(*size)
    pixels = re.search(r"\((\d+) pixels\)", str(exc))
    told = f"{int(pixels.group(1)) / 1_000_000:,.0f} megapixels" if pixels else "more pixels than can be decoded"
    return PictureError(
        "image_too_large",
        f"The image's header asks for {told}; the limit for processing is {DECODE_MAX_PIXELS // 1_000_000} "
        "megapixels, and its size could not be read again (the file may also be damaged).",
    )


def _bomb_size(stream) -> tuple[int, int] | None:
    stream.seek(0)
    try:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            size = Image.open(stream).size
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    except Exception:  # noqa: BLE001 - a header that is a bomb and damaged too
        return None
    return size if size[0] > 0 and size[1] > 0 else None


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


class Looks(NamedTuple):
    """What one small decode of a picture gives: its placeholder, dominant colour and perceptual hash."""

    blurhash: str | None
    dominant_color: str | None
    phash: int | None


def placeholder(stream, size: int = 32) -> Looks:
    """A BlurHash, the dominant colour (`#rrggbb`) and the perceptual hash from one decode at about 1/8 scale where
    the format allows, measured in 8-bit sRGB whatever the file's mode (16-bit, palette, CMYK, with alpha) or
    profile."""
    image = Image.open(stream)
    image.draft("RGB", (size * 2, size * 2))  # JPEG decodes straight to a small scale, never below 1 px
    if image.width * image.height > PLACEHOLDER_MAX_PIXELS:
        raise PlaceholderTooCostly(f"{image.format} {image.width}x{image.height} has no reduced-scale decode")
    image = ImageOps.exif_transpose(image)
    image = srgb(eight_bit(image)).convert("RGB")
    phash = perceptual_hash(image)
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
    return Looks(hash_, f"#{red:02x}{green:02x}{blue:02x}", phash)


# The perceptual hash (imagehash's pHash: 64 bits from the DCT of a 32x32 grey image) is stored as a signed 64-bit
# integer and, for lookup without a scan, as four 16-bit bands: two hashes within BAND_COUNT - 1 bits of each other
# agree on at least one band (pigeonhole), and within 2 * BAND_COUNT - 1 bits on one band up to one bit.
HASH_BITS = 64
BAND_COUNT = 4
BAND_BITS = HASH_BITS // BAND_COUNT
BAND_MASK = (1 << BAND_BITS) - 1


def perceptual_hash(image: Image.Image) -> int:
    """The 64-bit pHash of a decoded picture, as an unsigned integer (bit 63 first, as imagehash orders them)."""
    bits = imagehash.phash(image).hash.flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


def to_signed(value: int) -> int:
    """An unsigned 64-bit hash as the signed BIGINT both databases store."""
    return value - (1 << HASH_BITS) if value >= 1 << (HASH_BITS - 1) else value


def to_unsigned(value: int) -> int:
    return value & ((1 << HASH_BITS) - 1)


def bands(value: int) -> tuple[int, ...]:
    """The hash's four 16-bit bands, most significant first (each 0 to 65535)."""
    value = to_unsigned(value)
    return tuple((value >> (BAND_BITS * (BAND_COUNT - 1 - i))) & BAND_MASK for i in range(BAND_COUNT))


def hamming(a: int, b: int) -> int:
    """How many of the 64 bits differ."""
    return (to_unsigned(a) ^ to_unsigned(b)).bit_count()


def band_neighbours(band: int, radius: int) -> list[int]:
    """Every 16-bit value within `radius` bits of `band` (the band itself first): 1, 17 or 137 values."""
    found = [band]
    frontier = [band]
    for _ in range(radius):
        frontier = sorted({value ^ (1 << bit) for value in frontier for bit in range(BAND_BITS)} - set(found))
        found += frontier
    return found


# Rows converted at a time from 16- and 32-bit samples: the 32-bit intermediate stays a strip, never the picture.
STRIP_ROWS = 256


def eight_bit(image: Image.Image, scale: float | None = None) -> Image.Image:
    """8-bit L, RGB, RGBA or CMYK (kept for its profile): 16- and 32-bit samples scaled to their range rather than
    clipped, palettes, 1-bit and grey-with-alpha expanded (`scale`: the whole picture's, for a piece of it). The
    caller's image is left open."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "CMYK"):
        return image
    if is_wide(image):
        scale = sample_scale(image) if scale is None else scale
        out = Image.new("L", image.size)
        for top in range(0, image.height, STRIP_ROWS):
            strip = image.crop((0, top, image.width, min(image.height, top + STRIP_ROWS)))
            wide = strip.convert("F" if mode == "F" else "I")
            out.paste(wide.point(lambda value: value * scale).convert("L"), (0, top))
            strip.close()
            wide.close()
        out.info = dict(image.info)
        return out
    alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    return image.convert("RGBA" if alpha else "RGB")


def is_wide(image: Image.Image) -> bool:
    """Samples of 16 or 32 bits (one channel): Pillow's modes I;16, I;16B, I;16L, I;16N, I and F."""
    return image.mode.startswith("I;16") or image.mode in ("I", "F")


def sample_scale(image: Image.Image) -> float:
    """What maps this grey image's samples onto 0-255: 16-bit files use 0-65535, float ones usually 0-1."""
    if image.mode.startswith("I;16"):
        return 255 / 65535
    low, high = image.getextrema()
    if image.mode == "F" and high <= 1.0:
        return 255.0
    if high <= 255:
        return 1.0
    return 255 / 65535 if high <= 65535 else 255 / high


def srgb(image: Image.Image) -> Image.Image:
    """8-bit colour converted to sRGB through its embedded ICC profile (CMYK print files included), without the
    profile; a broken profile leaves the numbers as they are, taken as sRGB. RGB and RGBA are converted in place
    (no second full-size copy); the caller's image is left open."""
    icc = image.info.get("icc_profile")
    out_mode = "RGBA" if image.mode == "RGBA" else ("L" if image.mode == "L" else "RGB")
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            in_place = image.mode == out_mode
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=out_mode, inPlace=in_place)
            if converted is not None:
                image = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    if image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGB")
    image.info.pop("icc_profile", None)
    return image
