"""Fixtures for the API commands: real provisioned images behind the live server, and `aeontel` as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.factories import upload_over_http

AEONTEL = Path(sys.executable).with_name("aeontel")


def upload(server, tenant, corpus, source: str, name: str | None = None) -> str:
    return upload_over_http(server, tenant, (corpus / source).read_bytes(), name or source, content_type="image/jpeg")


@pytest.fixture
def images(live_server, tenant, run_jobs, corpus) -> list[str]:
    """Three images of the tenant, provisioned through the queue and the images stand-in; newest first."""
    ids = [
        upload(live_server, tenant, corpus, source, name)
        for source, name in (
            ("Canon_40D.jpg", "Beach-Sunset.jpg"),
            ("Nikon_D70.jpg", "team.jpg"),
            ("orientation_portrait_6.jpg", "portrait.jpg"),
        )
    ]
    run_jobs()
    return sorted(ids, reverse=True)


@pytest.fixture
def cli_env(live_server, tenant, tmp_path) -> dict[str, str]:
    """What a user's shell would hold: the API URL, a write token, and a config file of the test's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AEONTEL_")}
    env.update(
        AEONTEL_API_URL=live_server.url,
        AEONTEL_TOKEN=tenant.write_token,
        AEONTEL_CONFIG=str(tmp_path / "config" / "aeontel.json"),
        PYTHONWARNINGS="error",
    )
    return env


@pytest.fixture
def aeontel_proc(cli_env):
    """Runs the installed `aeontel` script as a real process with no terminal on stdin."""

    def run(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(AEONTEL), *args],
            env={**cli_env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def aeontel(cli_env):
    """Runs `aeontel …` in this process (Click's runner, no terminal), for the many smaller cases."""
    from app.cli import main

    ours = {key: value for key, value in cli_env.items() if key.startswith("AEONTEL_")}
    ambient = {key: None for key in os.environ if key.startswith("AEONTEL_") and key not in ours}

    def run(*args: str, env: dict | None = None, input: str | None = None):
        return CliRunner().invoke(
            main, list(args), env={**ambient, **ours, **(env or {})}, input=input, catch_exceptions=False
        )

    return run
