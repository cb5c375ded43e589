"""Signed delivery URLs: one signing definition in app.adapters.cloudflare, checked by the stand-in."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from imagesd_support import ACCOUNT_ID, SIGNING_KEY, corpus_bytes, decode, jpeg_bytes

from app.delivery_signing import sign_delivery_url, verify_signed_path


def test_sign_matches_the_documented_recipe():
    url = sign_delivery_url("https://imagedelivery.net/hash/id/public", "secret", expires_at=1631289275)
    # printf '/hash/id/public?exp=1631289275' | openssl dgst -sha256 -hmac secret
    assert url == (
        "https://imagedelivery.net/hash/id/public?exp=1631289275"
        "&sig=38fb2338fb673ac200041616d3623b1719adbb8e43a68cf424e4aba3996896a9"
    )
    parts = urlsplit(url)
    assert verify_signed_path(parts.path, parts.query, ["secret"], now=1631289000) is None
    assert (
        verify_signed_path(parts.path, parts.query, ["other"], now=1631289000)
        == "The signed URL's signature does not match."
    )
    assert verify_signed_path(parts.path, parts.query, ["secret"], now=1631289276) == "The signed URL has expired."
    assert "missing" in verify_signed_path(parts.path, "", ["secret"], now=0)


def test_sign_keeps_an_existing_query():
    url = sign_delivery_url("http://h/a/b/public?x=1", "k", ttl=60)
    parts = urlsplit(url)
    assert parts.query.startswith("x=1&exp=")
    assert verify_signed_path(parts.path, parts.query, ["k"]) is None


@pytest.fixture(scope="module")
def private_image(standin):
    response = standin.upload(corpus_bytes("Canon_40D.jpg"), "private.jpg", requireSignedURLs="true")
    assert response.status_code == 200, response.text
    assert response.json()["result"]["requireSignedURLs"] is True
    return response.json()["result"]["id"]


def test_private_image_needs_a_signature(standin, private_image):
    url = standin.delivery(private_image, "public")
    unsigned = requests.get(url, timeout=10)
    assert unsigned.status_code == 403 and unsigned.text.startswith("ERROR 9425")

    signed = requests.get(sign_delivery_url(url, SIGNING_KEY, ttl=600), timeout=10)
    assert signed.status_code == 200
    assert decode(signed.content).size == (100, 68)
    assert signed.headers["Cache-Control"].startswith("private, max-age=")


def test_expired_and_tampered_signatures_are_403(standin, private_image):
    url = standin.delivery(private_image, "public")
    expired = requests.get(sign_delivery_url(url, SIGNING_KEY, expires_at=int(time.time()) - 5), timeout=10)
    assert expired.status_code == 403 and "expired" in expired.text

    good = sign_delivery_url(url, SIGNING_KEY, ttl=600)
    tampered_exp = good.replace("exp=", "exp=9")
    assert requests.get(tampered_exp, timeout=10).status_code == 403
    other_variant = good.replace("/public?", "/thumbnail?")
    assert requests.get(other_variant, timeout=10).status_code == 403
    wrong_key = sign_delivery_url(url, "not-the-key", ttl=600)
    assert "does not match" in requests.get(wrong_key, timeout=10).text


def test_any_account_key_signs(standin, cf, private_image):
    keys = cf.images.v1.keys.update("second", account_id=ACCOUNT_ID).keys
    second = next(key.value for key in keys if key.name == "second")
    try:
        url = sign_delivery_url(standin.delivery(private_image, "thumbnail"), second, ttl=600)
        assert requests.get(url, timeout=10).status_code == 200
    finally:
        cf.images.v1.keys.delete("second", account_id=ACCOUNT_ID)
    assert requests.get(url, timeout=10).status_code == 403


def test_never_require_signed_variant_is_exempt(standin, cf, private_image):
    """The variant is this test's own and is deleted afterwards, so no other test sees it in an image's variants."""
    name = f"openthumb{uuid.uuid4().hex[:6]}"
    cf.images.v1.variants.create(
        account_id=ACCOUNT_ID,
        id=name,
        options={"fit": "cover", "width": 30, "height": 30, "metadata": "none"},
        never_require_signed_urls=True,
    )
    try:
        response = requests.get(standin.delivery(private_image, name), timeout=10)
        assert response.status_code == 200 and decode(response.content).size == (30, 30)
    finally:
        cf.images.v1.variants.delete(name, account_id=ACCOUNT_ID)


def test_flexible_variants_refuse_private_images(standin, private_image):
    url = sign_delivery_url(standin.delivery(private_image, "w=50"), SIGNING_KEY, ttl=600)
    response = requests.get(url, timeout=10)
    assert response.status_code == 403 and "9429" in response.text


def test_custom_id_cannot_be_private(standin):
    response = standin.upload(jpeg_bytes(), "x.jpg", id="brand/logo-private", requireSignedURLs="true")
    assert response.status_code == 400
    assert "custom id" in response.json()["errors"][0]["message"]
