"""A hundred files dropped at once: at most three uploads in flight, and every tile ends in a state that says why.

Issue 6, "Bad input": 90 small generated photos (JPEG and PNG), 6 text files, 2 images that are refused while
processing (a decompression-bomb header) and 2 files over the upload limit, in one `drop` with a real
`DataTransfer`, in Debian's Chromium against the real stack (web, worker, Redis, the images stand-in).
"""

import base64
import io
import time

from browser_support import make_user, sign_in
from imagesd_support import damaged_jpeg
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CONCURRENCY = 3  # static/js/upload.js CONCURRENCY
SETTLE_SECONDS = 90

# Counts, from inside the page, the upload XHRs between `send()` and their response being complete
# (readyState 4, which fires before `load`, where upload.js starts the next upload), and keeps the largest count.
COUNT_UPLOADS = """(() => {
  window.__uploads = {now: 0, max: 0, sent: 0};
  const open = XMLHttpRequest.prototype.open;
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__isUpload = method === 'POST' && /\\/content\\/files$/.test(url);
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    if (this.__isUpload) {
      const u = window.__uploads;
      u.now += 1; u.sent += 1; u.max = Math.max(u.max, u.now);
      let counted = true;
      this.addEventListener('readystatechange', () => {
        if (this.readyState === 4 && counted) { counted = false; u.now -= 1; }
      });
    }
    return send.apply(this, arguments);
  };
})()"""

DROP = """([files]) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = f.b64 !== null ? Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0)) : new Uint8Array(f.size);
    transfer.items.add(new File([bytes], f.name, {type: f.type}));
  }
  const zone = document.querySelector('#dropzone');
  for (const type of ['dragenter', 'dragover', 'drop']) {
    zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
  }
}"""

# Every tile's name, state and status text at once (one round trip instead of a hundred locators).
TILES = """() => Array.from(document.querySelectorAll('#tiles li.tile')).map((li) => ({
  name: li.dataset.name, state: li.dataset.state,
  text: (li.querySelector('.status') || li.querySelector('.meta') || li).textContent.trim(),
  img: li.querySelector('img') ? li.querySelector('img').getAttribute('src') : null,
}))"""

SETTLED = """(expected) => {
  const tiles = Array.from(document.querySelectorAll('#tiles li.tile'));
  return tiles.length === 100 && tiles.every((li) => li.dataset.state === expected[li.dataset.name]);
}"""


def photo(index: int) -> tuple[str, bytes, str]:
    """A small, distinct picture: alternately JPEG and PNG, a few sizes."""
    width, height = (48 + index % 5 * 8, 36 + index % 3 * 8)
    colour = ((index * 37) % 256, (index * 91) % 256, (index * 53) % 256)
    picture = Image.new("RGB", (width, height), colour)
    picture.putpixel((index % width, 0), (255 - colour[0], 255 - colour[1], 255 - colour[2]))
    out = io.BytesIO()
    if index % 2:
        picture.save(out, "PNG")
        return f"photo-{index:03d}.png", out.getvalue(), "image/png"
    picture.save(out, "JPEG", quality=80)
    return f"photo-{index:03d}.jpg", out.getvalue(), "image/jpeg"


def item(name: str, data: bytes | None, type_: str, size: int = 0) -> dict:
    return {
        "name": name,
        "type": type_,
        "size": size,
        "b64": base64.b64encode(data).decode() if data is not None else None,
    }


def test_a_hundred_files_dropped_at_once_upload_three_at_a_time_and_all_settle(page, stack, tenant):
    limit = stack.app.config["MAX_UPLOAD_BYTES"]
    photos = [photo(i) for i in range(90)]
    files = [item(name, data, type_) for name, data, type_ in photos]
    files += [item(f"notes-{i}.txt", f"text file {i}, not a picture\n".encode(), "text/plain") for i in range(6)]
    files += [item(f"bomb-{i}.png", damaged_jpeg(4000 + i), "image/png") for i in range(2)]  # two files, not duplicates
    files += [item(f"huge-{i}.jpg", None, "image/jpeg", size=limit + 1 + i) for i in range(2)]
    assert len(files) == 100 and len({f["name"] for f in files}) == 100

    make_user(stack.app, tenant.workspace_id, "editor@example.com", "editor")
    page.add_init_script(COUNT_UPLOADS)
    sign_in(page, "editor@example.com")
    page.evaluate("window.__noReload = true")
    upload_url = page.locator("#dropzone").get_attribute("data-upload-url")

    # The network's view: upload POSTs issued and not yet answered. (An answer counts when its headers arrive:
    # Playwright's `requestfinished` can reach us after upload.js, having read the whole answer, started the next.)
    in_flight: set = set()
    peak = {"n": 0, "sent": 0}

    polls = {"n": 0}

    def on_request(request):
        if request.method == "GET" and f"{upload_url}/" in request.url and request.headers.get("hx-request"):
            polls["n"] += 1  # a processing tile asking for its state again
        if request.method == "POST" and request.url.endswith(upload_url):
            in_flight.add(request)
            peak["sent"] += 1
            peak["n"] = max(peak["n"], len(in_flight))

    def on_done(request):
        in_flight.discard(request)

    page.on("request", on_request)
    page.on("response", lambda response: on_done(response.request))
    page.on("requestfailed", on_done)

    started = time.monotonic()
    page.evaluate(DROP, [files])
    assert page.locator("#tiles li.tile").count() == 100  # every file has its tile at once

    expected = {name: "ready" for name, _, _ in photos}
    expected.update({f"notes-{i}.txt": "file" for i in range(6)})
    expected.update({f"bomb-{i}.png": "failed" for i in range(2)})
    expected.update({f"huge-{i}.jpg": "failed" for i in range(2)})
    try:  # Playwright delivers the request events to the handlers above while it waits
        page.wait_for_function(SETTLED, arg=expected, timeout=SETTLE_SECONDS * 1000, polling=250)
    except PlaywrightTimeoutError:
        pass  # the assertion below names every tile that is not where it should be
    tiles = page.evaluate(TILES)
    settled = time.monotonic() - started
    states = {t["name"]: t for t in tiles}
    wrong = {
        name: (states.get(name) or {}).get("state")
        for name, want in expected.items()
        if (states.get(name) or {}).get("state") != want
    }
    assert not wrong, f"after {settled:.0f}s, {len(wrong)} tiles are not where they should be: {wrong}"
    assert len(tiles) == 100

    # Bounded concurrency, seen from the network and from the page.
    uploads = page.evaluate("window.__uploads")
    assert peak["sent"] == uploads["sent"] == 98, (peak, uploads)  # the two over the limit never left the browser
    assert uploads["now"] == 0, uploads
    assert 2 <= uploads["max"] <= CONCURRENCY, f"{uploads['max']} uploads were in flight at once (in the page)"
    assert 2 <= peak["n"] <= CONCURRENCY, f"{peak['n']} uploads were in flight at once (on the network)"

    # Every end state carries its reason.
    for name, _, _ in photos:
        assert states[name]["img"], f"{name} is ready without a thumbnail"
    for i in range(6):
        assert states[f"notes-{i}.txt"]["text"].startswith("Not an image ("), states[f"notes-{i}.txt"]
    for i in range(2):
        assert states[f"bomb-{i}.png"]["text"].startswith("Failed: ") and len(states[f"bomb-{i}.png"]["text"]) > 12
        assert states[f"huge-{i}.jpg"]["text"] == (
            f"Failed: the file is {limit + 1 + i:,} bytes; the limit is {limit:,} bytes."
        ), states[f"huge-{i}.jpg"]
    print(
        f"100 files settled in {settled:.1f}s; most uploads in flight: {uploads['max']} in the page, "
        f"{peak['n']} on the network; {polls['n']} tile refreshes"
    )
    page.screenshot(path="/tmp/gallery-hundred-files.png", full_page=False)
    assert settled < SETTLE_SECONDS
