"""Fixtures of the reliability suite: a private Redis to stop and start, a fresh images stand-in to count."""

from __future__ import annotations

import pytest
from imagesd_support import start_standin, stop_standin

from tests.services import RedisProcess


@pytest.fixture
def own_redis():
    server = RedisProcess().start()
    yield server
    server.stop()


@pytest.fixture
def fresh_standin():
    """A stand-in of this test alone, so its full listing can be compared with the image rows."""
    started = []

    def start(**env):
        server = start_standin(**env)
        started.append(server)
        return server

    yield start
    for server in started:
        log = server.log.read_text(errors="replace")
        stop_standin(server)
        assert "Traceback" not in log, f"the images stand-in logged a failure:\n{log}"
