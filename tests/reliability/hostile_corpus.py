"""A corpus of hostile and awkward files, generated on the fly (no binaries in the repository).

Each case says what a correct outcome is: `image` with the exact displayed size, or `error` (refused at upload
with a problem, or a file in status `error` with a readable message), optionally with words the message must
contain.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

from PIL import Image, PngImagePlugin

from tests.masters_support import lying_jpeg


@dataclass
class Case:
    name: str
    data: bytes
    expect: str  # "image", "error", "file" (bytes that are no image stay a plain file) or "either" (real corpus)
    size: tuple[int, int] | None = None  # for images: width and height as displayed
    words: tuple[str, ...] = ()  # for errors: the message names the cause


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int, mode: tuple[int, int] = (8, 2), rows: int | None = None) -> bytes:
    """A PNG whose IHDR says width × height; `rows` rows of real (zero) pixel data, or a tiny IDAT."""
    depth, colour = mode
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    if rows is None:
        idat = zlib.compress(b"\x00" * 4096)
    else:
        channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
        row = b"\x00" * (1 + width * channels * depth // 8)
        packer = zlib.compressobj(9)
        idat = b"".join(packer.compress(row) for _ in range(rows)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def gif_with_screen(width: int, height: int) -> bytes:
    """A real 1×1 GIF whose logical screen claims width × height."""
    data = bytearray(encode(Image.new("P", (1, 1)), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


def gif_frame_bomb(width: int, height: int, frames: int, frame_size: int | None = None) -> bytes:
    """A GIF of `frames` image blocks, written by repeating one encoded frame (fast, no Pillow animation save)."""
    frame = Image.new("P", (frame_size or width, frame_size or height), 1)
    frame.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    data = encode(frame, "GIF")
    flags = data[10]
    pos = 13 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
    head = bytearray(data[:pos])
    head[6:10] = struct.pack("<HH", width, height)
    while data[pos] == 0x21:  # skip extensions
        pos += 2
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    start = pos
    assert data[pos] == 0x2C
    local = data[pos + 9]
    pos += 10 + (3 * (2 << (local & 7)) if local & 0x80 else 0)
    pos += 1  # LZW minimum code size
    while data[pos]:
        pos += data[pos] + 1
    block = data[start : pos + 1]
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    delay = b"\x21\xf9\x04\x04\x02\x00\x00\x00"
    return bytes(head) + loop + (delay + block) * frames + b"\x3b"


def webp_claiming(width: int, height: int) -> bytes:
    """A small lossy WebP whose VP8 frame header is patched to claim width × height (at most 16383)."""
    data = bytearray(encode(Image.new("RGB", (16, 16), "navy"), "WEBP", quality=50))
    assert data[12:16] == b"VP8 " and data[23:26] == b"\x9d\x01\x2a"
    data[26:30] = struct.pack("<HH", width & 0x3FFF, height & 0x3FFF)
    return bytes(data)


def jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("RGB", (8, 8), "olive"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def huge_exif_jpeg() -> bytes:
    """A 64 KB EXIF block: every ASCII tag Pillow knows, each with a 4 KB value, plus a 60 KB UserComment."""
    exif = Image.Exif()
    for tag in (0x010E, 0x010F, 0x0110, 0x0131, 0x013B, 0x8298, 0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E, 0x9C9F):
        exif[tag] = "A" * 4000
    exif[0x0112] = 6  # rotated: displayed 60 × 80
    blob = exif.tobytes()
    blob = blob[:65000]
    return encode(Image.new("RGB", (80, 60), "teal"), "JPEG", exif=blob)


def truncated(data: bytes, keep: float) -> bytes:
    return data[: int(len(data) * keep)]


def noisy(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    image = Image.effect_noise(size, 64).convert(mode) if mode != "L" else Image.effect_noise(size, 64)
    return image


def png_ztxt_bomb() -> bytes:
    """A zTXt chunk that inflates to 20 MB (Pillow allows 1 MB): a decompression bomb in metadata, not pixels."""
    base = encode(Image.new("RGB", (10, 10), "red"), "PNG")
    packer = zlib.compressobj(9)
    text = b"".join(packer.compress(b"\x00" * (1 << 20)) for _ in range(20)) + packer.flush()
    ztxt = _chunk(b"zTXt", b"Comment\x00\x00" + text)
    return base[:33] + ztxt + base[33:]


def svg(body: str, prolog: str = "") -> bytes:
    return (prolog + body).encode()


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE svg [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><text>&lol9;</text></svg>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><text>&xxe;</text></svg>
"""

SCRIPT_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80" onload="alert(1)">
<script>alert(document.cookie)</script><rect width="120" height="80" fill="red"/>
<a href="javascript:alert(2)"><circle cx="10" cy="10" r="5"/></a></svg>"""


def build() -> list[Case]:
    photo = encode(noisy((640, 480)), "JPEG", quality=85)
    png = encode(noisy((400, 300)), "PNG")
    zip_buffer = io.BytesIO()
    with zipfile.ZipFile(zip_buffer, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    cmyk = encode(Image.new("CMYK", (200, 100), (10, 200, 30, 5)), "JPEG")
    gray16 = Image.new("I;16", (300, 200))
    gray16.putdata([(x * 200) % 65535 for x in range(300 * 200)])
    rgb16 = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 32, 16, 2, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress((b"\x00" + b"\x12\x34" * 3 * 64) * 32))
        + _chunk(b"IEND", b"")
    )
    heic_like = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00\x00\x00\x08mdat" + b"\xde\xad" * 500
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "x" * 100_000)
    return [
        Case("png-bomb-100000x100000.png", png_claiming(100_000, 100_000), "error", words=("limit",)),
        Case("png-bomb-20000x20000.png", png_claiming(20_000, 20_000), "error", words=("limit",)),
        Case("gif-bomb-65535x65535.gif", gif_with_screen(65_535, 65_535), "error", words=("limit",)),
        Case("webp-bomb-16383x16383.webp", webp_claiming(16_383, 16_383), "error", words=("limit",)),
        Case("jpeg-bomb-65000x65000.jpg", jpeg_claiming(65_000, 65_000), "error", words=("limit",)),
        Case("webp-10000x9999-truncated.webp", webp_claiming(10_000, 9_999), "error"),
        Case(
            "png-10000x10000-gray-real.png",
            png_claiming(10_000, 10_000, mode=(8, 0), rows=10_000),
            "image",
            size=(10_000, 10_000),
        ),
        Case("png-10000x10000-claims-10-rows.png", png_claiming(10_000, 10_000, mode=(8, 6), rows=10), "error"),
        Case("png-ztxt-bomb.png", png_ztxt_bomb(), "error"),
        Case("truncated-half.jpg", truncated(photo, 0.5), "error"),
        Case("truncated-header.jpg", photo[:300], "error"),
        Case("truncated-half.png", truncated(png, 0.5), "error"),
        Case("truncated-header.png", png[:40], "error"),
        Case("polyglot-gif-html.gif", b"GIF89a<html><body><script>alert(1)</script></body></html>", "error"),
        Case(
            "polyglot-jpeg-then-html.jpg", photo + b"<html><script>alert(1)</script></html>", "image", size=(640, 480)
        ),
        Case("polyglot-png-zip.png", png + zip_buffer.getvalue(), "image", size=(400, 300)),
        # Not an image at all, whatever its name says: kept as a plain text file, never provisioned or served as one.
        Case("polyglot-html-with-png-name.png", b"<html><script>alert(1)</script></html>", "file"),
        Case("svg-script.svg", svg(SCRIPT_SVG), "image", size=(120, 80)),
        Case("svg-external-entity.svg", svg(XXE), "error"),
        Case("svg-billion-laughs.svg", svg(BILLION_LAUGHS), "error"),
        Case(
            "svg-no-size.svg",
            svg('<svg xmlns="http://www.w3.org/2000/svg"><rect width="5" height="5"/></svg>'),
            "error",
        ),
        Case(
            "svg-huge-size.svg",
            svg('<svg xmlns="http://www.w3.org/2000/svg" width="90000" height="90000"/>'),
            "error",
            words=("limit",),
        ),
        Case("zero-bytes.jpg", b"", "error", words=("empty",)),
        Case("huge-exif.jpg", huge_exif_jpeg(), "image", size=(60, 80)),
        Case(
            "png-100k-text-chunk.png",
            encode(Image.new("RGB", (50, 40), "blue"), "PNG", pnginfo=info),
            "image",
            size=(50, 40),
        ),
        # 120 megapixels of frames in all, over the images service's limit: a still master of the first frame.
        Case("gif-3000-frames-200x200.gif", gif_frame_bomb(200, 200, 3000), "image", size=(200, 200)),
        Case("gif-3000-frames-64x64.gif", gif_frame_bomb(64, 64, 3000), "image", size=(64, 64)),
        Case("cmyk.jpg", cmyk, "image", size=(200, 100)),
        Case("gray-16bit.png", encode(gray16, "PNG"), "image", size=(300, 200)),
        Case("rgb-16bit.png", rgb16, "image", size=(64, 32)),
        Case("broken.heic", heic_like, "error"),
        # Formats the images service refuses become images through a JPEG master.
        Case("tiff.tif", encode(Image.new("RGB", (30, 20)), "TIFF"), "image", size=(30, 20)),
        Case("bmp.bmp", encode(Image.new("RGB", (30, 20)), "BMP"), "image", size=(30, 20)),
        Case("lying-11000x9000.jpg", lying_jpeg(), "error", words=("damaged",)),
    ]
