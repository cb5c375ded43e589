"""Security headers on every response (rate limits live in app.domain.limits over app.adapters.ratelimit)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(config) -> str:
    """No inline or foreign script; images also from the Images delivery origin (a different origin)."""
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


def install_headers(app: Flask) -> None:
    csp = content_security_policy(app.config)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        # A view with stricter or different needs (the API docs page) sets its own policy.
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if str(app.config.get("PUBLIC_URL", "")).startswith("https://"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def init_app(app: Flask) -> None:
    install_headers(app)
