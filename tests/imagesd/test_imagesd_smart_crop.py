"""gravity=auto keeps the salient subject in frame, and trim cuts the box Cloudflare documents, through delivery."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import requests
from hypothesis import given
from hypothesis import strategies as st
from imagesd_support import decode
from PIL import Image, ImageChops

from app.imagesd.options import parse_flexible

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from smart_crop_eval import evaluate, make_cases  # noqa: E402


def test_gravity_auto_keeps_the_subject_in_frame(standin):
    rates = evaluate(standin, make_cases(6, seed=2025))
    for crop, rate in rates.items():
        assert rate["auto"] >= 0.9, (crop, rates)
        assert rate["auto"] >= rate["center"], (crop, rates)


def _striped(size=(200, 100)) -> bytes:
    image = Image.new("RGB", size)
    image.putdata([(x, y, (x * y) % 256) for y in range(size[1]) for x in range(size[0])])
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_trim_cuts_top_right_bottom_left_before_resizing(standin):
    data = _striped()
    image_id = standin.upload(data, "striped.png").json()["result"]["id"]
    source = Image.open(io.BytesIO(data)).convert("RGB")
    for options, box in (
        ("trim=10;20;30;40,format=png", (40, 10, 180, 70)),
        ("trim.left=5,trim.top=6,trim.width=50,trim.height=40,format=png", (5, 6, 55, 46)),
    ):
        response = requests.get(standin.delivery(image_id, options), timeout=30)
        assert response.status_code == 200, response.text
        output = decode(response.content).convert("RGB")
        assert output.size == (box[2] - box[0], box[3] - box[1])
        assert ImageChops.difference(output, source.crop(box)).getbbox() is None
    response = requests.get(standin.delivery(image_id, "trim=0;0;50;100,w=50,format=png"), timeout=30)
    assert decode(response.content).size == (50, 25)


def test_a_malformed_trim_is_a_clear_400(standin):
    image_id = standin.upload(_striped(), "striped.png").json()["result"]["id"]
    response = requests.get(standin.delivery(image_id, "trim=10;20"), timeout=30)
    assert response.status_code == 400
    assert "top;right;bottom;left" in response.text


@given(
    st.integers(1, 5000),
    st.integers(1, 5000),
    st.tuples(*[st.integers(0, 10_000)] * 4),
)
def test_trim_always_leaves_a_box_inside_the_image(width, height, sides):
    transform = parse_flexible("trim=" + ";".join(map(str, sides)))
    left, top, right, bottom = transform.trimmed(width, height)
    assert 0 <= left < right <= width and 0 <= top < bottom <= height
    if sides[1] + sides[3] < width:
        assert right - left == width - sides[1] - sides[3]
