"""Bytes a browser transfers for a page of 50 images: `<AeontelImage>` (srcset of flexible variants, format=auto,
lazy) against plain `<img src=public>`, both in Debian's Chromium, with the page's cumulative layout shift.

    .venv/bin/python bench/react_image_bytes.py [--images 50] [--no-write]

Starts the embedded stack (bench/stack.py) with CORS_ORIGINS naming the example site's origin, uploads 50 photos
(crops of tests/corpus/mobile_jolla.jpg, 2000x1500, JPEG q88), builds clients/react/examples/site with Vite, serves
it from another origin and loads it twice per mode in a fresh browser context: once without scrolling (what the
first screen costs) and once scrolled to the end (every image loaded). Bytes are Playwright's response sizes
(headers + body) of everything from the images service. Writes a section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.stack import Stack, free_port, log, machine_info  # noqa: E402

CLS_OBSERVER = """
window.__cls = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__cls += entry.value;
}).observe({ type: "layout-shift", buffered: true });
"""
BEGIN, END = "<!-- bench:react_image_bytes:begin -->", "<!-- bench:react_image_bytes:end -->"


def photos(count: int) -> list[bytes]:
    from PIL import Image

    source = Image.open(BENCH.parent / "tests" / "corpus" / "mobile_jolla.jpg")
    source.load()
    out = []
    for index in range(count):
        left, top = (index * 37) % (source.width - 2000), (index * 23) % (source.height - 1500)
        crop = source.crop((left, top, left + 2000, top + 1500))
        if index % 3 == 1:
            crop = crop.transpose(Image.Transpose.ROTATE_90)  # some portraits
        buffer = io.BytesIO()
        crop.save(buffer, "JPEG", quality=88)
        out.append(buffer.getvalue())
    return out


def measure(browser, url: str, images_origin: str, scroll: bool, expected: int) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script(CLS_OBSERVER)
    sizes: list[int] = []

    def finished(request) -> None:
        if request.url.startswith(images_origin):
            measured = request.sizes()
            sizes.append(measured["responseBodySize"] + measured["responseHeadersSize"])

    page.on("requestfinished", finished)
    page.goto(url)
    grid = page.locator("ul > li img")
    grid.nth(expected - 1).wait_for(state="attached", timeout=60_000)
    if scroll:
        for index in range(expected):
            grid.nth(index).scroll_into_view_if_needed()
        page.wait_for_function(
            "() => [...document.querySelectorAll('ul > li img')].every((i) => i.complete)", timeout=120_000
        )
    else:
        page.wait_for_load_state("networkidle")
    page.wait_for_load_state("networkidle")
    result = {"requests": len(sizes), "bytes": sum(sizes), "cls": page.evaluate("window.__cls")}
    context.close()
    return result


def write_results(text: str) -> None:
    path = BENCH / "RESULTS.md"
    current = path.read_text()
    if BEGIN in current:
        before, rest = current.split(BEGIN, 1)
        current = before + text + rest.split(END, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + text
    path.write_text(current)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    import requests
    from playwright.sync_api import sync_playwright

    from tests.e2e.example_site import build_site, site_app
    from tests.services import ThreadedServer

    with tempfile.TemporaryDirectory(prefix="aeontel-react-bench-") as tmp:
        stack = Stack(Path(tmp), web_workers=1, web_threads=8, standin_workers=2)
        site_port = free_port()
        site_origin = f"http://localhost:{site_port}"
        stack.extra_env["CORS_ORIGINS"] = site_origin
        started = time.monotonic()
        try:
            stack.start_redis()
            stack.start_standin()
            stack.setup_data()
            read = stack.cli("token", "create", "--workspace", stack.ids["workspace"], "--scope", "read", "--json")
            stack.start_web()
            stack.start_workers(1, simple=True)
            auth = {"Authorization": f"Bearer {stack.ids['token']}"}
            data = photos(args.images)

            def upload(index: int) -> str:
                response = requests.post(
                    f"{stack.web_url}/api/files",
                    headers=auth,
                    timeout=120,
                    data={"project_id": stack.ids["project"]},
                    files={"file": (f"photo-{index}.jpg", data[index], "image/jpeg")},
                )
                response.raise_for_status()
                return response.json()["id"]

            with ThreadPoolExecutor(4) as pool:
                ids = set(pool.map(upload, range(args.images)))
            deadline = time.monotonic() + 600
            while ids - {
                item["fileId"]
                for item in requests.get(f"{stack.web_url}/api/images?limit=100", headers=auth, timeout=30).json()[
                    "data"
                ]
            }:
                if time.monotonic() > deadline:
                    raise RuntimeError("the images were not processed in time")
                time.sleep(0.5)
            log(f"{args.images} images ready after {time.monotonic() - started:.1f}s")
            dist = build_site(Path(tmp) / "site")
            site = ThreadedServer(
                site_app(dist, stack.web_url, stack.ids["token"], read["token"], stack.ids["project"]), site_port
            ).start()
            results = {}
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
                    )
                    for mode, query in (("aeontel", ""), ("plain", "?plain=1")):
                        for scroll in (False, True):
                            key = f"{mode}/{'scrolled' if scroll else 'first-screen'}"
                            results[key] = measure(
                                browser, f"{site_origin}/{query}", stack.standin_url, scroll, args.images
                            )
                            log(f"{key}: {results[key]}")
                    browser.close()
            finally:
                site.stop()
        finally:
            stack.stop_all()

    info = machine_info()
    ratio = {
        view: results[f"aeontel/{view}"]["bytes"] / max(1, results[f"plain/{view}"]["bytes"])
        for view in ("first-screen", "scrolled")
    }
    rows = "\n".join(
        f"| {key.split('/')[0]} | {key.split('/')[1]} | {value['requests']} | {value['bytes'] / 1024:,.1f} KiB "
        f"| {value['cls']:.4f} |"
        for key, value in results.items()
    )
    text = f"""{BEGIN}
## `<AeontelImage>` vs plain `<img src=public>` (issue 17; written by `bench/react_image_bytes.py`)

- Date: {info.get("date")}; machine: {info.get("nproc")} CPUs, shared with other engineers' runs.
- Page: the example site (`clients/react/examples/site`) on another origin than the API, {args.images} images
  (2000x1500 and 1500x2000 JPEG crops of `mobile_jolla.jpg`), Chromium 1280x900 at DPR 1, a fresh context per
  load; bytes = headers + body of every response from the images service.
- `<AeontelImage>`: 1:1 crops, `sizes="(max-width: 600px) 50vw, 200px"`, srcset of flexible variants with
  `format=auto`, `loading="lazy"`. Plain: `<img src={{image.url}}>` (the `public` named variant), no lazy loading.

| page | view | image requests | transferred | CLS |
|---|---|---|---|---|
{rows}

`<AeontelImage>` transfers {ratio["first-screen"]:.1%} of the plain page's bytes for the first screen and
{ratio["scrolled"]:.1%} once every image has loaded. The plain page shows each whole image at the tile's width (no
crop), so it is the page a team writes without the component, not the same pixels. With 50 tiles of ~180 px the
whole grid lies within Chromium's lazy-loading distance, so the first screen already loads every image. The plain
page shifts because its `<img>` have no size before they load. Raw: `{json.dumps(results)}`
{END}
"""
    print(text)
    if not args.no_write:
        write_results(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
