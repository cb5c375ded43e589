"""Fixtures for the MCP server: real provisioned images behind the live server, and the server as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.services import free_port, wait_for_port

AEONTEL = Path(sys.executable).with_name("aeontel")


@pytest.fixture
def images(live_server, tenant, run_jobs, corpus) -> list[str]:
    """Two images of the tenant, provisioned through the queue and the images stand-in; newest first."""
    ids = []
    for source, name in (("Canon_40D.jpg", "Beach-Sunset.jpg"), ("Nikon_D70.jpg", "team.jpg")):
        response = requests.post(
            f"{live_server.url}/api/files",
            headers=tenant.auth(),
            timeout=30,
            data={"project_id": tenant.project_id},
            files={"file": (name, (corpus / source).read_bytes(), "image/jpeg")},
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    run_jobs()
    return sorted(ids, reverse=True)


@pytest.fixture
def failed_file(images, live_server, tenant, run_jobs, app) -> str:
    """A file whose image failed for a passing reason, for `retry_file`: a bomb whose failure is then recorded as the
    images service staying away past the deadline (a bomb's own failure is permanent and refuses a retry)."""
    from imagesd_support import damaged_jpeg

    from app.domain.files import File
    from app.extensions import db

    response = requests.post(
        f"{live_server.url}/api/files",
        headers=tenant.auth(),
        timeout=30,
        data={"project_id": tenant.project_id},
        files={"file": ("bomb.png", damaged_jpeg(), "image/png")},
    )
    assert response.status_code == 201, response.text
    run_jobs()
    file = requests.get(response.headers["Location"], headers=tenant.auth(), timeout=10).json()
    assert file["image"]["status"] == "failed", file
    with app.app_context():
        row = db.session.get(File, file["id"])
        row.error_code, row.error_message = "images_unavailable", "The images service could not be reached."
        db.session.commit()
        db.session.remove()
    return file["id"]


@pytest.fixture
def server_env(live_server, tenant, tmp_path) -> dict[str, str]:
    """The MCP server's settings come from the environment, as an MCP client's config passes them."""
    return {
        "AEONTEL_API_URL": live_server.url,
        "AEONTEL_TOKEN": tenant.write_token,
        "AEONTEL_CONFIG": str(tmp_path / "no-config.json"),
    }


@pytest.fixture
def server_log(tmp_path):
    """The server's stderr; a test fails if it shows a traceback."""
    path = tmp_path / "mcp-server.log"
    with path.open("w") as log:
        yield log
    assert "Traceback" not in path.read_text(), path.read_text()


@pytest.fixture
def http_server(server_env, server_log):
    """`aeontel mcp --http --port N` as its own process; yields the endpoint URL."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AEONTEL_")}
    process = subprocess.Popen(
        [str(AEONTEL), "mcp", "--http", "--port", str(port)],
        env={**env, **server_env},
        stdin=subprocess.DEVNULL,
        stdout=server_log,
        stderr=server_log,
    )
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(20)
