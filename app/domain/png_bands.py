"""A large PNG scaled down while it is decoded, a band of rows at a time, so the whole picture is never in memory.

Pillow decodes a PNG whole: 716 MB for an RGBA PNG at the decompression limit. Here the IDAT stream is inflated in
pieces; each band of filtered rows becomes a small PNG of its own (led by the previous band's last row, unfiltered,
which the filters of its first row refer to), decoded by Pillow and resized into the output at once. Only
non-interlaced 8-bit PNGs qualify; the others are decoded whole (`eligible`).
"""

from __future__ import annotations

import io
import math
import struct
import zlib

from PIL import Image

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
BAND_ROWS = 32
OUT_ROWS = 32


def _chunks(stream):
    stream.seek(len(SIGNATURE))
    while True:
        head = stream.read(8)
        if len(head) < 8:
            return
        length, kind = struct.unpack(">I4s", head)
        body = stream.read(length)
        stream.read(4)  # the CRC: Pillow checks the chunks it is given; these are rebuilt below
        yield kind, body
        if kind == b"IEND":
            return


def eligible(stream) -> bool:
    """A non-interlaced PNG of 8-bit samples (the decoded rows are then the PNG's own unfiltered bytes)."""
    stream.seek(0)
    head = stream.read(33)
    stream.seek(0)
    if not head.startswith(SIGNATURE) or head[12:16] != b"IHDR":
        return False
    depth, colour, _, _, interlace = struct.unpack(">BBBBB", head[24:29])
    return depth == 8 and colour in _CHANNELS and interlace == 0


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bands(stream):
    """(top row, decoded band) from the first to the last row; each band is a Pillow image of the PNG's mode."""
    state = {"header": None, "extra": b"", "top": 0, "previous": None, "pending": bytearray()}
    inflater = zlib.decompressobj()
    for kind, body in _chunks(stream):
        if kind == b"IHDR":
            state["header"] = body
        elif kind in (b"PLTE", b"tRNS"):
            state["extra"] += _chunk(kind, body)
        elif kind == b"IDAT" and state["header"] is not None:
            data = body
            while data:
                # Inflated a band at a time: one IDAT chunk may hold the whole picture.
                state["pending"] += inflater.decompress(data, _stride(state["header"]) * BAND_ROWS)
                data = inflater.unconsumed_tail
                yield from _ready_bands(state, final=False)
    state["pending"] += inflater.flush()
    yield from _ready_bands(state, final=True)
    if state["header"] is None or state["top"] < struct.unpack(">I", state["header"][4:8])[0]:
        raise OSError(f"image file is truncated: {state['top']:,} rows of pixel data")


def _stride(header: bytes) -> int:
    return 1 + struct.unpack(">I", header[:4])[0] * _CHANNELS[header[9]]


def _ready_bands(state: dict, final: bool):
    if state["header"] is None:
        return
    width, height = struct.unpack(">II", state["header"][:8])
    stride, pending = _stride(state["header"]), state["pending"]
    while state["top"] < height and len(pending) >= stride:
        rows = min(BAND_ROWS, len(pending) // stride, height - state["top"])
        if rows < BAND_ROWS and not final and state["top"] + rows < height:
            return
        band = _decode_band(state["header"], state["extra"], state["previous"], bytes(pending[: rows * stride]), rows)
        del pending[: rows * stride]
        state["previous"] = band.crop((0, rows - 1, width, rows)).tobytes()
        yield state["top"], band
        state["top"] += rows


def _decode_band(header: bytes, extra: bytes, previous: bytes | None, rows_data: bytes, rows: int) -> Image.Image:
    lead = b"\x00" + previous if previous is not None else b""
    ihdr = header[:4] + struct.pack(">I", rows + (1 if previous is not None else 0)) + header[8:]
    data = lead + rows_data
    png = SIGNATURE + _chunk(b"IHDR", ihdr) + extra + _chunk(b"IDAT", zlib.compress(data, 0)) + _chunk(b"IEND", b"")
    band = Image.open(io.BytesIO(png))
    band.load()
    if previous is not None:
        cropped = band.crop((0, 1, band.width, band.height))
        cropped.info = band.info
        return cropped
    return band


def resized(stream, source: tuple[int, int], size: tuple[int, int], mode: str) -> Image.Image:
    """The PNG scaled to `size` with LANCZOS as it is decoded, keeping only the source rows the next output rows
    reach (LANCZOS takes 3 source pixels per output pixel each side). An RGBA picture stays RGB while every pixel so
    far is opaque (an opaque RGBA master would need an RGB copy of itself to become a JPEG)."""
    out = None
    scale_y = source[1] / size[1]
    margin = math.ceil(3 * max(scale_y, 1.0)) + 2
    buffer, buffer_top, done = None, 0, 0
    for top, band in bands(stream):
        band = band.convert(mode) if band.mode != mode else band
        buffer = band if buffer is None else _stack(buffer, band)
        buffer_bottom = top + band.height
        while done < size[1]:
            bottom = min(size[1], done + OUT_ROWS)
            if min(source[1], math.ceil(bottom * scale_y) + margin) > buffer_bottom:
                break
            box = (0, done * scale_y - buffer_top, source[0], bottom * scale_y - buffer_top)
            piece = buffer.resize((size[0], bottom - done), Image.Resampling.LANCZOS, box=box)
            if out is None:
                opaque = piece.mode == "RGBA" and piece.getextrema()[3][0] == 255
                out = Image.new("RGB" if opaque else piece.mode, size)
            elif out.mode != piece.mode and piece.getextrema()[3][0] < 255:
                out = out.convert(piece.mode)  # the first transparent pixel: the output keeps alpha after all
            out.paste(piece.convert(out.mode) if piece.mode != out.mode else piece, (0, done))
            done = bottom
        keep_from = max(buffer_top, math.floor(done * scale_y) - margin)
        if keep_from > buffer_top:
            buffer = buffer.crop((0, keep_from - buffer_top, source[0], buffer.height))
            buffer_top = keep_from
    if out is None or done < size[1]:
        raise OSError("image file is truncated: the pixel data ends early")
    return out


def _stack(upper: Image.Image, lower: Image.Image) -> Image.Image:
    both = Image.new(upper.mode, (upper.width, upper.height + lower.height))
    both.paste(upper, (0, 0))
    both.paste(lower, (0, upper.height))
    return both
