"""Real services for the tests: a private Redis (app.devstack starts it), a throwaway database, an in-process
web server on loopback, and `wait_until` for waiting on an event instead of sleeping."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

from app.devstack import RedisServer, free_port, wait_for_port, wait_until  # noqa: F401 - the tests' names
from app.domain.durable import delay

# What the work of a test's few attempts (HTTP to the stand-in, database writes, RQ's bookkeeping) may take on a
# loaded two-core machine: the one margin a deadline adds to the waits its settings prescribe.
WORK_SECONDS = 30.0


def deadline_for(config, failures: int, retry_after: float = 0.0) -> float:
    """Seconds to wait for work that fails `failures` times before it succeeds: the longest backoff the app's
    RETRY_BASE_SECONDS / RETRY_CAP_SECONDS allow after each failure, any Retry-After a service asks for, and
    WORK_SECONDS."""
    base, cap = config["RETRY_BASE_SECONDS"], config["RETRY_CAP_SECONDS"]
    waits = sum(delay(n, base, cap, rand=1.0) for n in range(1, failures + 1))
    return waits + retry_after + WORK_SECONDS


class RedisProcess(RedisServer):
    """A redis-server of our own on a free port, keeping nothing on disk (the launcher's, under the tests' name)."""

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def throwaway_database(url: str | None):
    """Yields a database URL: a fresh SQLite file, or a fresh database on the PostgreSQL server named by `url`."""
    if not url:
        directory = tempfile.mkdtemp(prefix="aeontel-db-")
        yield f"sqlite:///{Path(directory) / 'test.db'}"
        shutil.rmtree(directory, ignore_errors=True)
        return
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"aeontel_test_{uuid.uuid4().hex[:12]}"
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class ThreadedServer:
    """Serves a WSGI app over real HTTP on loopback from a background thread."""

    def __init__(self, wsgi_app, port: int | None = None):
        self.port = port or free_port()
        self.server = make_server("127.0.0.1", self.port, wsgi_app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ThreadedServer":
        self.thread.start()
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({key: str(value) for key, value in extra.items()})
    return env
