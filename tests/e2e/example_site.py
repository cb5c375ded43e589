"""The React example site (clients/react/examples/site) built with the package's toolchain and served from its own
origin by a tiny server that keeps the write token and hands the page one-time upload URLs; used by the browser test
and by bench/react_image_bytes.py."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import requests
from flask import Flask, jsonify, send_from_directory

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "clients" / "react"


def build_site(out: Path) -> Path:
    """Bundles the example with Vite (installing the package's locked dependencies first when they are missing)."""
    if shutil.which("node") is None:
        raise RuntimeError("node is not installed: the example site is built with the package's own toolchain")
    if not (PACKAGE / "node_modules" / "vite").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], cwd=PACKAGE, check=True
        )
    subprocess.run(["node", "scripts/build-example.mjs", str(out)], cwd=PACKAGE, check=True, capture_output=True)
    return out


def site_app(dist: Path, api_url: str, write_token: str, read_token: str, project_id: str) -> Flask:
    """The example's own server: pages, its config, and `POST /upload-url`, which alone uses the write token."""
    app = Flask("aeontel_example_site", static_folder=None)

    @app.get("/")
    def index():
        return send_from_directory(dist, "index.html")

    @app.get("/assets/<path:name>")
    def assets(name):
        return send_from_directory(dist / "assets", name)

    @app.get("/config")
    def config():
        return jsonify(apiUrl=api_url, readToken=read_token, projectId=project_id)

    @app.post("/upload-url")
    def upload_url():
        made = requests.post(
            f"{api_url}/api/uploads",
            timeout=30,
            headers={"Authorization": f"Bearer {write_token}"},
            json={
                "projectId": project_id,
                "maxBytes": 5 * 1024 * 1024,
                "expiresIn": 120,
                "metadata": {"altText": "Uploaded from the example site"},
            },
        )
        made.raise_for_status()
        body = made.json()
        return jsonify(uploadUrl=body["uploadUrl"], maxBytes=body["maxBytes"])

    return app
