"""The embedded stack for benchmarks: a private redis-server, the images stand-in, gunicorn web and RQ workers.

Everything lives in one throwaway directory (AEONTEL_INSTANCE_DIR=<tmp>/instance: SQLite, LocalStorage, the
upload spool and the stand-in's data). Each server runs in its own session so that it and its children (gunicorn
workers, RQ work horses) are stopped together. The processes are started by app/devstack.py, the launcher that
`make dev`, the tests and the React checks use too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from app import devstack  # noqa: E402  one launcher for the stack's processes
from app.devstack import free_port  # noqa: E402, F401  the benchmarks' name

VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
# Settings a developer's shell may carry that would point the app somewhere other than the throwaway instance.
SCRUB_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "STORAGE_BACKEND",
    "STORAGE_ROOT",
    "UPLOAD_TMP_DIR",
    "PUBLIC_URL",
    "PORT",
    "MAX_UPLOAD_BYTES",
    "AEONTEL_INSTANCE_DIR",
    "SECRET_KEY",
    "GUNICORN_CMD_ARGS",
    "WEB_CONCURRENCY",
    "IMAGES_API_BASE",
    "IMAGES_ACCOUNT_ID",
    "IMAGES_API_TOKEN",
    "IMAGES_ACCOUNT_HASH",
    "IMAGES_DELIVERY_BASE",
    "IMAGES_SIGNING_KEY",
    "IMAGESD_PORT",
    "IMAGESD_DATA_DIR",
    "IMAGESD_PUBLIC_URL",
    "IMAGESD_FAULTS",
    "RELAY_INTERVAL_SECONDS",
    "RELAY_AFTER_SECONDS",
    "IMAGESD_FETCH_ALLOW",
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(cmd: str) -> str:
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as exc:  # noqa: BLE001 - informational only
        return f"? ({exc})"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def children_of(ppid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{ppid}/task/{ppid}/children").read_text().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


class Server(devstack.Process):
    """A process in its own session (app/devstack.py's), under the names the benchmarks use (`proc`, `log_path`,
    `tail(n)` in lines, `stop(term_wait)`)."""

    def __init__(self, name: str, cmd: list[str], env: dict, log_path: Path):
        super().__init__(name, cmd, env, log_path, cwd=REPO, die_with_parent=False)
        self.log_path, self.cmd = log_path, cmd
        self.proc: subprocess.Popen | None = self.popen

    def stop(self, term_wait: float = 10.0) -> None:
        if self.proc is None:
            return
        super().stop(timeout=term_wait)
        self.proc = None

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


class Stack:
    """redis-server + stand-in + gunicorn web + N workers, all in `tmp`; `stop_all()` in a finally stops them."""

    def __init__(self, tmp: Path, web_workers: int = 2, web_threads: int = 4, standin_workers: int = 2):
        self.tmp = tmp
        self.instance = tmp / "instance"
        self.instance.mkdir(parents=True, exist_ok=True)
        self.web_workers, self.web_threads, self.standin_workers = web_workers, web_threads, standin_workers
        self.redis: Server | None = None
        self.standin: Server | None = None
        self.web: Server | None = None
        self.workers: list[Server] = []
        self.ids: dict = {}
        self.redis_url = ""
        self.web_url = ""
        self.standin_url = ""
        self.secret = "bench-secret-" + uuid.uuid4().hex
        self.extra_env: dict[str, str] = {}
        self._n = 0

    # ------------------------------------------------------------------ environment
    def base_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in SCRUB_ENV}
        env.update(AEONTEL_INSTANCE_DIR=str(self.instance), SECRET_KEY=self.secret, PYTHONUNBUFFERED="1")
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        if self.standin_url:
            env.update(
                IMAGES_API_BASE=f"{self.standin_url}/client/v4",
                IMAGES_DELIVERY_BASE=self.standin_url,
                IMAGESD_PORT=self.standin_url.rsplit(":", 1)[1],
                IMAGESD_PUBLIC_URL=self.standin_url,
                IMAGESD_FETCH_ALLOW="127.0.0.0/8,::1",
            )  # the stand-in fetches from the loopback web app
        if self.web_url:
            env.update(PUBLIC_URL=self.web_url, PORT=self.web_url.rsplit(":", 1)[1])
        env.update(self.extra_env)
        return env

    @property
    def db_path(self) -> Path:
        return self.instance / "aeontel.db"

    @property
    def account_id(self) -> str:
        from app.config import DEV_IMAGES_ACCOUNT_ID

        return DEV_IMAGES_ACCOUNT_ID

    @property
    def images_token(self) -> str:
        from app.config import DEV_IMAGES_API_TOKEN

        return DEV_IMAGES_API_TOKEN

    # ------------------------------------------------------------------ servers
    def _wait_http(self, server: Server, url: str, what: str, timeout: float = 60) -> None:
        try:
            devstack.wait_until(
                lambda: devstack.http_ok(url), timeout, f"{what} answering {url}", interval=0.1, check=server.check
            )
        except TimeoutError as exc:
            raise RuntimeError(f"{exc}:\n{server.tail()}") from None

    def start_redis(self) -> None:
        server = devstack.RedisServer(directory=self.tmp, log=self.tmp / "redis.log").start()
        self.redis = server
        self.redis_url = server.url
        log(f"private redis-server on :{server.port}")

    def redis_client(self):
        import redis

        return redis.Redis.from_url(self.redis_url)

    def cli(self, *args: str) -> dict | None:
        cmd = [str(VENV_BIN / "aeontel"), *args]
        res = subprocess.run(cmd, env=self.base_env(), cwd=REPO, capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
        if "--json" in args:
            return json.loads(res.stdout.strip().splitlines()[-1])
        return None

    def setup_data(self) -> None:
        self.cli("db", "upgrade")
        ws = self.cli("workspace", "create", "Bench", "--json")
        prj = self.cli("project", "create", "--workspace", ws["workspaceId"], "Uploads", "--json")
        tok = self.cli("token", "create", "--workspace", ws["workspaceId"], "--scope", "write", "--json")
        self.ids = {"workspace": ws["workspaceId"], "project": prj["projectId"], "token": tok["token"]}
        log(f"workspace {ws['workspaceId']}, project {prj['projectId']}, write token created")

    def start_standin(self) -> None:
        port = free_port()
        self.standin_url = f"http://127.0.0.1:{port}"
        self.standin_cmd = [
            PYTHON,
            "-m",
            "app.imagesd.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(self.standin_workers),
        ]
        self.standin = Server("standin", self.standin_cmd, self.base_env(), self.tmp / "standin.log")
        self._wait_http(self.standin, f"{self.standin_url}/healthz", "the stand-in")
        from app.domain.images_account import apply_account_setup

        apply_account_setup(f"{self.standin_url}/client/v4", self.account_id, self.images_token)  # as `make dev` does
        log(f"images stand-in on :{port} ({self.standin_workers} workers), data in {self.instance / 'imagesd'}")

    def start_web(self) -> None:
        port = free_port()
        self.web_url = f"http://127.0.0.1:{port}"
        # The Procfile's command (2 workers, 4 threads, --timeout 300), without the access log.
        self.gunicorn_cmd = [
            str(VENV_BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(self.web_workers),
            "--threads",
            str(self.web_threads),
            "--timeout",
            "300",
            *devstack.gunicorn_control_args(self.tmp),
            "app:create_app()",
        ]
        self.web = Server("web", self.gunicorn_cmd, self.base_env(), self.tmp / "web.log")
        self._wait_http(self.web, f"{self.web_url}/healthz", "gunicorn")
        log(f"gunicorn web on :{port} ({self.web_workers} workers x {self.web_threads} threads)")

    def start_workers(self, n: int, simple: bool) -> None:
        from rq import Worker

        self.stop_workers()
        conn = self.redis_client()
        before = Worker.count(connection=conn)
        kind = "simple" if simple else "fork"
        for _i in range(n):
            self._n += 1
            cmd = [PYTHON, "worker.py", "--name", f"bench-{kind}-{self._n}", "--simple" if simple else "--fork"]
            self.workers.append(Server(f"worker-{self._n}", cmd, self.base_env(), self.tmp / f"worker-{self._n}.log"))

        def check() -> None:
            for w in self.workers:
                w.check()

        try:
            devstack.wait_until(
                lambda: Worker.count(connection=conn) >= before + n, 60, f"{n} workers registering", check=check
            )
        except TimeoutError as exc:
            raise RuntimeError(f"{exc}:\n" + "\n".join(w.tail() for w in self.workers)) from None
        finally:
            conn.close()
        log(f"{n} worker(s) started: python worker.py {'--simple' if simple else '--fork'}")

    def stop_workers(self) -> None:
        while self.workers:
            self.workers.pop().stop(term_wait=15)

    def stop_all(self) -> None:
        self.stop_workers()
        for name in ("web", "standin", "redis"):
            server = getattr(self, name)
            if server is not None:
                server.stop()
                setattr(self, name, None)


def machine_info() -> dict:
    mem_kb = 0
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
    except (OSError, StopIteration):
        pass
    return {
        "date": sh("date -u"),
        "nproc": sh("nproc"),
        "cpu": sh("lscpu | grep 'Model name' | sed 's/Model name:[[:space:]]*//'"),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": sh("uname -r"),
        "loadavg_start": loadavg(),
    }


def versions(extra: tuple[str, ...] = ()) -> dict:
    from importlib import metadata as m

    v = {"python": sys.version.split()[0]}
    for dist in ("flask", "gunicorn", "sqlalchemy", "requests", "redis", "rq", "pillow", *extra):
        try:
            v[dist] = m.version(dist)
        except m.PackageNotFoundError:
            v[dist] = "-"
    v["redis-server"] = sh("redis-server --version | sed 's/.*v=\\([^ ]*\\).*/\\1/'")
    v["sqlite"] = __import__("sqlite3").sqlite_version
    v["repo_commit"] = sh(f"git -C {REPO} rev-parse --short HEAD")
    v["app_dirty"] = (
        sh(f"git -C {REPO} status --porcelain -- app worker.py | wc -l") + " changed files under app/, worker.py"
    )
    return v
