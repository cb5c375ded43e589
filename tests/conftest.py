from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from imagesd_support import ACCOUNT_HASH, ACCOUNT_ID, TOKEN, start_standin, stop_standin
from sqlalchemy import delete

from app.adapters.queue import BurstWorker
from tests.factories import Factory
from tests.services import RedisProcess, ThreadedServer, free_port, throwaway_database

CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.fixture(scope="session")
def redis_url():
    """A private Redis per test session (TEST_REDIS_URL to use another); tests flush it freely."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    server = RedisProcess().start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def database_url():
    """SQLite by default; TEST_DATABASE_URL=postgresql://… runs the same tests on a fresh PostgreSQL database."""
    with throwaway_database(os.environ.get("TEST_DATABASE_URL")) as url:
        yield url


@pytest.fixture(scope="session")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="aeontel-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def web_port():
    return free_port()


@pytest.fixture(scope="session")
def images_service():
    """The Cloudflare Images stand-in in its own process, as `make dev` runs it."""
    server = start_standin()
    yield server
    log = server.log.read_text()
    stop_standin(server)
    assert "Traceback" not in log, f"the images stand-in logged a failure:\n{log}"


@pytest.fixture(scope="session")
def base_settings(database_url, redis_url, workdir, web_port, images_service):
    return {
        "images_api_base": f"{images_service.url}/client/v4",
        "images_account_id": ACCOUNT_ID,
        "images_api_token": TOKEN,
        "images_account_hash": ACCOUNT_HASH,
        "images_delivery_base": images_service.url,
        "images_max_attempts": 3,
        "provision_lease_seconds": 3,
        # A short retry backoff (the defaults wait up to 30 s): a test waits on retries with deadline_for(), and
        # tests about the backoff itself set their own.
        "retry_base_seconds": 0.1,
        "retry_cap_seconds": 0.5,
        "instance_dir": str(workdir / "instance"),
        "database_url": database_url,
        "redis_url": redis_url,
        "secret_key": "test-secret",
        "storage_backend": "local",
        "storage_root": str(workdir / "storage"),
        "upload_tmp_dir": str(workdir / "uploads"),
        "public_url": f"http://127.0.0.1:{web_port}",
        "max_upload_bytes": 5 * 1024 * 1024,
        "TESTING": True,
    }


@pytest.fixture(scope="session")
def app(base_settings):
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    application = create_app(dict(base_settings))
    with application.app_context():
        upgrade()  # the real migrations build the schema, so they are tested on every run
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def make_app(app, base_settings):
    """Builds extra apps with changed settings (on the migrated schema `app` made) and closes their database
    connections afterwards."""
    from app import create_app
    from app.extensions import db

    made = []

    def make(**overrides):
        application = create_app(dict(base_settings, **overrides))
        made.append(application)
        return application

    yield make
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def cli(app, base_settings):
    """Runs `aeontel …` in-process as a user would, with the test stack's settings in the environment, and closes
    the database connections of the apps its commands build. It asks for `app` so that the schema exists and the
    tables are emptied afterwards, whichever test runs first."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from app import create_app
    from app.cli import main
    from app.extensions import db

    env = {key.upper(): str(value) for key, value in base_settings.items() if key.islower()}
    env["AEONTEL_INSTANCE_DIR"] = env.pop("INSTANCE_DIR")
    made = []

    def build():
        made.append(create_app())
        return made[-1]

    def run(*args, input=None, extra_env=None):
        return CliRunner().invoke(
            main,
            list(args),
            env={**env, **(extra_env or {})},
            input=input,
            catch_exceptions=False,
            obj=ScriptInfo(create_app=build),
        )

    yield run
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(app, web_port):
    server = ThreadedServer(app, web_port).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def clean_state(request):
    """Every test starts with empty tables, an empty Redis and an empty storage folder."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    from app.extensions import db

    with application.app_context():
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(delete(table))
        db.session.commit()
        db.session.remove()
        application.extensions["queue"].connection.flushdb()
    shutil.rmtree(application.config["STORAGE_ROOT"], ignore_errors=True)
    os.makedirs(application.config["STORAGE_ROOT"], exist_ok=True)
    # Resumable uploads' spools go with their rows (a test may leave an upload unfinished).
    for leftover in Path(application.config["UPLOAD_TMP_DIR"]).glob("tus-*.part"):
        leftover.unlink(missing_ok=True)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def factory(app):
    return Factory(app)


@pytest.fixture
def tenant(factory):
    return factory.workspace("Acme")


@pytest.fixture
def other_tenant(factory):
    return factory.workspace("Other")


@pytest.fixture
def run_jobs(app):
    """Works every queue until empty, in this process, as a real RQ worker does."""

    def run(max_rounds: int = 10) -> None:
        from app.adapters.queue import QUEUE_NAMES

        connection = app.extensions["queue"].connection
        with app.app_context():
            for _ in range(max_rounds):
                worker = BurstWorker(list(QUEUE_NAMES), connection=connection)
                if not worker.work(burst=True, with_scheduler=False):
                    return

    return run


@pytest.fixture(scope="session")
def corpus():
    assert CORPUS.is_dir(), f"the test corpus is missing at {CORPUS}"
    return CORPUS
