"""Static files under fingerprinted URLs (`?v=<content hash>`), cached for a year and sent compressed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, request
from werkzeug.security import safe_join

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


def init_app(app: Flask) -> None:
    fingerprint = Fingerprints(app.static_folder)

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
