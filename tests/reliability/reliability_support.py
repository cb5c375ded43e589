"""Real processes for the reliability suite: gunicorn web, worker.py, RSS from /proc, waiting, counting.

Every process is started in its own session (process group), so SIGKILL takes its forked children with it and a
`finally: stop()` leaves nothing running. Also used by `bench/load.py`.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from PIL import Image as PILImage

from app import devstack
from app.extensions import db
from tests.factories import post_upload

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_env(settings: dict, **extra) -> dict[str, str]:
    """The environment a product process needs to run with `settings` (the lower-case keys of base_settings)."""
    env = dict(os.environ)
    for key in ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"):
        env.pop(key, None)
    env.update({key.upper(): str(value) for key, value in settings.items() if key.islower() and key != "instance_dir"})
    env.update(AEONTEL_INSTANCE_DIR=str(settings["instance_dir"]), PYTHONUNBUFFERED="1")
    env.update({key: str(value) for key, value in extra.items()})
    return env


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def tree(pid: int) -> list[int]:
    found = [pid]
    for child in children(pid):
        found.extend(tree(child))
    return found


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tail(path: Path, chars: int = 4000) -> str:
    try:
        return Path(path).read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def wait_until(predicate, timeout: float, what: str, logs: tuple = (), interval: float = 0.2):
    """app.devstack's bounded wait, with the ends of these logs when it gives up."""
    try:
        return devstack.wait_until(predicate, timeout, what, interval=interval)
    except TimeoutError as exc:
        tails = "\n".join(f"--- {log} ---\n{tail(log)}" for log in logs)
        raise AssertionError(f"{exc}\n{tails}") from None


class Process:
    """A command in its own session, started again after each kill (app.devstack's Process each time); `kill()`
    sends SIGKILL to the whole group, `stop()` TERM then KILL."""

    def __init__(self, name: str, cmd: list[str], env: dict, log: Path):
        self.name, self.cmd, self.env, self.log = name, cmd, env, Path(log)
        self.process: subprocess.Popen | None = None

    def start(self) -> "Process":
        self.process = devstack.Process(self.name, self.cmd, self.env, self.log, cwd=ROOT).popen
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_mb(self) -> float:
        """Resident memory of the process and every child (gunicorn workers, RQ work horses)."""
        return sum(rss_mb(pid) for pid in tree(self.pid)) if self.alive() else 0.0

    def max_member_rss_mb(self) -> float:
        return max((rss_mb(pid) for pid in tree(self.pid)), default=0.0) if self.alive() else 0.0

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # any child the TERM left behind
        except ProcessLookupError:
            pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass


def worker_process(settings: dict, log: Path, name: str | None = None, **extra) -> Process:
    env = settings_env(settings, RELAY_AFTER_SECONDS="0.5", RELAY_INTERVAL_SECONDS="0.3", **extra)
    cmd = [PYTHON, "worker.py"] + (["--name", name] if name else [])
    return Process(name or "worker", cmd, env, log)


def procfile_process(name: str, settings: dict, log: Path, **extra) -> Process:
    """A line of the Procfile exactly as production is told to run it, under bash with the virtualenv first on PATH,
    in its own process group."""
    env = settings_env(settings, **extra)
    env["PATH"] = f"{Path(PYTHON).parent}{os.pathsep}{env.get('PATH', '')}"
    line = re.sub(r"^python ", f"{PYTHON} ", devstack.procfile_line(name))
    return Process(name, ["bash", "-c", f"exec {line}"], env, log)


def gunicorn_web(settings: dict, port: int, log: Path, **extra) -> Process:
    """The web app as the Procfile runs it (gevent workers), on `port`: what production runs is what is tested."""
    return procfile_process("web", settings, log, PORT=str(port), **extra)


def upload(url: str, tenant, data: bytes, name: str) -> requests.Response:
    """One upload through the API over real HTTP."""
    return post_upload(url, tenant, data, name, timeout=30)


def scalar(app, query):
    with app.app_context():
        try:
            return db.session.scalar(query)
        finally:
            db.session.remove()


def rows(app, query) -> list:
    with app.app_context():
        try:
            return list(db.session.execute(query))
        finally:
            db.session.remove()


def wait_http(url: str, process: Process, timeout: float = 30) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{tail(process.log)}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError(f"{process.name} did not answer {url}:\n{tail(process.log)}")


def distinct_jpeg(n: int, size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (size[0] + n % 97, size[1]), ((n * 37) % 255, (n * 91) % 255, 120)).save(
        out, "JPEG", quality=80
    )
    return out.getvalue()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def standin_listing(standin) -> list[dict]:
    """Every image the stand-in holds, by walking `GET v2` to the end."""
    import requests

    images, token = [], None
    while True:
        params = {"per_page": 1000} | ({"continuation_token": token} if token else {})
        body = requests.get(f"{standin.api}/v2", headers=standin.auth, params=params, timeout=30).json()
        images.extend(body["result"]["images"])
        token = body["result"].get("continuation_token")
        if not token:
            return images
