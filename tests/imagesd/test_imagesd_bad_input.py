"""Every kind of bad input gets a specific 4xx the product can show an editor; none brings a 500 or kills a worker."""

from __future__ import annotations

import io
import json
import struct
import time

import cloudflare
import pytest
import requests
from imagesd_support import (
    ACCOUNT_ID,
    TOKEN,
    Route,
    corpus_bytes,
    decode,
    free_port,
    jpeg_bytes,
    png_bytes,
    png_header_only,
)
from PIL import Image


def error_of(response: requests.Response) -> tuple[int, int, str]:
    body = response.json()
    assert body["success"] is False and body["result"] is None
    return response.status_code, body["errors"][0]["code"], body["errors"][0]["message"]


def test_unknown_account_is_a_cloudflare_404(standin):
    from cloudflare import Cloudflare

    with Cloudflare(api_token=TOKEN, base_url=f"{standin.url}/client/v4", max_retries=0) as client:
        with pytest.raises(cloudflare.NotFoundError) as caught:
            client.images.v2.list(account_id="0" * 32)
    assert caught.value.body["errors"][0]["code"] == 5404


def test_wrong_token_is_401(standin):
    from cloudflare import Cloudflare

    with Cloudflare(api_token="wrong", base_url=f"{standin.url}/client/v4", max_retries=0) as client:
        with pytest.raises(cloudflare.AuthenticationError) as caught:
            client.images.v1.get("anything", account_id=ACCOUNT_ID)
    assert caught.value.body["errors"][0]["code"] == 10000


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_image_is_404_for_every_verb(standin, method):
    response = requests.request(
        method, f"{standin.api}/v1/no-such-image", headers=standin.auth, json={"metadata": {}}, timeout=10
    )
    assert error_of(response)[:2] == (404, 5404)
    blob = requests.get(f"{standin.api}/v1/no-such-image/blob", headers=standin.auth, timeout=10)
    assert error_of(blob)[:2] == (404, 5404)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"just some text, not an image\n", "not an image"),
        (b"II*\x00" + b"\x00" * 200, "TIFF images are not supported"),
        (b"MM\x00*" + b"\x00" * 200, "TIFF images are not supported"),
        (b"%PDF-1.7\n" + b"0" * 100, "PDF document"),
        (b"", "empty"),
    ],
)
def test_not_an_image_is_415(standin, data, words):
    status, code, message = error_of(standin.upload(data, "upload.bin"))
    assert (status, code) == (415, 5415)
    assert words in message


def test_real_tiff_is_415(standin):
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, "TIFF")
    status, code, message = error_of(standin.upload(out.getvalue(), "scan.tiff"))
    assert (status, code) == (415, 5415) and "TIFF" in message


def test_over_10_mb_is_413(standin):
    data = jpeg_bytes() + b"\x00" * (10 * 1024 * 1024)
    status, code, message = error_of(standin.upload(data, "big.jpg"))
    assert (status, code) == (413, 5413)
    assert "the limit is 10 MB" in message


def test_too_wide_is_rejected_with_the_numbers(standin):
    out = io.BytesIO()
    Image.new("L", (14000, 8)).save(out, "JPEG")
    status, code, message = error_of(standin.upload(out.getvalue(), "wide.jpg"))
    assert (status, code) == (422, 5422)
    assert message == "The image is 14000 px wide; the limit is 12000 px."


def test_too_many_megapixels(standin):
    status, code, message = error_of(standin.upload(png_header_only(11000, 10000), "area.png"))
    assert (status, code) == (422, 5422)
    assert "110.0 megapixels" in message and "the limit is 100 megapixels" in message


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_50000_px_png_bomb_costs_nothing(standin):
    bomb = png_header_only(50_000, 50_000)
    assert len(bomb) < 2000
    before = {pid: _rss_kb(pid) for pid in standin.worker_pids()}
    started = time.monotonic()
    for _ in range(4):
        status, code, message = error_of(standin.upload(bomb, "bomb.png"))
        assert (status, code) == (422, 5422) and "50000 px wide" in message
    assert time.monotonic() - started < 2.0
    after = {pid: _rss_kb(pid) for pid in standin.worker_pids()}
    assert set(after) == set(before), "a worker died"
    assert all(after[pid] - before[pid] < 20_000 for pid in after)


def test_animation_area_counts_every_frame(standin):
    width = height = 5000

    def descriptor() -> bytes:
        return b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x4c\x01\x00"

    gif = b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + descriptor() * 5 + b"\x3b"
    status, code, message = error_of(standin.upload(gif, "frames.gif"))
    assert (status, code) == (422, 5422)
    assert "5 frames" in message


def test_truncated_files_get_a_clear_error(standin):
    photo = corpus_bytes("mobile_jolla.jpg")
    status, code, message = error_of(standin.upload(photo[: len(photo) // 2], "half.jpg"))
    assert (status, code) == (422, 5455)
    assert message.startswith("The JPEG image is damaged or truncated")
    png = png_bytes((300, 300))
    status, code, message = error_of(standin.upload(png[:-40], "cut.png"))
    assert (status, code) == (422, 5455) and "PNG" in message
    status, code, _ = error_of(standin.upload(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "header.png"))
    assert (status, code) == (422, 5455)


@pytest.mark.parametrize("name", ["corrupted.jpg", "invalid_image01137.jpg"])
def test_damaged_but_decodable_corpus_files_are_accepted(standin, name):
    """These decode despite damaged data or EXIF blocks, so the product keeps them rather than losing an upload."""
    response = standin.upload(corpus_bytes(name), name)
    assert response.status_code == 200, response.text
    image_id = response.json()["result"]["id"]
    delivered = requests.get(standin.delivery(image_id, "w=64"), timeout=30)
    assert delivered.status_code == 200 and decode(delivered.content).width == 64


def test_svg_doctype_and_entities_are_refused_quickly(standin):
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&d;&d;&d;&d;&d;&d;&d;&d;</text></svg>'
    )
    status, code, message = error_of(standin.upload(laughs, "laughs.svg"))
    assert (status, code) == (415, 5415) and "DOCTYPE" in message
    status, code, message = error_of(standin.upload(b"<svg xmlns='http://www.w3.org/2000/svg'><rect></svg>", "bad.svg"))
    assert (status, code) == (415, 5415) and "not well-formed" in message


@pytest.mark.parametrize(
    ("fields", "with_file", "words"),
    [
        ({"url": "http://127.0.0.1:9/x.jpg"}, True, "not both"),
        ({}, False, "file part named file, or a url"),
        ({"metadata": "{not json"}, True, "metadata must be JSON text"),
        ({"metadata": "[1, 2]"}, True, "JSON object"),
        ({"metadata": json.dumps({"k": "x" * 1100})}, True, "the limit is 1024 bytes"),
        ({"metadata.k": "v"}, True, "one JSON text field"),
        ({"requireSignedURLs": "maybe"}, True, "true or false"),
        ({"id": "/leading-slash"}, True, "start or end with '/'"),
        ({"id": "9b6f4f0e-8c4b-4b8a-9a47-0e2c1f4b0f55"}, True, "cannot be a UUID"),
        ({"id": "x" * 1025}, True, "the limit is 1024"),
    ],
)
def test_malformed_upload_fields_are_400(standin, fields, with_file, words):
    files = {"file": ("a.jpg", jpeg_bytes())} if with_file else None
    response = requests.post(f"{standin.api}/v1", headers=standin.auth, files=files, data=fields, timeout=10)
    status, code, message = error_of(response)
    assert (status, code) == (400, 5400)
    assert words in message


def test_sdk_dict_metadata_is_refused_with_advice(cf):
    with pytest.raises(cloudflare.BadRequestError) as caught:
        cf.images.v1.create(account_id=ACCOUNT_ID, file=("m.png", png_bytes(), "image/png"), metadata={"k": "v"})
    assert "one JSON text field" in caught.value.body["errors"][0]["message"]


def _upload_url(standin, url: str) -> requests.Response:
    return requests.post(f"{standin.api}/v1", headers=standin.auth, files={"url": (None, url)}, timeout=30)


@pytest.mark.parametrize(
    ("url", "code", "words"),
    [
        ("file:///etc/passwd", 5411, "not file://"),
        ("ftp://example.com/a.jpg", 5411, "not ftp://"),
        ("gopher://example.com/a.jpg", 5411, "not gopher://"),
        ("not a url", 5411, "without a scheme"),
        ("http://nonexistent.invalid/a.jpg", 5452, "does not resolve"),
    ],
)
def test_bad_urls_are_4xx_with_the_reason(standin, url, code, words):
    status, got, message = error_of(_upload_url(standin, url))
    assert 400 <= status < 500 and got == code
    assert words in message


def test_unreachable_origin(standin):
    status, code, message = error_of(_upload_url(standin, f"http://127.0.0.1:{free_port()}/a.jpg"))
    assert (status, code) == (400, 5452) and "connection was refused" in message


def test_origin_errors(standin, origin):
    missing = origin.add("/gone.jpg", Route(404, b"not here"))
    status, code, message = error_of(_upload_url(standin, missing))
    assert (status, code) == (400, 5412) and "HTTP 404" in message
    broken = origin.add("/broken.jpg", Route(503, b"down"))
    status, code, message = error_of(_upload_url(standin, broken))
    assert (status, code) == (400, 5452) and "HTTP 503" in message
    html = origin.add("/page.html", Route(200, b"<html><body>hello</body></html>", {"Content-Type": "text/html"}))
    assert error_of(_upload_url(standin, html))[:2] == (415, 5415)


def test_redirects_are_followed_up_to_three(standin, origin):
    origin.add("/r/final.jpg", Route(body=jpeg_bytes()))
    origin.add("/r/1", Route(302, headers={"Location": "/r/final.jpg"}))
    origin.add("/r/2", Route(301, headers={"Location": "/r/1"}))
    origin.add("/r/3", Route(307, headers={"Location": f"{origin.url}/r/2"}))
    origin.add("/r/4", Route(302, headers={"Location": "/r/3"}))
    assert _upload_url(standin, f"{origin.url}/r/3").status_code == 200
    status, code, message = error_of(_upload_url(standin, f"{origin.url}/r/4"))
    assert (status, code) == (400, 5412) and "more than 3 times" in message


def test_origin_size_cap(standin, origin):
    # The origin announces 11 MB and sends nothing: the stand-in must give up on the header alone.
    declared = origin.add("/declared.jpg", Route(body=b"", headers={"Content-Length": str(11 * 1024 * 1024)}))
    assert error_of(_upload_url(standin, declared))[:2] == (413, 5413)
    streamed = origin.add("/stream.jpg", Route(body=b"\xff\xd8\xff" + b"\x00" * (1024 * 1024 - 3), chunks=11))
    status, code, message = error_of(_upload_url(standin, streamed))
    assert (status, code) == (413, 5413) and "more than 10" in message


def test_slow_origin_times_out(standin, origin):
    slow = origin.add("/slow.jpg", Route(body=jpeg_bytes(), delay=2.5))
    started = time.monotonic()
    status, code, message = error_of(_upload_url(standin, slow))
    assert (status, code) == (400, 5452) and "did not answer in time" in message
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    ("path", "params", "words"),
    [
        ("v2", {"per_page": "5"}, "between 10 and 10000"),
        ("v2", {"sort_order": "sideways"}, "asc or desc"),
        ("v2", {"continuation_token": "%%%"}, "continuation_token"),
        ("v1", {"page": "0"}, "1 or more"),
        ("v1", {"per_page": "abc"}, "must be a number"),
    ],
)
def test_bad_list_parameters_are_400(standin, path, params, words):
    response = requests.get(f"{standin.api}/{path}", params=params, headers=standin.auth, timeout=10)
    status, code, message = error_of(response)
    assert status == 400 and words in message


@pytest.mark.parametrize(
    "body",
    [
        {"id": "bad name!", "options": {"fit": "cover", "width": 10, "height": 10, "metadata": "none"}},
        {"id": "okname", "options": {"fit": "sideways", "width": 10, "height": 10, "metadata": "none"}},
        {"id": "okname", "options": {"fit": "cover", "width": 0, "height": 10, "metadata": "none"}},
        {"id": "okname", "options": {"fit": "cover", "width": 10, "metadata": "none"}},
        {"id": "okname", "options": {"fit": "cover", "width": 10, "height": 10, "metadata": "all"}},
        {"id": "okname", "options": "w=10"},
    ],
)
def test_bad_variants_are_400(standin, body):
    response = requests.post(f"{standin.api}/v1/variants", headers=standin.auth, json=body, timeout=10)
    assert error_of(response)[:2] == (400, 5400)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["v9", "v1/some-id/nothing-here", "v2/no-such-route", "v1/variants/public/x"])
def test_unknown_routes_are_404_for_every_method(standin, method, path):
    """Not 405 from the delivery catch-all: Cloudflare answers a route it does not have with 404."""
    answer = requests.request(method, f"{standin.api}/{path}", headers=standin.auth, timeout=10)
    assert error_of(answer)[:2] == (404, 5404)
    token = requests.get(f"{standin.api}/v1/batch_token", headers=standin.auth, timeout=10).json()["result"]["token"]
    batch = requests.request(
        method, f"{standin.url}/batch/images/{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert error_of(batch)[:2] == (404, 5404)


def test_unsupported_method_and_route_stay_in_the_envelope(standin):
    assert error_of(requests.put(f"{standin.api}/v1", headers=standin.auth, timeout=10))[:2] == (404, 5404)
    assert error_of(requests.get(f"{standin.api}/v9", headers=standin.auth, timeout=10))[:2] == (404, 5404)
    assert error_of(requests.post(f"{standin.api}/v1/variants", headers=standin.auth, data="{", timeout=10))[0] == 400


def test_server_is_still_healthy(standin):
    assert requests.get(f"{standin.url}/healthz", timeout=5).json()["ok"] is True
    assert len(standin.worker_pids()) == 2
    assert "Traceback" not in standin.log.read_text()
