"""Fixtures for the stand-in tests: one server for the session, the official SDK pointed at it, an origin server."""

from __future__ import annotations

import pytest
from imagesd_support import TOKEN, Origin, start_standin, stop_standin


@pytest.fixture(scope="session")
def standin():
    server = start_standin()
    yield server
    log = server.log.read_text()
    stop_standin(server)
    assert "Traceback" not in log, f"the stand-in logged an unexpected failure:\n{log}"


@pytest.fixture(scope="session")
def cf(standin):
    from cloudflare import Cloudflare

    client = Cloudflare(api_token=TOKEN, base_url=f"{standin.url}/client/v4", max_retries=0)
    yield client
    client.close()


@pytest.fixture(scope="session")
def origin():
    server = Origin()
    yield server
    server.close()
