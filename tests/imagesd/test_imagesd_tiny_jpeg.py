"""JPEGs smaller than 8 px on a side are valid and Cloudflare takes them; the stand-in must not call them damaged."""

from __future__ import annotations

import io

import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.imagesd.probe import probe


def tiny_jpeg(width: int, height: int, mode: str = "RGB", progressive: bool = False) -> bytes:
    out = io.BytesIO()
    colour = 90 if mode == "L" else (200, 40, 90)
    Image.new(mode, (width, height), colour).save(out, "JPEG", progressive=progressive)
    return out.getvalue()


@settings(max_examples=120, deadline=None)
@given(st.integers(1, 20), st.integers(1, 20), st.sampled_from(["RGB", "L"]), st.booleans())
def test_every_small_jpeg_is_probed_as_itself(width, height, mode, progressive):
    found = probe(tiny_jpeg(width, height, mode, progressive))
    assert (found.kind, found.width, found.height) == ("jpeg", width, height)


def test_a_3_by_5_jpeg_is_uploaded_and_delivered(standin):
    response = standin.upload(tiny_jpeg(3, 5))
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    delivered = requests.get(result["variants"][0], timeout=30)
    assert delivered.status_code == 200, delivered.text
