"""Static files under fingerprinted URLs (`?v=<content hash>`), cached for a year and sent compressed; the gallery's
ES modules reach each other's fingerprinted URLs through an import map the page carries."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from flask import Flask, g, request, url_for
from markupsafe import Markup
from werkzeug.security import safe_join

MODULES = "js"  # the folder under static/ whose *.js files are ES modules importing each other as "./name.js"

YEAR = 31_536_000


class Fingerprints:
    """Content hashes of static files, recomputed when a file's size or modification time changes."""

    def __init__(self, folder: str):
        self.folder = folder
        self._known: dict[str, tuple[tuple[int, int], str]] = {}

    def __call__(self, filename: str | None) -> str | None:
        path = safe_join(self.folder, filename or "")
        if path is None:
            return None
        try:
            stat = Path(path).stat()
        except OSError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        known = self._known.get(filename)
        if known and known[0] == stamp:
            return known[1]
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
        self._known[filename] = (stamp, digest)
        return digest


def import_map(folder: str) -> str:
    """The import map (JSON) that sends every module's plain URL, which relative imports resolve to, to its
    fingerprinted one: a changed module gets a new URL in every page, while unchanged ones stay cached."""
    names = sorted(path.name for path in (Path(folder) / MODULES).glob("*.js"))
    imports = {}
    for name in names:
        url = url_for("static", filename=f"{MODULES}/{name}")
        imports[url.split("?")[0]] = url
    return json.dumps({"imports": imports}, separators=(",", ":")).replace("<", "\\u003c")


def script_hash(text: str) -> str:
    """The CSP source that allows exactly this inline script (the import map) and no other."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def init_app(app: Flask) -> None:
    fingerprint = Fingerprints(app.static_folder)

    @app.template_global()
    def import_map_tag() -> Markup:
        text = import_map(app.static_folder)
        g.script_hashes = [script_hash(text)]  # app.web.security adds it to this page's CSP
        return Markup(f'<script type="importmap">{text}</script>')

    @app.url_defaults
    def add_fingerprint(endpoint, values) -> None:
        if endpoint == "static" and "v" not in values:
            digest = fingerprint(values.get("filename"))
            if digest:
                values["v"] = digest

    @app.after_request
    def cache_static(response):
        """A URL with the file's current hash never changes, so browsers keep it a year; any other URL revalidates.
        The file's bytes are read here so that flask-compress (which leaves streams alone) compresses them."""
        if request.endpoint != "static":
            return response
        current = fingerprint((request.view_args or {}).get("filename"))
        if current and request.args.get("v") == current:
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        if response.status_code == 200 and response.is_streamed:
            stream = response.response
            response.direct_passthrough = False
            try:
                response.set_data(b"".join(stream))
            finally:
                if hasattr(stream, "close"):
                    stream.close()
        return response
