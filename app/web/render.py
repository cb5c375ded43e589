"""The one place that decides between a full page and an htmx fragment."""

from __future__ import annotations

from flask import make_response, render_template

from app.extensions import htmx


def wants_fragment() -> bool:
    """An htmx request that swaps part of a page; boosted links and history restores need the whole page."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(page: str, fragment: str | None = None, status: int = 200, headers: dict | None = None, **context):
    """Renders `fragment` for htmx and `page` otherwise; caches must key on HX-Request either way."""
    template = fragment if fragment and wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def render_fragment(fragment: str, status: int = 200, headers: dict | None = None, **context):
    """For endpoints that only htmx (or the gallery's upload script) calls; still keyed on HX-Request."""
    return render(fragment, fragment, status, headers, **context)


def binary_size(size: int) -> str:
    """A size in binary units, one decimal at most ("100 MiB", "1.5 KiB"), as static/js/units.js says it too."""
    value, units = float(size), ["bytes", "KiB", "MiB", "GiB", "TiB"]
    unit = 0
    while value >= 1024 and unit < len(units) - 1:
        value, unit = value / 1024, unit + 1
    if unit == 0:
        return f"{size:,} bytes"
    return f"{value:.1f}".removesuffix(".0") + f" {units[unit]}"
