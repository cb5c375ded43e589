"""Decide what an upload is from its bytes, and enforce the limits from the header before any pixel is decoded."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from . import svg
from .errors import ApiError
from .settings import MAX_PIXELS, MAX_SIDE

MIME_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "avif": "image/avif",
    "svg": "image/svg+xml",
}
PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP", "heic": "HEIF", "avif": "AVIF"}
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
AVIF_BRANDS = {b"avif", b"avis"}
ACCEPTED = "JPEG, PNG, GIF, WebP, HEIC or SVG"
# Full decoding proves a PNG is intact, but only below this size; above it the chunk checksums are checked instead.
PNG_DECODE_LIMIT = 24_000_000

# Types that are recognisably not acceptable images, named so the editor learns what they uploaded.
OTHER_SIGNATURES = [
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"%PDF", "a PDF document"),
    (b"BM", "a BMP image"),
    (b"\x00\x00\x01\x00", "an ICO icon"),
    (b"8BPS", "a Photoshop document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
]


@dataclass(frozen=True)
class Probe:
    """What an upload is; width and height as displayed, EXIF orientation applied."""

    kind: str
    width: int
    height: int
    frames: int = 1
    alpha: bool = False

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self.kind]


def sniff(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp":
        brands = {data[8:12]} | {data[i : i + 4] for i in range(16, min(len(data), 64), 4)}
        if data[8:12] in AVIF_BRANDS:
            return "avif"
        if brands & HEIF_BRANDS:
            return "heic"
        if brands & AVIF_BRANDS:
            return "avif"
    if svg.looks_like_svg(data):
        return "svg"
    return None


def unsupported(data: bytes) -> ApiError:
    for signature, name in OTHER_SIGNATURES:
        if data.startswith(signature):
            if "TIFF" in name:
                return ApiError(415, 5415, f"TIFF images are not supported; upload {ACCEPTED}.")
            return ApiError(415, 5415, f"The file is {name}, not an image Images accepts ({ACCEPTED}).")
    return ApiError(415, 5415, f"The file is not an image Images accepts ({ACCEPTED}).")


def damaged(kind: str, reason: object) -> ApiError:
    name = "SVG" if kind == "svg" else PIL_FORMATS[kind].replace("HEIF", "HEIC").replace("WEBP", "WebP")
    detail = str(reason).strip().rstrip(".") or type(reason).__name__
    return ApiError(422, 5455, f"The {name} image is damaged or truncated ({detail}); export it again and re-upload.")


def check_dimensions(width: int, height: int, frames: int = 1) -> None:
    if width > MAX_SIDE:
        raise ApiError(422, 5422, f"The image is {width} px wide; the limit is {MAX_SIDE} px.")
    if height > MAX_SIDE:
        raise ApiError(422, 5422, f"The image is {height} px high; the limit is {MAX_SIDE} px.")
    if width * height > MAX_PIXELS:
        raise ApiError(
            422,
            5422,
            f"The image has {width * height / 1e6:.1f} megapixels ({width}×{height}); the limit is {MAX_PIXELS // 1_000_000} megapixels.",
        )
    if width * height * frames > MAX_PIXELS:
        raise ApiError(
            422,
            5422,
            f"The animation has {frames} frames of {width}×{height}, {width * height * frames / 1e6:.1f} megapixels"
            f" in all; the limit is {MAX_PIXELS // 1_000_000} megapixels.",
        )


def gif_frame_count(data: bytes) -> int:
    """Count image descriptors by walking the block structure, without decoding any frame."""

    def skip_sub_blocks(pos: int) -> int:
        while pos < len(data):
            size = data[pos]
            pos += 1
            if size == 0:
                return pos
            pos += size
        return pos

    pos, flags, frames = 13, data[10] if len(data) > 10 else 0, 0
    if flags & 0x80:
        pos += 3 * (2 << (flags & 7))
    while pos < len(data):
        block = data[pos]
        pos += 1
        if block == 0x3B:
            break
        if block == 0x21:
            pos = skip_sub_blocks(pos + 1)
        elif block == 0x2C:
            frames += 1
            if pos + 9 > len(data):
                break
            local = data[pos + 8]
            pos += 9
            if local & 0x80:
                pos += 3 * (2 << (local & 7))
            pos = skip_sub_blocks(pos + 1)
        else:
            break
    return max(frames, 1)


def open_image(data: bytes, kind: str) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=[PIL_FORMATS[kind]])


def probe(data: bytes) -> Probe:
    """Return what the bytes are, or raise an ApiError an editor can act on."""
    if not data:
        raise ApiError(415, 5415, "The file is empty.")
    kind = sniff(data)
    if kind is None:
        raise unsupported(data)
    if kind == "svg":
        try:
            root = svg.parse(data)
        except svg.SvgError as exc:
            raise ApiError(415, 5415, str(exc)) from None
        width, height = svg.dimensions(root)
        return Probe("svg", width, height)
    try:
        image = open_image(data, kind)
        width, height = image.size
        check_dimensions(width, height)
        if kind == "gif":
            frames = gif_frame_count(data)
        elif kind in {"webp", "png"}:
            frames = getattr(image, "n_frames", 1)
        else:
            frames = 1
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure means the header is damaged
        raise damaged(kind, exc) from None
    check_dimensions(width, height, frames)
    try:
        orientation = image.getexif().get(0x0112, 1) if kind in {"jpeg", "png", "webp"} else 1
        alpha = image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or "transparency" in image.info
        verify_pixels(data, kind, image)
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt data surfaces as many exception types
        raise damaged(kind, exc) from None
    if orientation in {5, 6, 7, 8}:
        width, height = height, width
    return Probe(kind, width, height, frames, alpha)


def verify_pixels(data: bytes, kind: str, image: Image.Image) -> None:
    """Decode once (JPEG at 1/8 scale, which still reads every byte) so damaged files fail at upload, not delivery."""
    if kind == "jpeg":
        check_jpeg_length(data, image.width, image.height)
        # Never a 0-px request: a JPEG under 8 px on a side is valid (Cloudflare takes it) and decodes at full size.
        smallest = (max(1, image.width // 8), max(1, image.height // 8))
        image.draft(image.mode if image.mode in {"RGB", "L"} else None, smallest)
        image.load()
        return
    if kind == "png":
        open_image(data, kind).verify()
        if image.width * image.height > PNG_DECODE_LIMIT:
            check_png_data_length(data)
            return
        image = open_image(data, kind)
    image.load()


def check_jpeg_length(data: bytes, width: int, height: int) -> None:
    """A Huffman-coded JPEG spends at least one bit on each 8×8 block of its first component; a shorter file ends
    early, and libjpeg would fill the missing rows with grey without a word (the product's worker checks the same)."""
    pos = 2
    while pos + 4 <= min(len(data), 65536) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            return  # arithmetic coding can spend less than a bit on a block
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xDA):
            break
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    blocks = -(-width // 8) * -(-height // 8)
    if len(data) < blocks // 8:
        raise ValueError(f"the data ends after {len(data):,} bytes, too few for {width:,}×{height:,} px")


def check_png_data_length(data: bytes) -> None:
    """A large PNG is not decoded; instead its IDAT stream is inflated in bounded pieces, counting bytes, so a
    file whose header promises more rows than its data holds is refused without holding any pixels."""
    import struct
    import zlib

    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    if channels is None:
        raise ValueError(f"unknown PNG colour type {colour}")
    bits = channels * depth

    def raw_size(w: int, h: int) -> int:
        return h * (1 + (w * bits + 7) // 8) if w and h else 0

    if interlace:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        expected = sum(raw_size((width - x + dx - 1) // dx, (height - y + dy - 1) // dy) for x, y, dx, dy in passes)
    else:
        expected = raw_size(width, height)
    inflater, produced, pos = zlib.decompressobj(), 0, 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            pending = data[pos + 8 : pos + 8 + length]
            while pending and produced < expected:
                produced += len(inflater.decompress(pending, 1 << 20))
                pending = inflater.unconsumed_tail
        elif kind == b"IEND":
            break
        pos += 12 + length
    if produced < expected:
        raise ValueError(f"image file is truncated: {produced:,} of {expected:,} bytes of pixel data")
