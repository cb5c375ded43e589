"""A new stand-in account is as bare as a new Cloudflare account, and the product's account setup is what fixes it."""

from __future__ import annotations

import sqlite3

import cloudflare
import pytest
import requests
from imagesd_support import ACCOUNT_HASH, ACCOUNT_ID, TOKEN, jpeg_bytes, start_standin, stop_standin

from app.adapters.cloudflare import CloudflareImages, ImagesError, _parse_time, batch_base_for
from app.domain import images_account
from app.imagesd.settings import DEV_IMAGES_API_EMAIL, DEV_IMAGES_API_KEY


@pytest.fixture
def fresh():
    """A stand-in nobody has set up: what `make dev` and an operator start from."""
    server = start_standin(setup=False)
    yield server
    stop_standin(server)


def product_client(server, **kwargs) -> CloudflareImages:
    return CloudflareImages(f"{server.url}/client/v4", ACCOUNT_ID, TOKEN, ACCOUNT_HASH, server.url, **kwargs)


def sdk(server, **auth):
    return cloudflare.Cloudflare(**(auth or {"api_token": TOKEN}), base_url=f"{server.url}/client/v4", max_retries=0)


def test_a_new_account_has_only_public_and_refuses_flexible_variants_until_set_up(fresh):
    with sdk(fresh) as cf:
        assert set(cf.images.v1.variants.list(account_id=ACCOUNT_ID).variants.to_dict()) == {"public"}
        image = cf.images.v1.create(account_id=ACCOUNT_ID, file=("p.jpg", jpeg_bytes((61, 58)), "image/jpeg"))
    assert image.variants == [f"{fresh.url}/{ACCOUNT_HASH}/{image.id}/public"]
    tile = requests.get(fresh.delivery(image.id, "w=200,h=200,fit=cover"), timeout=10)
    assert (tile.status_code, tile.headers["Cf-Resized"]) == (403, "err=9429")
    assert requests.get(fresh.delivery(image.id, "thumbnail"), timeout=10).status_code == 404

    client = product_client(fresh)
    found = images_account.check(client)
    assert {(item.kind, item.subject) for item in found} == {
        ("config", "flexible_variants"),
        ("variant_missing", "thumbnail"),
    }
    assert requests.get(fresh.delivery(image.id, "w=200"), timeout=10).status_code == 403, "check changes nothing"

    applied = images_account.apply(client)
    assert all(item.fixed for item in applied) and len(applied) == 2
    assert images_account.check(client) == [] and images_account.apply(client) == [], "setup is idempotent"
    tile = requests.get(fresh.delivery(image.id, "w=200,h=200,fit=cover"), headers={"Accept": "image/png"}, timeout=10)
    assert tile.status_code == 200
    assert requests.get(fresh.delivery(image.id, "thumbnail"), timeout=10).status_code == 200
    with sdk(fresh) as cf:
        thumbnail = cf.images.v1.variants.get("thumbnail", account_id=ACCOUNT_ID).variant
        assert thumbnail.options.fit == "cover" and (thumbnail.options.width, thumbnail.options.height) == (320, 320)


def test_setup_puts_back_a_variant_someone_changed_and_flexible_variants_turned_off(fresh):
    client = product_client(fresh)
    images_account.apply(client)
    client.edit_variant("thumbnail", {"fit": "scale-down", "width": 100, "height": 100, "metadata": "keep"}, True)
    client.edit_config({"flexible_variants": False})
    found = {(item.kind, item.subject) for item in images_account.check(client)}
    assert found == {("config", "flexible_variants"), ("variant_differs", "thumbnail")}
    assert all(item.fixed for item in images_account.apply(client))
    assert client.variants()["thumbnail"]["options"]["fit"] == "cover"
    assert client.variants()["thumbnail"]["neverRequireSignedURLs"] is False


def test_private_workspaces_need_a_signing_key_the_product_knows(fresh):
    assert (
        images_account.check(product_client(fresh, signing_key="not-one-of-the-keys"), private_workspaces=1)[-1].kind
        == "signing_key"
    )
    wrong = [
        item
        for item in images_account.apply(product_client(fresh, signing_key="x"), private_workspaces=2)
        if item.kind == "signing_key"
    ]
    assert len(wrong) == 1 and not wrong[0].fixed and not wrong[0].fixable
    key = product_client(fresh).keys()[0]["value"]
    assert images_account.check(product_client(fresh, signing_key=key), private_workspaces=1) == [
        item for item in images_account.check(product_client(fresh)) if item.kind != "signing_key"
    ]


def test_legacy_email_and_key_auth(fresh):
    with sdk(fresh, api_email=DEV_IMAGES_API_EMAIL, api_key=DEV_IMAGES_API_KEY) as cf:
        assert cf.images.v2.list(account_id=ACCOUNT_ID).images == []
    with sdk(fresh, api_email=DEV_IMAGES_API_EMAIL, api_key="wrong") as cf:
        with pytest.raises(cloudflare.AuthenticationError):
            cf.images.v2.list(account_id=ACCOUNT_ID)
    # The product's client too, when IMAGES_API_EMAIL and IMAGES_API_KEY are set (the token is then not sent).
    legacy = CloudflareImages(
        f"{fresh.url}/client/v4",
        ACCOUNT_ID,
        "not-the-token",
        ACCOUNT_HASH,
        fresh.url,
        api_email=DEV_IMAGES_API_EMAIL,
        api_key=DEV_IMAGES_API_KEY,
    )
    assert images_account.apply(legacy) and images_account.check(legacy) == []
    assert legacy.list()["images"] == [] and legacy._batch_token is not None
    with pytest.raises(ImagesError) as refused:
        CloudflareImages(
            f"{fresh.url}/client/v4",
            ACCOUNT_ID,
            TOKEN,
            ACCOUNT_HASH,
            fresh.url,
            batch_base="off",
            api_email=DEV_IMAGES_API_EMAIL,
            api_key="wrong",
        ).get_config()
    assert refused.value.status == 401


def test_encoded_slashes_are_part_of_the_id(fresh):
    client = product_client(fresh)
    for custom_id in ("a/b/blob", "variants/x", "keys/y", "100%/sure"):
        answer = requests.post(
            f"{fresh.api}/v1",
            headers=fresh.auth,
            data={"id": custom_id},
            files={"file": ("p.jpg", jpeg_bytes())},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert client.get(custom_id)["id"] == custom_id  # the client sends v1/a%2Fb%2Fblob
    blob = requests.get(f"{fresh.api}/v1/a%2Fb%2Fblob/blob", headers=fresh.auth, timeout=10)
    assert blob.headers["Content-Type"] == "image/jpeg"
    client.delete("variants/x")
    assert "public" in client.variants()


def test_v2_filters_it_does_not_implement_are_refused(fresh):
    answer = requests.get(f"{fresh.api}/v2", params={"meta.fileId[eq]": "fil_1"}, headers=fresh.auth, timeout=10)
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == 5400
    assert "meta.fileId[eq]" in answer.json()["errors"][0]["message"]
    assert (
        requests.get(f"{fresh.api}/v2", params={"creator": "x", "per_page": 10}, headers=fresh.auth, timeout=10).json()[
            "result"
        ]["images"]
        == []
    )


def test_the_rate_limit_blocks_a_token_and_batch_tokens_are_outside_it():
    server = start_standin(setup=False, IMAGESD_RATE_LIMIT="12/300", IMAGESD_RATE_LIMIT_BLOCK="300")
    try:
        batch = requests.get(f"{server.api}/v1/batch_token", headers=server.auth, timeout=10).json()["result"]
        answers = [requests.get(f"{server.api}/v1/keys", headers=server.auth, timeout=10) for _ in range(12)]
        assert [answer.status_code for answer in answers] == [200] * 11 + [429]
        limited = answers[-1]
        assert limited.json()["errors"][0]["code"] == 971 and 290 <= int(limited.headers["Retry-After"]) <= 300
        assert answers[0].headers["Ratelimit-Policy"] == '"default";q=12;w=300'
        # Blocked: even a call that would fit a new window is refused until the block ends.
        assert requests.get(f"{server.api}/v2", headers=server.auth, timeout=10).status_code == 429
        with sdk(server) as cf, pytest.raises(cloudflare.RateLimitError):
            cf.images.v2.list(account_id=ACCOUNT_ID)
        # The product's client cannot get a batch token now: it falls back to the API, which says why it waits.
        client = product_client(server)
        with pytest.raises(ImagesError) as blocked:
            client.list()
        assert (blocked.value.status, blocked.value.code, blocked.value.transient) == (429, 971, True)
        assert blocked.value.retry_after and blocked.value.retry_after > 200 and client._batch_token is None
        # Another credential has its own window; the batch host does not count at all.
        with sdk(server, api_email=DEV_IMAGES_API_EMAIL, api_key=DEV_IMAGES_API_KEY) as cf:
            assert cf.images.v2.list(account_id=ACCOUNT_ID).images == []
        bearer = {"Authorization": f"Bearer {batch['token']}"}
        for n in range(20):
            answer = requests.post(
                f"{server.url}/batch/images/v1",
                headers=bearer,
                data={"id": f"batch-{n}"},
                files={"file": ("p.jpg", jpeg_bytes())},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
        assert (
            len(requests.get(f"{server.url}/batch/images/v2", headers=bearer, timeout=10).json()["result"]["images"])
            == 20
        )
        assert requests.get(server.delivery("batch-1", "public"), timeout=10).status_code == 200
        with sqlite3.connect(server.data_dir / "imagesd.sqlite3") as conn:
            # The batch token, 11 calls and the refused one; nothing counted while blocked, nothing on the batch host.
            assert conn.execute("SELECT MAX(used) FROM rate_limit").fetchone()[0] == 13
    finally:
        stop_standin(server)


def test_retry_after_is_true_when_the_block_is_shorter_than_the_window():
    """The official SDK waits the Retry-After it is sent and tries again: that retry must be let through (the old
    limiter kept counting the window, refused it again, and the SDK gave up with RateLimitError)."""
    server = start_standin(setup=False, IMAGESD_RATE_LIMIT="3/3600", IMAGESD_RATE_LIMIT_BLOCK="1")
    try:
        with cloudflare.Cloudflare(api_token=TOKEN, base_url=f"{server.url}/client/v4", max_retries=1) as cf:
            for _ in range(3):
                cf.images.v1.keys.list(account_id=ACCOUNT_ID)
            refused = requests.get(f"{server.api}/v1/keys", headers=server.auth, timeout=10)
            assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
            # The SDK's own request is refused too (still blocked, or blocked anew), then retried after Retry-After.
            retried = cf.images.v1.keys.with_raw_response.list(account_id=ACCOUNT_ID)
            assert retried.http_response.status_code == 200
            assert retried.http_response.headers["Ratelimit"].startswith('"default";r=2;')
    finally:
        stop_standin(server)


def test_the_product_client_uploads_through_the_batch_host(fresh):
    client = product_client(fresh)
    assert client.batch_base == f"{fresh.url}/batch"
    assert client.list()["images"] == []
    assert client._batch_token is not None, "the image calls went through a batch token"
    token = client._batch_token[0]
    assert client.list()["images"] == [] and client._batch_token[0] == token, "the token is cached"
    bad = requests.get(f"{fresh.url}/batch/images/v2", headers={"Authorization": f"Bearer {token}x"}, timeout=10)
    assert bad.status_code == 401
    client._batch_token = (f"{token}x", client._batch_token[1])  # revoked early: the client takes a new one
    assert client.list()["images"] == [] and client._batch_token[0] != f"{token}x"
    assert batch_base_for("https://api.cloudflare.com/client/v4") == "https://batch.imagedelivery.net"
    assert batch_base_for("https://api.cloudflare.com/client/v4", "off") == ""
    assert product_client(fresh, batch_base="off").batch_base == ""


def test_expires_at_as_cloudflare_writes_it():
    assert _parse_time("2023-08-09T15:33:56.273411222Z") == pytest.approx(1691595236.273411)
    assert _parse_time("2023-08-09T15:33:56Z") == 1691595236.0
