"""Crop geometry: every valid set of options gives a box inside the source and an image of the size its fit promises."""

from __future__ import annotations

import io
import math

import pillow_heif
import pytest
import requests
from hypothesis import example, given, settings
from hypothesis import strategies as st
from imagesd_support import corpus_bytes, decode
from PIL import Image

from app.imagesd import render
from app.imagesd.options import FITS, GRAVITY_SIDES, Transform, from_variant, parse_flexible
from app.imagesd.settings import MAX_PIXELS, MAX_SIDE

pillow_heif.register_heif_opener()

gravities = st.one_of(
    st.sampled_from(sorted(set(GRAVITY_SIDES.values()))),
    st.tuples(st.floats(0, 1), st.floats(0, 1)),
    # XxY as a URL carries it: a short decimal, parsed like the delivery path parses it.
    st.tuples(st.integers(0, 1000), st.integers(0, 1000)).map(lambda xy: (xy[0] / 1000, xy[1] / 1000)),
)
sides = st.one_of(st.none(), st.integers(1, 12_000))


def clamped(size: tuple[int, int], frames: int = 1) -> tuple[int, int]:
    """Cloudflare's output limits, kept by shrinking with the aspect: 12,000 px a side, 100 MP over all frames."""
    out_w, out_h = size
    factor = min(1.0, MAX_SIDE / max(size), math.sqrt(MAX_PIXELS / (out_w * out_h * frames)))
    if factor == 1.0:
        return size
    return max(1, math.floor(out_w * factor)), max(1, math.floor(out_h * factor))


def expected_size(width: int, height: int, t: Transform) -> tuple[int, int]:
    """The fit rules as the docs state them, written out independently of render.geometry."""
    return clamped(unclamped_size(width, height, t))


def unclamped_size(width: int, height: int, t: Transform) -> tuple[int, int]:
    tw, th = t.target_size()
    if tw is None and th is None:
        return width, height
    if tw is None or th is None:
        scale = tw / width if tw is not None else th / height
        if t.fit in {"scale-down", "crop"}:
            scale = min(scale, 1.0)
        return max(1, round(width * scale)), max(1, round(height * scale))
    if t.fit in {"cover", "squeeze", "pad"}:
        return tw, th
    if t.fit == "crop":
        return (tw, th) if width >= tw and height >= th else (min(tw, width), min(th, height))
    if t.fit == "scale-down" and width <= tw and height <= th:
        return width, height
    scale = min(tw / width, th / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def check(width: int, height: int, t: Transform) -> None:
    shape = render.geometry(width, height, t)
    left, top, right, bottom = shape.box
    assert 0 <= left < right <= width, shape
    assert 0 <= top < bottom <= height, shape
    assert (shape.canvas or shape.size) == expected_size(width, height, t)
    if shape.canvas:
        assert shape.size[0] <= shape.canvas[0] and shape.size[1] <= shape.canvas[1]
        assert shape.size[0] == shape.canvas[0] or shape.size[1] == shape.canvas[1]
    tw, th = t.target_size()
    if tw is not None and th is not None and t.fit in {"contain", "scale-down"}:
        out_w, out_h = shape.size
        if shape.size != unclamped_size(width, height, t):
            return
        assert out_w <= tw and out_h <= th
        assert out_w == tw or out_h == th or (t.fit == "scale-down" and shape.size == (width, height))


@settings(max_examples=3000, deadline=None)
@given(
    st.integers(1, 20_000),
    st.integers(1, 20_000),
    sides,
    sides,
    st.sampled_from(FITS),
    gravities,
    st.sampled_from([1.0, 1.0, 0.5, 1.5, 2.0]),
)
@example(640, 426, 400, 300, "cover", (0.5, 0.5), 1.0)  # the reported HEIF
@example(61, 58, 200, 200, "cover", (0.5, 0.5), 1.0)  # a gallery tile
@example(244, 251, 320, 320, "cover", (0.5, 0.5), 1.0)  # the thumbnail variant
def test_geometry_box_inside_and_size_as_promised(width, height, tw, th, fit, gravity, dpr):
    check(width, height, Transform(width=tw, height=th, fit=fit, gravity=gravity, dpr=dpr))


def _jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (width % 256, height % 256, 90)).save(out, "JPEG", quality=70)
    return out.getvalue()


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 300),
    st.integers(1, 300),
    st.one_of(st.none(), st.integers(1, 700)),
    st.one_of(st.none(), st.integers(1, 700)),
    st.sampled_from(FITS),
    gravities,
    st.sampled_from([0, 90]),
)
@example(61, 58, 200, 200, "cover", (0.5, 0.5), 0)
@example(244, 251, 320, 320, "cover", (0.5, 0.5), 0)
def test_rendered_image_has_the_promised_size(width, height, tw, th, fit, gravity, rotate):
    transform = Transform(width=tw, height=th, fit=fit, gravity=gravity, rotate=rotate)
    out = decode(render.render(_jpeg(width, height), transform, "png"))
    assert out.size == render.output_size(width, height, transform)


@pytest.mark.parametrize(
    "name, options, size",
    [
        ("heic_samplefilehub.heif", parse_flexible("w=400,h=300,fit=cover"), (400, 300)),
        ("Canon_40D.jpg", parse_flexible("w=200,h=200,fit=cover,g=0.3x0.7"), (200, 200)),
        ("gps_DSCN0010.jpg", from_variant({"fit": "cover", "width": 320, "height": 320}), (320, 320)),
    ],
)
def test_reported_sources_render(name, options, size):
    data = corpus_bytes(name)
    assert decode(render.render(data, options, "jpeg")).size == size


@pytest.mark.parametrize(
    "width, height, options",
    [
        (61, 58, "w=200,h=200,fit=cover"),
        (244, 251, "w=320,h=320,fit=cover"),
        (640, 426, "w=400,h=300,fit=cover"),
        (640, 426, "w=200,h=200,fit=cover,dpr=2"),
    ],
)
def test_reported_sizes_render(width, height, options):
    transform = parse_flexible(options)
    assert decode(render.render(_jpeg(width, height), transform, "webp")).size == transform.target_size()


@settings(max_examples=3000, deadline=None)
@given(
    st.integers(1, 12_000),
    st.integers(1, 12_000),
    sides,
    sides,
    st.sampled_from(FITS),
    st.sampled_from([0.1, 0.5, 1.0, 1.5, 2.0]),
    st.sampled_from([0, 90, 180, 270]),
    st.integers(1, 500),
    st.booleans(),
)
@example(1, 1, 12_000, None, "contain", 1.0, 0, 1, True)  # the reported 12000 × 4,000,000 plans
@example(3, 1000, 12_000, None, "contain", 1.0, 0, 1, True)
@example(1, 1, 12_000, 12_000, "squeeze", 1.0, 0, 1, True)
@example(10, 10, 6_000, 6_000, "pad", 2.0, 0, 1, True)
@example(2, 2, 1_000, None, "contain", 1.0, 0, 400, True)  # an animation: the frames count together
def test_planned_output_never_exceeds_the_limits(width, height, tw, th, fit, dpr, rotate, frames, anim):
    """Whatever a URL asks for, the plan (and so the decode and the encode) stays within 12,000 px and 100 MP."""
    transform = Transform(width=tw, height=th, fit=fit, dpr=dpr, rotate=rotate, anim=anim)
    out_w, out_h = render.output_size(width, height, transform, frames)
    assert 1 <= out_w <= MAX_SIDE and 1 <= out_h <= MAX_SIDE
    assert out_w * out_h * (frames if anim else 1) <= MAX_PIXELS
    shape = render.geometry(width, height, transform, frames if anim else 1)
    assert shape.size[0] <= (shape.canvas or shape.size)[0] and shape.size[1] <= (shape.canvas or shape.size)[1]
    # Clamped as a whole, so the aspect is kept to within a pixel's rounding.
    wanted = unclamped_size(*render.displayed_size(width, height, 1, rotate), transform)
    assert (out_w, out_h) == clamped(wanted, frames if anim else 1)


@pytest.mark.parametrize(
    "size, options, expected",
    [
        ((3, 1000), "w=12000,fit=contain", (36, 12_000)),
        ((1000, 3), "h=6000,dpr=2,fit=contain", (12_000, 36)),
    ],
)
def test_flexible_url_beyond_the_limits_renders_clamped(standin, size, options, expected):
    """A real delivery of the reported URLs answers an image within the limits (not a 13.7 GB decode, not a 500)."""
    png = io.BytesIO()
    Image.new("RGB", size, (20, 90, 160)).save(png, "PNG")
    uploaded = standin.upload(png.getvalue(), id=f"limits-{size[0]}x{size[1]}-{len(options)}")
    assert uploaded.status_code == 200, uploaded.text
    image_id = uploaded.json()["result"]["id"]
    planned = requests.get(standin.delivery(image_id, options + ",format=json"), timeout=30)
    assert planned.status_code == 200 and (planned.json()["width"], planned.json()["height"]) == expected
    delivered = requests.get(standin.delivery(image_id, options + ",format=png"), timeout=60)
    assert delivered.status_code == 200, delivered.text
    assert decode(delivered.content).size == expected
