"""Static files: fingerprinted URLs that change with the bytes, a year of caching, compressed; and the favicon."""

import gzip
import json
import re
from pathlib import Path

from app.web.assets import script_hash

STATIC = Path(__file__).resolve().parents[2] / "static"


def test_fingerprinted_static_urls_are_cached_for_a_year_and_compressed(client, app):
    page = client.get("/login").text
    css = re.search(r'href="(/static/app\.css\?v=[0-9a-f]{12})"', page).group(1)
    js = re.search(r'<script type="module" src="(/static/js/main\.js\?v=[0-9a-f]{12})"', page).group(1)
    assert re.search(r'src="/static/vendor/htmx-2\.0\.11/htmx\.min\.js\?v=[0-9a-f]{12}"', page)
    for url, mimetype in ((css, "text/css"), (js, "text/javascript")):
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200 and response.mimetype == mimetype
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in response.headers["Vary"]
        name = url.split("?")[0].removeprefix("/static/")
        assert gzip.decompress(response.data) == (STATIC / name).read_bytes()
    plain = client.get("/static/app.css")  # no fingerprint (or an old one): revalidate
    assert plain.headers["Cache-Control"] == "no-cache" and "Content-Encoding" not in plain.headers
    assert plain.data == (STATIC / "app.css").read_bytes()
    assert client.get(css.split("?")[0] + "?v=000000000000").headers["Cache-Control"] == "no-cache"


def test_the_fingerprint_follows_the_file(client, app):
    probe = STATIC / "_fingerprint_probe.css"
    try:
        probe.write_text("a { color: red }\n")
        with app.test_request_context():
            from flask import url_for

            first = url_for("static", filename="_fingerprint_probe.css")
            probe.write_text("a { color: blue; }\n")
            second = url_for("static", filename="_fingerprint_probe.css")
        assert first != second and first.split("?")[0] == second.split("?")[0]
        assert client.get(second).headers["Cache-Control"].endswith("immutable")
        assert client.get(first).headers["Cache-Control"] == "no-cache"
    finally:
        probe.unlink(missing_ok=True)


def test_there_is_a_favicon(client):
    assert 'rel="icon" href="/static/favicon.svg?v=' in client.get("/login").text
    redirect = client.get("/favicon.ico")
    assert redirect.status_code == 302 and "/static/favicon.svg?v=" in redirect.headers["Location"]
    assert client.get(redirect.headers["Location"]).mimetype == "image/svg+xml"


def test_modules_import_each_other_through_the_import_map_at_fingerprinted_urls(client, app):
    """Every module is in the page's import map under the URL its relative imports resolve to, mapped to its
    fingerprinted (year-cached) URL; a changed module changes its entry, so no cached module imports a stale one."""
    page = client.get("/login").text
    imports = json.loads(re.search(r'<script type="importmap">(.*?)</script>', page).group(1))["imports"]
    modules = sorted(p.name for p in (STATIC / "js").glob("*.js"))
    assert sorted(imports) == [f"/static/js/{name}" for name in modules]
    for plain, url in imports.items():
        assert re.fullmatch(re.escape(plain) + r"\?v=[0-9a-f]{12}", url)
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "text/javascript"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for name in modules:  # relative imports only, each of a module that exists (and so is in the map)
        for target in re.findall(r'^import (?:[^"]+ from )?"([^"]+)";', (STATIC / "js" / name).read_text(), re.M):
            assert target.startswith("./") and f"/static/js/{target[2:]}" in imports, (name, target)
    csp = client.get("/login").headers["Content-Security-Policy"]
    text = re.search(r'<script type="importmap">(.*?)</script>', page).group(1)
    assert f"script-src 'self' {script_hash(text)};" in csp


def test_a_changed_module_gets_a_new_url_in_the_import_map(client, app):
    probe = STATIC / "js" / "_probe.js"
    try:
        probe.write_text("export const a = 1;\n")
        first = json.loads(re.search(r'importmap">(.*?)<', client.get("/login").text).group(1))["imports"]
        probe.write_text("export const a = 2;\n")
        second = json.loads(re.search(r'importmap">(.*?)<', client.get("/login").text).group(1))["imports"]
        assert first["/static/js/_probe.js"] != second["/static/js/_probe.js"]
        assert {k: v for k, v in first.items() if "_probe" not in k} == {
            k: v for k, v in second.items() if "_probe" not in k
        }
    finally:
        probe.unlink(missing_ok=True)
