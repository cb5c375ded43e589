"""The real stack for the browser tests: this web app on loopback, a worker process, its own Redis, the stand-in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import RedisProcess, ThreadedServer, child_env, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, never a downloaded one (`playwright install` is not run here)."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"],
    }


class Stack:
    def __init__(self, app, server, worker, log_path: Path):
        self.app, self.server, self.worker, self.log_path = app, server, worker, log_path

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="session")
def stack(app, base_settings):
    """A web server and a `worker.py` process sharing the test database, storage and stand-in, on a Redis of their own."""
    from app import create_app

    redis = RedisProcess().start()
    port = free_port()
    settings = dict(base_settings, redis_url=redis.url, public_url=f"http://127.0.0.1:{port}")
    web_app = create_app(dict(settings))
    server = ThreadedServer(web_app, port).start()
    log_path = Path(settings["instance_dir"]) / "e2e-worker.log"
    log = log_path.open("wb")
    env = child_env(**{key.upper(): value for key, value in settings.items() if key.islower() and key != "instance_dir"},
                    AEONTEL_INSTANCE_DIR=settings["instance_dir"], RELAY_AFTER_SECONDS="0.5",
                    RELAY_INTERVAL_SECONDS="0.3")
    worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield Stack(web_app, server, worker, log_path)
    finally:
        worker.terminate()
        worker.wait(15)
        log.close()
        server.stop()
        redis.stop()
        from app.extensions import db

        with web_app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(stack):
    """Replaces pytest-base-url's fixture, which pytest 9 warns about (and warnings are errors here)."""
    return stack.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, stack):
    return {**browser_context_args, "permissions": ["clipboard-read", "clipboard-write"],
            "viewport": {"width": 1280, "height": 900}}
