"""Security headers on every response, a CSP that allows no inline script, and templates that need none."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from security_support import Caller, build_world
from test_authorization_matrix import CASES

from app.web.assets import script_hash

ROOT = Path(__file__).resolve().parents[2]


def _directives(csp: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in csp.split(";")) if part}


def assert_secure_headers(response, delivery_origin: str | None = None) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("X-Frame-Options") == "DENY"
    assert headers.get("Referrer-Policy") in ("strict-origin-when-cross-origin", "no-referrer", "same-origin")
    csp = _directives(headers.get("Content-Security-Policy", ""))
    assert csp.get("frame-ancestors") == ["'none'"], csp
    script = csp.get("script-src", csp.get("default-src"))
    # 'self', plus on pages the hash of the import map that page carries (and nothing else inline)
    maps = re.findall(
        r'<script type="importmap">(.*?)</script>', response.text if response.mimetype == "text/html" else ""
    )
    assert script == ["'self'", *(script_hash(text) for text in maps)], f"script-src must be 'self' only, not {script}"
    assert "'unsafe-inline'" not in csp.get("style-src", []) or response.request.path == "/api/docs"
    if delivery_origin:
        assert delivery_origin in csp["img-src"], csp["img-src"]


@pytest.mark.parametrize("role", ["owner", "viewer", "anon", "token_write"])
def test_every_route_answers_with_the_security_headers(app, role):
    """Pages, fragments, JSON, problems, redirects, static files, blobs: each case of the matrix, for each caller."""
    world = build_world(app)
    delivery = app.config["IMAGES_DELIVERY_BASE"].rstrip("/")
    seen = set()
    for case in CASES:
        if case.writes:
            world = build_world(app)
        caller = Caller(app, world, role)
        response = caller.open(
            case.method, case.url(world, app), htmx=case.htmx, **(case.body(world) if case.body else {})
        )
        assert_secure_headers(response, delivery if case.endpoint != "api.docs" else None)
        seen.add(response.status_code)
    # Errors of routes that do not exist, HTML and problem+json.
    for path in ("/no/such/page", "/api/no/such/thing"):
        response = Caller(app, world, role).open("GET", path)
        assert response.status_code == 404
        assert_secure_headers(response)
    assert {200, 302, 404} <= seen | {404}


def test_the_img_src_follows_the_configured_delivery_base(app, make_app):
    app = make_app(images_delivery_base="https://imagedelivery.net")
    response = app.test_client().get("/login")
    assert "https://imagedelivery.net" in _directives(response.headers["Content-Security-Policy"])["img-src"]


def test_api_docs_keep_their_own_policy(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    csp = _directives(response.headers["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert "blob:" in csp["worker-src"]  # Redoc's worker
    assert response.headers["X-Content-Type-Options"] == "nosniff"


INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


@pytest.mark.parametrize(
    "template", sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*.html"))
)
def test_templates_have_no_inline_script(template):
    text = (ROOT / template).read_text()
    assert not INLINE_SCRIPT.search(text), f"{template} has an inline <script>; move it into static JS"
    assert not INLINE_HANDLER.search(text), f"{template} has an inline event handler; bind it in static JS"
    assert "javascript:" not in text.lower()
    assert "hx-on" not in text, f"{template} uses hx-on, which evaluates script and needs 'unsafe-eval'"


@pytest.mark.parametrize("module", sorted(p.name for p in (ROOT / "static" / "js").glob("*.js")))
def test_static_script_builds_no_inline_handlers(module):
    text = (ROOT / "static" / "js" / module).read_text()
    assert "eval(" not in text and "new Function" not in text
    assert not re.search(r"setAttribute\(\s*['\"]on", text)
