"""Signed URLs stop working when they expire: storage links behind contentUrl, and private images' delivery URLs."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import requests
from security_support import Caller, build_world, png


def _exp(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["exp"][0])


def test_links_expire_for_real(app, make_app, images_service):
    """With a 2-second TTL: the content redirect's target and every private delivery URL work, then answer 403."""
    short = make_app(signed_url_ttl=2)
    world = build_world(short)
    # A private copy in the images service, as provisioning makes for `private_images` workspaces.
    copy = images_service.upload(png(), "private.png", requireSignedURLs="true").json()["result"]
    with short.app_context():
        from app.domain.accounts import Workspace
        from app.domain.images import Image
        from app.extensions import db

        db.session.get(Workspace, world.a.workspace_id).settings = {"private_images": True}
        image = db.session.get(Image, world.a.image_id)
        image.cf_image_id, image.require_signed_urls = copy["id"], True
        db.session.commit()
        db.session.remove()

    reader = Caller(short, world, "token_read")
    started = time.time()
    content = reader.open("GET", f"/api/files/{world.a.image_id}/content")
    assert content.status_code == 302 and content.headers["Cache-Control"] == "private, no-store"
    storage_url = content.headers["Location"]
    body = reader.open("GET", f"/api/images/{world.a.image_id}").json
    # `url` is the product's stable route (it redirects to the current version); the rest are the images service's.
    stable = urlsplit(body["url"])
    delivery = [body["versionedUrl"], *body["variants"].values()]
    page = (
        Caller(short, world, "viewer")
        .open("GET", f"/w/{world.a.workspace_id}/p/{world.a.project_id}/content/files/{world.a.image_id}/details")
        .get_data(as_text=True)
    )
    for url in [storage_url, body["url"], *delivery]:
        assert "exp=" in url and "sig=" in url, url
        assert started <= _exp(url) <= time.time() + 3, "a signed URL lives longer than SIGNED_URL_TTL"
    assert delivery[0].split("?")[0] in page and "exp=" in page  # the gallery shows the signed form too

    # The bytes behind the redirect are served by the web app's blob route (the test client stands in for it).
    storage_path = urlsplit(storage_url)
    blob = short.test_client().get(f"{storage_path.path}?{storage_path.query}")
    assert blob.status_code == 200 and blob.data == png()
    blob.close()
    for url in delivery:
        assert requests.get(url, timeout=10).status_code == 200, url
    unsigned = delivery[0].split("?")[0]
    assert requests.get(unsigned, timeout=10).status_code == 403

    redirected = short.test_client().get(f"{stable.path}?{stable.query}")
    assert redirected.status_code == 302 and "sig=" in redirected.headers["Location"]

    time.sleep(max(_exp(u) for u in [storage_url, body["url"], *delivery]) - time.time() + 1.1)
    expired = short.test_client().get(f"{storage_path.path}?{storage_path.query}")
    assert expired.status_code == 403
    assert short.test_client().get(f"{stable.path}?{stable.query}").status_code == 403
    for url in delivery:
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 403 and "expired" in answer.text, (url, answer.status_code, answer.text)
    requests.delete(f"{images_service.api}/v1/{copy['id']}", headers=images_service.auth, timeout=10)
