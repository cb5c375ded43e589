#!/usr/bin/env python3
"""Issue 15: drop 100 photos in the browser and time until every tile is an image, against the sum of the
single-photo provisioning times (each photo alone: upload, then wait for its image) it compares with.

    .venv/bin/python bench/hundred_drop_bench.py            # --photos 100, --workers 1, --no-write

The stack is bench/stack.py's (a private Redis, the images stand-in, gunicorn as in the Procfile, `worker.py`
processes), in a throwaway directory. The photos are generated JPEGs (--size, default 1600x1200, distinct).
1. Singles: each photo is uploaded alone through the API (`POST /api/files`) and `GET /api/images/<id>` is polled
   (every 20 ms) until it answers 200; the times are summed.
2. The drop: Debian's Chromium (Playwright) signs in to the gallery and drops the same photos at once (a real
   `DataTransfer`, under new names); the clock runs from the drop until every tile is `ready` with its <img>.
Prints and writes bench/out/hundred_drop_bench.md. The machine is shared: read the ratio, and the load.
"""

from __future__ import annotations

import argparse
import base64
import io
import sys
import tempfile
import time
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO)]

from stack import Stack, loadavg, log, machine_info  # noqa: E402

OUT = BENCH / "out" / "hundred_drop_bench.md"
EMAIL, PASSWORD = "editor@bench.example", "correct horse battery staple"

DROP = """([files]) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    transfer.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, {type: 'image/jpeg'}));
  }
  const zone = document.querySelector('#dropzone');
  for (const type of ['dragenter', 'dragover', 'drop']) {
    zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
  }
  window.__dropped = performance.now();
}"""

# Every tile is an image: state `ready` with its <img> in place (thumbnails below the fold load lazily, on scroll).
READY = """(n) => {
  const tiles = Array.from(document.querySelectorAll('#tiles li.tile'));
  return tiles.length >= n && tiles.every((t) => t.dataset.state === 'ready' && t.querySelector('img'));
}"""


def photo(index: int, size: tuple[int, int]) -> bytes:
    from PIL import Image, ImageDraw

    picture = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(picture)
    draw.rectangle([index * 7 % size[0], 40, index * 7 % size[0] + 200, 240], fill=(index * 37 % 256, 90, 160))
    draw.text((20, 20), f"photo {index}", fill=(255, 255, 255))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--size", default="1600x1200")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    photos = [photo(i, size) for i in range(args.photos)]
    machine = machine_info()
    tmp = Path(tempfile.mkdtemp(prefix="aeontel-drop-bench-"))
    stack = Stack(tmp)
    try:
        stack.start_redis()
        stack.start_standin()
        stack.setup_data()
        stack.cli(
            "user",
            "create",
            EMAIL,
            "--workspace",
            stack.ids["workspace"],
            "--role",
            "editor",
            "--password",
            PASSWORD,
            "--json",
        )
        stack.start_web()
        stack.start_workers(args.workers, simple=False)
        auth = {"Authorization": f"Bearer {stack.ids['token']}"}
        session = requests.Session()

        load_singles = loadavg()
        singles = []
        for i, data in enumerate(photos):
            t0 = time.perf_counter()
            response = session.post(
                f"{stack.web_url}/api/files",
                headers=auth,
                timeout=60,
                data={"project_id": stack.ids["project"]},
                files={"file": (f"single-{i}.jpg", data)},
            )
            assert response.status_code == 201, response.text
            file_id = response.json()["id"]
            while session.get(f"{stack.web_url}/api/images/{file_id}", headers=auth, timeout=30).status_code != 200:
                if time.perf_counter() - t0 > 120:
                    raise RuntimeError(f"single {i} never became an image")
                time.sleep(0.02)
            singles.append(time.perf_counter() - t0)
        log(f"singles: sum {sum(singles):.1f} s, mean {sum(singles) / len(singles):.2f} s")

        from playwright.sync_api import sync_playwright

        load_drop = loadavg()
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{stack.web_url}/login")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/content")
            page.get_by_label("Search by name").fill("dropped-")  # only the dropped photos' tiles count
            page.wait_for_function("() => !document.querySelector('#tiles li.tile')", timeout=30_000)
            files = [
                {"name": f"dropped-{i}.jpg", "b64": base64.b64encode(data).decode()} for i, data in enumerate(photos)
            ]
            t0 = time.perf_counter()
            page.evaluate(DROP, [files])
            page.wait_for_function(READY, arg=args.photos, timeout=900_000, polling=100)
            dropped = time.perf_counter() - t0
            browser.close()
        log(f"drop of {args.photos}: every tile an image after {dropped:.1f} s")
    finally:
        stack.stop_all()

    ratio = dropped / sum(singles)
    lines = [
        f"- Date: {machine['date']}; {machine['nproc']} cores, {machine['cpu']}; load {load_singles} before the singles, "
        f"{load_drop} before the drop, {loadavg()} at the end (shared machine)",
        f"- `.venv/bin/python bench/hundred_drop_bench.py --photos {args.photos} --workers {args.workers} --size "
        f"{args.size}`: gunicorn 2x4, {args.workers} forking `worker.py`, stand-in 2 workers, SQLite; JPEGs of "
        f"{size[0]}x{size[1]} ({sum(map(len, photos)) / len(photos) / 1000:.0f} KB mean)",
        "",
        "| measure | seconds |",
        "|---|---:|",
        f"| sum of {args.photos} single-photo provisioning times (upload -> image, one at a time) | {sum(singles):.1f} |",
        f"| single photo: mean / min / max | {sum(singles) / len(singles):.2f} / {min(singles):.2f} / {max(singles):.2f} |",
        f"| drop of {args.photos} in Chromium -> every tile an image (3 uploads at a time) | {dropped:.1f} |",
        f"| ratio drop / sum of singles | {ratio:.2f} |",
    ]
    print("\n".join(lines))
    if not args.no_write:
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
