"""Masters: scaled only as far as the limits require, in sRGB, within every limit; bounded decoding."""

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.adapters.storage import LocalStorage
from app.domain import masters
from app.domain.pictures import PictureError, check_jpeg_length, read_header
from tests import masters_support as make

# Its subject is not the database: the PostgreSQL pass does not run it again (scripts/test.sh).
pytestmark = pytest.mark.one_database

SIDE, PIXELS = masters.MAX_SIDE, masters.MAX_PIXELS


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 100_000), st.integers(1, 100_000), st.integers(1, 50))
def test_fit_scales_only_as_far_as_the_limits_require(width, height, frames):
    new_width, new_height = masters.fit(width, height, frames)
    assert 1 <= new_width <= width and 1 <= new_height <= height
    if max(width, height) <= SIDE and width * height * frames <= PIXELS:
        assert (new_width, new_height) == (width, height)
        return
    assert max(new_width, new_height) <= SIDE
    # Within the area limit, unless a side already stands at its 1-px floor (100,000 × 1 × 50 frames).
    assert new_width * new_height * frames <= PIXELS or min(new_width, new_height) == 1
    # The shape is kept: the shorter side follows the longer one, rounded down (never below 1 px).
    long, short = max(width, height), min(width, height)
    new_long, new_short = max(new_width, new_height), min(new_width, new_height)
    assert new_short == max(1, short * new_long // long)
    # And no larger size would do: one more pixel on the longer side breaks a limit, or there is none to add.
    grown_short = max(1, short * (new_long + 1) // long)
    assert new_long == min(long, SIDE) or (new_long + 1) * grown_short * frames > PIXELS


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 200_000_000), st.integers(1, 100_000), st.integers(1, 100_000))
def test_reason_names_the_first_limit_broken(size, width, height):
    why = masters.reason("JPEG", size, width, height)
    within = size <= masters.MAX_BYTES and max(width, height) <= SIDE and width * height <= PIXELS
    assert (why is None) == within


def build(tmp_path, data: bytes) -> tuple[masters.Master, Image.Image]:
    storage = LocalStorage(str(tmp_path / "store"), "k", "http://x")
    master = masters.build(storage, "ws/fil", io.BytesIO(data), str(tmp_path))
    stored = (tmp_path / "store" / "ws" / "fil.master").read_bytes()
    assert len(stored) == master.size <= masters.MAX_BYTES
    image = Image.open(io.BytesIO(stored))
    assert max(image.size) <= SIDE and image.width * image.height <= PIXELS
    return master, image


def test_sixteen_bit_png_becomes_an_eight_bit_master_with_its_tones(tmp_path):
    gradient = Image.linear_gradient("L").resize((256, 64)).convert("I").point(lambda v: v * 257).convert("I;16")
    data = make.encode(gradient, "PNG")
    assert masters.reason("PNG", 11 * 1024 * 1024, 256, 64) is not None
    _, image = build(tmp_path, data)
    assert image.mode == "L" and image.getextrema()[1] >= 250  # scaled to 8 bits, not clipped to white


def test_animation_over_the_frame_limit_becomes_a_still_of_its_first_frame(tmp_path):
    frames = [
        Image.new("RGB", (4000, 3000), colour)
        for colour in ("red", "green", "blue", "white", "black", "yellow", "cyan", "purple", "grey")
    ]
    data = make.encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    count, _mode = masters.inspect(io.BytesIO(data))
    assert count == 9 and masters.reason("GIF", len(data), 4000, 3000, count) is not None
    master, image = build(tmp_path, data)
    assert (master.width, master.height) == (4000, 3000) and getattr(image, "n_frames", 1) == 1
    assert image.convert("RGB").getpixel((10, 10))[0] > 200  # the first frame, red


def test_exif_orientation_is_applied_to_the_master(tmp_path):
    image = Image.new("RGB", (600, 400), "white")
    exif = image.getexif()
    exif[0x0112] = 6
    data = make.encode(image, "TIFF", exif=exif)
    master, _ = build(tmp_path, data)
    assert (master.width, master.height) == (400, 600)


def test_jpeg_xl_is_read_through_the_plugin(tmp_path):
    data = make.encode(Image.new("RGB", (320, 200), (20, 90, 200)), "JXL", lossless=True)
    header = read_header(io.BytesIO(data))
    assert masters.reason(header.format, len(data), header.width, header.height) is not None
    master, image = build(tmp_path, data)
    assert master.format == "jpeg" and image.size == (320, 200)


def test_a_file_beyond_the_decompression_limit_fails_with_a_reason_before_decoding(tmp_path):
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 60_000, 60_000, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(PictureError) as failure:
        read_header(io.BytesIO(bomb))
    assert failure.value.code == "image_too_large" and "megapixels" in failure.value.message
    with pytest.raises(PictureError):
        masters.build(LocalStorage(str(tmp_path), "k", "http://x"), "ws/fil", io.BytesIO(bomb), str(tmp_path))


def test_a_jpeg_whose_data_ends_early_is_damaged_and_an_intact_one_is_not():
    lying = make.lying_jpeg()
    header = read_header(io.BytesIO(lying))
    with pytest.raises(PictureError) as failure:
        check_jpeg_length(io.BytesIO(lying), header.stored_width, header.stored_height)
    assert failure.value.code == "image_damaged"
    flat = make.encode(Image.new("L", (4000, 3000), 128), "JPEG", quality=50, optimize=True, progressive=True)
    check_jpeg_length(io.BytesIO(flat), 4000, 3000)  # the smallest honest JPEG of that size passes


@settings(max_examples=40, deadline=None)
@given(
    st.integers(8, 400), st.integers(8, 400), st.sampled_from([5, 50, 95]), st.booleans(), st.sampled_from(["L", "RGB"])
)
def test_every_intact_jpeg_passes_the_length_check(width, height, quality, progressive, mode):
    flat = Image.new(mode, (width, height), 128 if mode == "L" else (128, 128, 128))
    data = make.encode(flat, "JPEG", quality=quality, optimize=True, progressive=progressive)
    check_jpeg_length(io.BytesIO(data), width, height)


@settings(max_examples=30, deadline=None)
@given(st.integers(4_000, 60_000), st.integers(4_000, 60_000))
def test_a_header_promising_far_more_blocks_than_the_bytes_hold_is_damaged(width, height):
    header = make.lying_jpeg(800, 800, keep=2048)  # a real header, then the size patched to width × height
    start = header.index(b"\xff\xc0") + 5
    lying = header[:start] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + header[start + 4 :]
    with pytest.raises(PictureError):
        check_jpeg_length(io.BytesIO(lying), width, height)
