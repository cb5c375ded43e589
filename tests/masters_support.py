"""Test inputs for masters, made with Pillow: each breaks one of the images service's limits or formats."""

from __future__ import annotations

import io
import os
import struct

from PIL import Image


def noise(width: int, height: int, mode: str = "RGB", tile: int = 512) -> Image.Image:
    """Camera-like noise (a random tile repeated with a gradient), cheap to make at any size."""
    channels = len(mode)
    base = Image.frombytes(mode, (tile, tile), os.urandom(tile * tile * channels))
    image = Image.new(mode, (width, height))
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            image.paste(base, (left, top))
    return image


def encode(image: Image.Image, format_: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format_, **options)
    return out.getvalue()


def panorama_jpeg() -> bytes:
    return encode(Image.linear_gradient("L").convert("RGB").resize((13_000, 2_000)), "JPEG", quality=85)


def heavy_jpeg(min_bytes: int = 11 * 1024 * 1024) -> bytes:
    data = encode(noise(4000, 3000), "JPEG", quality=95)
    assert len(data) > min_bytes, len(data)
    return data


def huge_png() -> bytes:
    """110 megapixels (11,000 × 10,000): over the area limit, within the decompression limit."""
    return encode(Image.linear_gradient("L").resize((11_000, 10_000)), "PNG", compress_level=1)


def two_page_tiff() -> bytes:
    first, second = Image.new("RGB", (640, 480), (200, 30, 30)), Image.new("RGB", (320, 240), (30, 30, 200))
    return encode(first, "TIFF", save_all=True, append_images=[second], compression="tiff_deflate")


def bmp() -> bytes:
    return encode(Image.new("RGB", (300, 200), (10, 140, 60)), "BMP")


def alpha_png(min_bytes: int = 10 * 1024 * 1024 + 1) -> bytes:
    image = Image.frombytes("RGBA", (1800, 1600), os.urandom(1800 * 1600 * 4))  # noise does not compress
    data = encode(image, "PNG", compress_level=1)
    assert len(data) > min_bytes, len(data)
    return data


def cmyk_jpeg(profile: bytes | None) -> bytes:
    image = Image.new("CMYK", (400, 300), (255, 0, 0, 0))  # pure cyan ink
    return encode(image, "JPEG", quality=95, **({"icc_profile": profile} if profile else {}))


def lying_jpeg(width: int = 11_000, height: int = 9_000, keep: int = 8192) -> bytes:
    """A real JPEG header for width × height whose data stops after `keep` bytes, closed with an EOI marker."""
    image = Image.frombytes("L", (width // 100, height // 100), os.urandom(width * height // 10_000))
    data = encode(image.resize((width, height)), "JPEG", quality=90)
    return data[:keep] + b"\xff\xd9"


INKS = {"C": (0, 174, 239), "M": (236, 0, 140), "Y": (255, 242, 0), "K": (35, 31, 32)}


def cmyk_profile(grid: int = 5) -> bytes:
    """A small ICC v2 CMYK output profile (A2B0 as a 16-bit LUT to Lab) whose inks mix like printed inks, so a
    conversion through it is told apart from Pillow's naive inversion (pure cyan ink → about sRGB 0, 174, 239)."""
    import itertools
    import struct

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def lab(c: float, m: float, y: float, k: float) -> tuple[float, float, float]:
        rgb = []
        for channel in range(3):
            value = 1.0
            for amount, ink in zip((c, m, y, k), INKS.values()):
                value *= 1 - amount * (1 - ink[channel] / 255)
            rgb.append(value)
        linear = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in rgb]
        matrix = (
            (0.4360747, 0.3850649, 0.1430804),
            (0.2225045, 0.7168786, 0.0606169),
            (0.0139322, 0.0971045, 0.7141733),
        )
        x, y_, z = (sum(row[i] * linear[i] for i in range(3)) for row in matrix)
        f = [
            t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116 for t in (x / 0.9642, y_ / 1.0, z / 0.8249)
        ]
        return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])

    clut = bytearray()
    steps = [i / (grid - 1) for i in range(grid)]
    for c, m, y, k in itertools.product(steps, repeat=4):
        light, a, b = lab(c, m, y, k)
        clut += struct.pack(
            ">HHH",
            round(max(0, min(100, light)) * 652.8),
            round(max(0, min(65535, (a + 128) * 256))),
            round(max(0, min(65535, (b + 128) * 256))),
        )
    lut = (
        b"mft2"
        + bytes(4)
        + bytes([4, 3, grid, 0])
        + b"".join(s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
        + struct.pack(">HH", 2, 2)
        + struct.pack(">HH", 0, 65535) * 4
        + bytes(clut)
        + struct.pack(">HH", 0, 65535) * 3
    )
    text = b"test CMYK inks\0"
    desc = (
        b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4) + bytes(4) + bytes(2) + bytes(1) + bytes(67)
    )
    white = b"XYZ " + bytes(4) + s15(0.9642) + s15(1.0) + s15(0.8249)
    cprt = b"text" + bytes(4) + b"public domain\0"
    tags = [(b"desc", desc), (b"wtpt", white), (b"cprt", cprt), (b"A2B0", lut)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + b"prtrCMYKLab "
        + bytes(12)
        + b"acsp"
        + bytes(4)
        + bytes(4)
        + bytes(4)
        + bytes(4)
        + bytes(8)
        + bytes(4)
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + bytes(4)
        + bytes(44)
    )
    assert len(header) == 128
    return header + table + data


# Three flat regions: the first covers 60 % of the picture, so it is the dominant colour in any format.
DOMINANT, SECOND, THIRD = (153, 149, 169), (30, 110, 60), (220, 180, 40)
GREY_DOMINANT, GREY_SECOND = 150, 40


def picture(mode: str = "RGB", size: tuple[int, int] = (80, 60)) -> Image.Image:
    width, height = size
    colours = (DOMINANT, SECOND, THIRD) if mode == "RGB" else (GREY_DOMINANT, GREY_SECOND, GREY_SECOND)
    image = Image.new(mode, size, colours[0])
    image.paste(colours[1], (0, 0, width, height * 25 // 100))
    image.paste(colours[2], (0, height * 85 // 100, width, height))
    return image


def psd(image: Image.Image, channels: int = 3) -> bytes:
    """A Photoshop file with the merged picture stored raw, as Photoshop writes it with 'maximise compatibility'."""
    mode = {1: 1, 3: 3, 4: 3}[channels]  # greyscale or RGB (four channels: RGB with alpha)
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, channels, image.height, image.width, 8, mode)
    bands = image.convert("RGBA" if channels == 4 else "RGB" if channels == 3 else "L").split()
    return header + struct.pack(">III", 0, 0, 0) + struct.pack(">H", 0) + b"".join(band.tobytes() for band in bands)


def sixteen_bit(mode: str) -> Image.Image:
    """The grey picture with 16-bit samples (value × 257, so 0-65535), in the given 16-bit mode."""
    return picture("L").convert("I").point(lambda value: value * 257).convert(mode)


# Formats `filetype` does not know (or knows by another name) that Pillow decodes: images, not plain files.
def bigtiff() -> bytes:
    return encode(picture(), "TIFF", big_tiff=True)


def j2k_codestream() -> bytes:
    return encode(picture(), "JPEG2000", no_jp2=True)


def jpx() -> bytes:
    """A JP2 file whose file-type box names the JPX brand, as .jpf files do."""
    data = encode(picture(), "JPEG2000")
    at = data.index(b"ftyp") + 4
    return data[:at] + b"jpx " + data[at + 4 :]


def animated_avif() -> bytes:
    return encode(picture(), "AVIF", save_all=True, append_images=[picture().rotate(180)])
