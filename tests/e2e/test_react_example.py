"""The React package in Debian's Chromium: a page on another origin than the API lists images through CORS, uploads
through a one-time URL its own server got, shows the new image with <AeontelImage>, and nothing shifts (CLS = 0)."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.example_site import build_site, site_app
from tests.services import ThreadedServer, free_port

GRID = 50

CLS_OBSERVER = """
window.__cls = 0; window.__shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (!entry.hadRecentInput) { window.__cls += entry.value; window.__shifts.push(entry.value); }
  }
}).observe({ type: "layout-shift", buffered: true });
"""


def jpeg(index: int, width: int, height: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), ((37 * index) % 256, (91 * index + 60) % 256, (53 * index + 120) % 256))
    ImageDraw.Draw(image).ellipse([width // 5, height // 5, width // 2, height // 2], fill=(250, 250, 250))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture(scope="module")
def example(stack, tmp_path_factory):
    """The API (a second web server with CORS_ORIGINS naming the site's origin), the site, and 49 images in it."""
    from app import create_app
    from app.domain import accounts
    from app.extensions import db

    site_port = free_port()
    site_origin = f"http://localhost:{site_port}"  # another host name and port than the API's: another origin
    api_port = free_port()
    api_app = create_app(dict(stack.settings, cors_origins=site_origin, public_url=f"http://127.0.0.1:{api_port}"))
    api = ThreadedServer(api_app, api_port).start()
    with api_app.app_context():
        ws = accounts.create_workspace("Example site")
        project = accounts.create_project(ws.id, "Site")
        _, write = accounts.create_token(ws.id, "write", "example-site")
        _, read = accounts.create_token(ws.id, "read", "example-site")
        db.session.commit()
        project_id = project.id
    auth = {"Authorization": f"Bearer {write}"}

    def upload(index: int) -> str:
        size = [(1600, 1200), (1200, 1600), (1920, 1080), (1000, 1000)][index % 4]
        response = requests.post(
            f"{api.url}/api/files",
            headers=auth,
            timeout=60,
            data={"project_id": project_id},
            files={"file": (f"seed-{index}.jpg", jpeg(index, *size), "image/jpeg")},
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    with ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(upload, range(GRID - 1)))
    deadline = time.monotonic() + 180
    while True:
        listed = requests.get(f"{api.url}/api/images?limit=100", headers=auth, timeout=30).json()["data"]
        if ids <= {item["fileId"] for item in listed}:
            break
        assert time.monotonic() < deadline, "the seeded images were not processed in time"
        time.sleep(0.3)
    dist = build_site(tmp_path_factory.mktemp("site"))
    site = ThreadedServer(site_app(dist, api.url, write, read, project_id), site_port).start()
    try:
        yield {"site": f"http://localhost:{site_port}", "api": api.url, "auth": auth}
    finally:
        site.stop()
        api.stop()
        with api_app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_upload_from_another_origin_then_a_grid_of_50_without_layout_shift(page, example, tmp_path):
    page.add_init_script(CLS_OBSERVER)
    api_calls = []
    page.on("request", lambda request: api_calls.append(request) if request.url.startswith(example["api"]) else None)
    page.goto(example["site"] + "/")
    grid = page.locator("ul > li img")
    expect(grid).to_have_count(GRID - 1, timeout=30_000)

    photo = tmp_path / "new.jpg"
    photo.write_bytes(jpeg(99, 1200, 900))
    page.get_by_label("Upload an image").set_input_files(str(photo))
    uploaded = page.get_by_test_id("uploaded")
    expect(uploaded).to_be_visible(timeout=60_000)
    expect(page.locator("output")).to_have_text("done")
    expect(uploaded).to_have_attribute("alt", "Uploaded from the example site")
    assert "gravity" not in (uploaded.get_attribute("srcset") or "")  # no focal point set: a centred crop
    assert uploaded.get_attribute("width") == "1200" and uploaded.get_attribute("height") == "900"

    # The page called the API cross-origin: with the read token for the list, with nothing for the upload.
    listing = next(r for r in api_calls if "/api/images" in r.url)
    assert listing.headers.get("authorization", "").startswith("Bearer ")
    posted = next(r for r in api_calls if "/api/uploads/" in r.url and r.method == "POST")
    assert "authorization" not in posted.headers and "cookie" not in posted.headers

    assert page.evaluate("window.__cls") == 0, page.evaluate("window.__shifts")  # the upload moved nothing either

    # Reload: now 50 images, the new one first; scroll through them all so every lazy image loads.
    page.reload()
    expect(grid).to_have_count(GRID, timeout=30_000)
    for index in range(GRID):
        grid.nth(index).scroll_into_view_if_needed()
    page.wait_for_function(
        """() => [...document.querySelectorAll('ul > li img')]
        .every((img) => img.complete && img.naturalWidth > 0)""",
        timeout=60_000,
    )
    first = grid.first
    assert first.get_attribute("loading") == "lazy" and first.get_attribute("decoding") == "async"
    assert "format=auto" in first.get_attribute("srcset") and first.get_attribute("sizes")
    shifts = page.evaluate("window.__shifts")
    cls = page.evaluate("window.__cls")
    assert cls == 0, f"cumulative layout shift {cls} from {shifts}"
