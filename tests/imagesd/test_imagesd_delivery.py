"""Delivery over real HTTP, with every response decoded by Pillow."""

from __future__ import annotations

import io

import pytest
import requests
from imagesd_support import corpus_bytes, decode, png_bytes
from PIL import Image

GPS_IFD = 0x8825


@pytest.fixture(scope="module")
def photo(standin):
    """The 8 MP phone photo, 3264 × 2448."""
    response = standin.upload(corpus_bytes("mobile_jolla.jpg"), "mobile_jolla.jpg")
    assert response.status_code == 200, response.text
    return response.json()["result"]["id"]


@pytest.fixture(scope="module")
def gps_photo(standin):
    return standin.upload(corpus_bytes("gps_DSCN0010.jpg"), "gps.jpg").json()["result"]["id"]


def get(standin, image_id, variant, accept="image/jpeg", **kwargs):
    return requests.get(
        standin.delivery(image_id, variant),
        headers={"Accept": accept, **kwargs.pop("headers", {})},
        timeout=30,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("options", "size"),
    [
        ("width=400,height=300,fit=cover", (400, 300)),
        ("w=400,h=400,fit=cover", (400, 400)),
        ("w=400,h=400,fit=scale-down", (400, 300)),
        ("w=400,h=400,fit=contain", (400, 300)),
        ("w=400,h=400,fit=pad,background=%23ff0000", (400, 400)),
        ("w=400,h=100,fit=squeeze", (400, 100)),
        ("w=5000,fit=scale-down", (3264, 2448)),
        ("w=5000,fit=contain", (5000, 3750)),
        ("w=5000,h=100,fit=crop", (3264, 100)),
        ("h=150", (200, 150)),
        ("w=200,dpr=2", (400, 300)),
        ("w=200,rotate=90", (200, 267)),
    ],
)
def test_flexible_variant_dimensions(standin, photo, options, size):
    response = get(standin, photo, options)
    assert response.status_code == 200, response.text
    assert decode(response.content).size == size


def test_pad_fills_with_the_background(standin, photo):
    image = decode(get(standin, photo, "w=400,h=400,fit=pad,background=red").content).convert("RGB")
    red, green, blue = image.getpixel((200, 5))
    assert red > 200 and green < 40 and blue < 40


def test_gravity_chooses_the_kept_side(standin):
    left_white = Image.new("RGB", (200, 100), (0, 0, 0))
    left_white.paste((255, 255, 255), (0, 0, 100, 100))
    out = io.BytesIO()
    left_white.save(out, "PNG")
    image_id = standin.upload(out.getvalue(), "halves.png").json()["result"]["id"]
    left = decode(get(standin, image_id, "w=50,h=50,fit=cover,gravity=left,f=png").content).convert("L")
    right = decode(get(standin, image_id, "w=50,h=50,fit=cover,g=1x0.5,f=png").content).convert("L")
    assert left.getpixel((25, 25)) > 240 and right.getpixel((25, 25)) < 15


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("image/avif,image/webp,*/*", "AVIF"),
        ("image/webp,*/*", "WEBP"),
        ("*/*", "JPEG"),
        ("", "JPEG"),
    ],
)
def test_format_auto_negotiates_by_accept(standin, photo, accept, expected):
    response = get(standin, photo, "w=320", accept=accept)
    assert response.status_code == 200
    assert decode(response.content).format == expected
    assert response.headers["Content-Type"] == f"image/{expected.lower()}"
    assert "Accept" in response.headers["Vary"]


def test_avif_falls_back_to_webp_above_1200_px(standin, photo):
    response = get(standin, photo, "w=1600", accept="image/avif,image/webp")
    assert decode(response.content).format == "WEBP"


@pytest.mark.parametrize(("fmt", "pillow"), [("webp", "WEBP"), ("png", "PNG"), ("jpeg", "JPEG"), ("avif", "AVIF")])
def test_explicit_format_wins_over_accept(standin, photo, fmt, pillow):
    response = get(standin, photo, f"w=100,format={fmt}", accept="image/avif,image/webp")
    assert decode(response.content).format == pillow
    assert "Vary" not in response.headers


def test_format_json_describes_the_output(standin, photo):
    body = get(standin, photo, "w=400,h=300,fit=cover,format=json").json()
    assert body["width"] == 400 and body["height"] == 300
    assert body["original"]["width"] == 3264 and body["original"]["format"] == "image/jpeg"


def test_public_and_thumbnail_variants(standin, photo):
    public = get(standin, photo, "public")
    assert decode(public.content).size == (3264, 2448)
    assert decode(get(standin, photo, "thumbnail").content).size == (320, 320)


@pytest.mark.parametrize(
    ("name", "displayed"),
    [
        ("orientation_landscape_6.jpg", (600, 450)),
        ("orientation_portrait_6.jpg", (450, 600)),
        ("orientation_portrait_8.jpg", (450, 600)),
        ("orientation_landscape_1.jpg", (600, 450)),
    ],
)
def test_exif_orientation_is_applied(standin, name, displayed):
    image_id = standin.upload(corpus_bytes(name), name).json()["result"]["id"]
    image = decode(get(standin, image_id, "public").content)
    assert image.size == displayed
    assert image.getexif().get(0x0112) in (None, 1)
    half = decode(get(standin, image_id, "w=150").content)
    assert half.width == 150 and half.height == round(150 * displayed[1] / displayed[0])


def test_metadata_is_stripped_by_default(standin, gps_photo):
    for accept in ("image/jpeg", "image/webp", "image/avif,image/webp"):
        for variant in ("public", "thumbnail", "w=200"):
            image = decode(get(standin, gps_photo, variant, accept=accept).content)
            exif = image.getexif()
            assert not exif.get_ifd(GPS_IFD), (accept, variant)
            assert b"GPS" not in (image.info.get("exif") or b"")


def test_metadata_keep_carries_gps_in_jpeg(standin, gps_photo):
    image = decode(get(standin, gps_photo, "w=200,metadata=keep,f=jpeg").content)
    gps = image.getexif().get_ifd(GPS_IFD)
    assert gps.get(1) == "N" and gps.get(2)


def test_etag_304_and_head(standin, photo):
    first = get(standin, photo, "w=240,h=180,fit=cover", accept="image/webp")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first.headers["Cache-Control"] == "public, max-age=172800, stale-while-revalidate=7200"

    again = get(standin, photo, "w=240,h=180,fit=cover", accept="image/webp", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag

    other_format = get(standin, photo, "w=240,h=180,fit=cover", accept="image/jpeg", headers={"If-None-Match": etag})
    assert other_format.status_code == 200 and other_format.headers["ETag"] != etag

    head = requests.head(standin.delivery(photo, "w=240,h=180,fit=cover"), headers={"Accept": "image/webp"}, timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["ETag"] == etag
    assert int(head.headers["Content-Length"]) == len(first.content)


def test_derivatives_are_cached_on_disk(standin, photo):
    cached_before = set(standin.data_dir.glob("cache/*/*/*"))
    response = get(standin, photo, "w=123", accept="image/webp")
    created = set(standin.data_dir.glob("cache/*/*/*")) - cached_before
    assert len(created) == 1
    assert next(iter(created)).read_bytes() == response.content
    assert get(standin, photo, "w=123", accept="image/webp").content == response.content


def test_heic_is_delivered_as_jpeg_or_webp(standin):
    for name in ("heic_IMG_5195.HEIC", "heic_samplefilehub.heif"):
        response = standin.upload(corpus_bytes(name), name)
        assert response.status_code == 200, response.text
        image_id = response.json()["result"]["id"]
        jpeg = decode(get(standin, image_id, "w=200").content)
        assert jpeg.format == "JPEG" and jpeg.width == 200
        assert decode(get(standin, image_id, "w=200", accept="image/webp").content).format == "WEBP"


def _animation(fmt: str) -> bytes:
    frames = [Image.new("RGB", (60, 40), color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=80, loop=0)
    return out.getvalue()


@pytest.mark.parametrize("source", ["GIF", "WEBP"])
def test_animations_stay_animated_unless_anim_false(standin, source):
    image_id = standin.upload(_animation(source), f"anim.{source.lower()}").json()["result"]["id"]
    as_webp = decode(get(standin, image_id, "w=30", accept="image/avif,image/webp").content)
    assert as_webp.format == "WEBP" and as_webp.n_frames == 3 and as_webp.size == (30, 20)
    as_gif = decode(get(standin, image_id, "w=30,f=auto", accept="image/gif").content)
    assert as_gif.format == "GIF" and as_gif.n_frames == 3
    still = decode(get(standin, image_id, "w=30,anim=false", accept="image/webp").content)
    assert getattr(still, "n_frames", 1) == 1


SVG = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="120" height="80" onload="alert(1)">
  <script>alert('x')</script>
  <rect width="120" height="80" fill="url(#g)" onclick="steal()"/>
  <image xlink:href="https://evil.example/track.png" width="10" height="10"/>
  <a href="javascript:alert(2)"><circle r="5" style="fill: url(https://evil.example/x)"/></a>
  <foreignObject><div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject>
  <use href="#local"/>
</svg>"""


def test_svg_is_sanitized_and_never_rasterized(standin):
    response = standin.upload(SVG, "logo.svg")
    assert response.status_code == 200, response.text
    image_id = response.json()["result"]["id"]
    for variant in ("public", "w=40,h=40,fit=cover,f=png"):
        served = get(standin, image_id, variant, accept="image/avif,image/webp")
        assert served.status_code == 200
        assert served.headers["Content-Type"].startswith("image/svg+xml")
        body = served.content.lower()
        for bad in (b"<script", b"onload", b"onclick", b"javascript:", b"evil.example", b"foreignobject"):
            assert bad not in body, bad
        assert b"<rect" in body and b'href="#local"' in body
        assert "default-src 'none'" in served.headers["Content-Security-Policy"]


def test_unknown_variant_image_and_hash_are_404(standin, photo):
    for url in (
        standin.delivery(photo, "nosuchvariant"),
        standin.delivery("00000000-0000-0000-0000-000000000000", "public"),
        f"{standin.url}/other-hash/{photo}/public",
    ):
        response = requests.get(url, timeout=10)
        assert response.status_code == 404
        assert response.text.startswith("ERROR 9404")


@pytest.mark.parametrize(
    "options",
    [
        "width=abc",
        "width=99999",
        "fit=sideways",
        "foo=bar",
        "w=",
        "w=100,,h=2",
        "q=0",
        "dpr=9",
        "rotate=45",
        "gravity=middle",
        "background=notacolour",
        "anim=maybe",
        "blur=-1",
        "format=tiff",
        "w=-5",
        "h=1.5",
    ],
)
def test_malformed_options_are_400(standin, photo, options):
    response = get(standin, photo, options)
    assert response.status_code == 400
    assert response.text.startswith("ERROR 9401: ")
    assert response.headers["Cf-Resized"] == "err=9401"
    assert len(response.text) > 30


def test_png_with_alpha_keeps_transparency(standin):
    image_id = standin.upload(png_bytes((40, 40), (0, 0, 0, 0), "RGBA"), "clear.png").json()["result"]["id"]
    image = decode(get(standin, image_id, "w=20", accept="image/webp").content)
    assert image.mode == "RGBA" and image.getpixel((10, 10))[3] == 0
    flattened = decode(get(standin, image_id, "w=20,f=jpeg").content)
    assert flattened.mode == "RGB"


@pytest.mark.parametrize(("options", "progressive"), [("format=jpeg", True), ("format=baseline-jpeg", False)])
def test_format_jpeg_is_progressive_and_baseline_jpeg_is_not(standin, photo, options, progressive):
    """Cloudflare documents format=jpeg as progressive and baseline-jpeg as the baseline alternative."""
    response = get(standin, photo, f"w=300,{options}")
    image = decode(response.content)
    assert image.format == "JPEG"
    assert bool(image.info.get("progressive") or image.info.get("progression")) is progressive


def test_quality_100_webp_is_lossless(standin):
    """quality=100 WebP keeps every pixel (libwebp's VP8L), as Cloudflare documents; below 100 it is lossy (VP8)."""
    source = Image.effect_noise((96, 64), 80).convert("RGB")
    uploaded = standin.upload(_png(source), "noise.png")
    assert uploaded.status_code == 200, uploaded.text
    image_id = uploaded.json()["result"]["id"]
    lossless = get(standin, image_id, "w=96,q=100,format=webp").content
    lossy = get(standin, image_id, "w=96,q=99,format=webp").content
    assert b"VP8L" in lossless[12:40] and b"VP8L" not in lossy[12:40]
    assert decode(lossless).convert("RGB").tobytes() == source.tobytes()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
