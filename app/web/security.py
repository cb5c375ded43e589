"""Security headers on every response (rate limits live in app.domain.limits over app.adapters.ratelimit)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, g


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(config) -> str:
    """No foreign script, no inline script but the hashed import map; images also from the Images delivery origin."""
    delivery = _origin(config.get("IMAGES_DELIVERY_BASE", ""))
    img = " ".join(filter(None, ["'self'", "data:", "blob:", delivery]))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # The templates colour placeholders with style attributes; no <style> elements and no inline script.
            "style-src 'self'",
            "style-src-attr 'unsafe-inline'",
            f"img-src {img}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def with_script_hashes(csp: str, hashes: list[str] | None) -> str:
    """The policy plus the hashes of the page's own inline scripts (only the generated import map has one)."""
    return csp.replace("script-src 'self'", " ".join(["script-src 'self'", *hashes]), 1) if hashes else csp


def install_headers(app: Flask) -> None:
    csp = content_security_policy(app.config)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        # A view with stricter or different needs (the API docs page) sets its own policy.
        headers.setdefault("Content-Security-Policy", with_script_hashes(csp, g.get("script_hashes")))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if str(app.config.get("PUBLIC_URL", "")).startswith("https://"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def init_app(app: Flask) -> None:
    install_headers(app)
