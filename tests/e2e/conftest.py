"""The real stack for the browser tests: this web app on loopback, a worker process, its own Redis, the stand-in."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from app import devstack
from tests.factories import Factory
from tests.services import RedisProcess, ThreadedServer, child_env, free_port, throwaway_database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, never a downloaded one (`playwright install` is not run here)."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ],
    }


class Stack:
    def __init__(self, app, server, worker, settings: dict):
        self.app, self.server, self.worker, self.settings = app, server, worker, settings

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def log_path(self) -> Path:
        return self.worker.log


@pytest.fixture(scope="module")
def playwright():
    """Playwright per module, not per session: its sync API keeps an asyncio loop marked running in this thread
    until it stops, which would break every later test that runs a loop of its own (tests run in random order)."""
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="module")
def browser_type(playwright, browser_name):
    return getattr(playwright, browser_name)


@pytest.fixture(scope="module")
def browser(browser_type, browser_type_launch_args):
    launched = browser_type.launch(**browser_type_launch_args)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def stack(base_settings, images_service):
    """The browser tests' own stack: a database, storage folder and Redis of their own, this web app on loopback and a
    `worker.py` process (started by app.devstack); only the images stand-in is shared, so nothing here reaches the
    rows of the other tests, in whatever order they run."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    root = Path(tempfile.mkdtemp(prefix="aeontel-e2e-"))
    redis = RedisProcess().start()
    port = free_port()
    with throwaway_database(os.environ.get("TEST_DATABASE_URL")) as database_url:
        settings = dict(
            base_settings,
            redis_url=redis.url,
            public_url=f"http://127.0.0.1:{port}",
            database_url=database_url,
            instance_dir=str(root / "instance"),
            storage_root=str(root / "storage"),
            upload_tmp_dir=str(root / "uploads"),
        )
        web_app = create_app(dict(settings))
        with web_app.app_context():
            upgrade()
        server = ThreadedServer(web_app, port).start()
        env = child_env(
            **{key.upper(): value for key, value in settings.items() if key.islower() and key != "instance_dir"},
            AEONTEL_INSTANCE_DIR=settings["instance_dir"],
            RELAY_AFTER_SECONDS="0.5",
            RELAY_INTERVAL_SECONDS="0.3",
        )
        worker = None
        try:
            worker = devstack.start_worker(env, f"e2e-{os.getpid()}", log=root / "e2e-worker.log")
            yield Stack(web_app, server, worker, settings)
        finally:
            if worker is not None:
                worker.stop(15)
            server.stop()
            redis.stop()
            with web_app.app_context():
                db.session.remove()
                db.engine.dispose()
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def tenant(stack):
    """A workspace in the browser stack's own database (the top-level `tenant` lives in the other tests' one)."""
    return Factory(stack.app).workspace("Acme")


@pytest.fixture
def other_tenant(stack):
    return Factory(stack.app).workspace("Other")


@pytest.fixture(autouse=True)
def _clean_stack(request):
    """After each browser test: empty tables, an empty Redis and an empty storage folder, as clean_state does for
    the other tests."""
    yield
    if "stack" not in request.fixturenames:
        return
    stack = request.getfixturevalue("stack")
    from sqlalchemy import delete

    from app.extensions import db

    with stack.app.app_context():
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(delete(table))
        db.session.commit()
        db.session.remove()
        stack.app.extensions["queue"].connection.flushdb()
    shutil.rmtree(stack.app.config["STORAGE_ROOT"], ignore_errors=True)
    os.makedirs(stack.app.config["STORAGE_ROOT"], exist_ok=True)


@pytest.fixture(scope="session")
def base_url(stack):
    """Replaces pytest-base-url's fixture, which pytest 9 warns about (and warnings are errors here)."""
    return stack.url


@pytest.fixture(scope="module")
def browser_context_args(stack):
    """Module-scoped like `playwright` (pytest-playwright's own is session-scoped and asks for it); no `--device`
    or `--video` here."""
    return {
        "base_url": stack.url,
        "permissions": ["clipboard-read", "clipboard-write"],
        "viewport": {"width": 1280, "height": 900},
    }
