"""AVIF uploads, no kinder than Cloudflare's documentation: not an upload format unless the account is Enterprise,
and then a hosted AVIF is limited to 1,200 px on its longest side."""

from __future__ import annotations

import io

import pytest
import requests
from imagesd_support import decode, start_standin, stop_standin
from PIL import Image


def avif_bytes(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 140, 60)).save(out, "AVIF", quality=40, speed=10)
    return out.getvalue()


@pytest.fixture(scope="module")
def enterprise():
    server = start_standin(setup=False, IMAGESD_AVIF_UPLOADS="enterprise")
    yield server
    stop_standin(server)


def test_a_new_account_refuses_every_avif_upload(standin):
    answer = standin.upload(avif_bytes((64, 48)), "small.avif")
    assert answer.status_code == 415, answer.text
    error = answer.json()["errors"][0]
    assert error["code"] == 5415 and "Enterprise" in error["message"] and "HEIC" in error["message"]


@pytest.mark.parametrize(
    "size, accepted",
    [((64, 48), True), ((1200, 40), True), ((40, 1200), True), ((1201, 40), False), ((30, 1201), False)],
)
def test_an_enterprise_account_takes_avif_up_to_1200_px(enterprise, size, accepted):
    answer = enterprise.upload(avif_bytes(size), "photo.avif")
    if accepted:
        assert answer.status_code == 200, answer.text
        blob = requests.get(
            f"{enterprise.api}/v1/{answer.json()['result']['id']}/blob", headers=enterprise.auth, timeout=10
        )
        assert decode(blob.content).size == size
    else:
        assert answer.status_code == 422 and answer.json()["errors"][0]["code"] == 5422
        assert "1200 px" in answer.json()["errors"][0]["message"]
