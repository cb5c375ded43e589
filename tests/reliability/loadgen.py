"""A load generator on loopback against the whole stack, and the stack it runs against.

The stack: a private redis-server, the images stand-in (2 gunicorn workers), the web app under gunicorn with
several workers, two `worker.py` processes, SQLite in a throwaway folder. The clients: threads, each with its own
HTTP session, uploading (bearer token), listing (`GET /api/images`, `GET /api/files`) and opening the gallery
(signed in through the login form). Afterwards it waits for the queue to drain and counts lost uploads: an
upload answered 201 that became neither an image nor a file in `error` with a reason.

Used by `bench/load.py` (60 s, 50 clients) and `tests/reliability/test_reliability_load.py` (short).
"""

from __future__ import annotations

import io
import random
import re
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests
from imagesd_support import ACCOUNT_HASH, ACCOUNT_ID, TOKEN, start_standin, stop_standin
from PIL import Image as PILImage
from reliability_support import (
    Process,
    free_port,
    gunicorn_web,
    loadavg,
    percentile,
    tail,
    wait_http,
    worker_process,
)

from tests.services import RedisProcess

PASSWORD = "load-test-password-1"
ACTIONS = (("upload", 25), ("list_images", 25), ("list_files", 25), ("gallery", 25))


def sample_jpegs(count: int = 16) -> list[bytes]:
    images = []
    for n in range(count):
        out = io.BytesIO()
        image = PILImage.effect_noise((480 + n * 8, 360), 40 + n).convert("RGB")
        image.save(out, "JPEG", quality=80)
        images.append(out.getvalue())
    return images


@dataclass
class Result:
    duration: float
    clients: int
    requests: int = 0
    errors: list = field(default_factory=list)
    latencies: dict = field(default_factory=lambda: defaultdict(list))
    uploaded: list = field(default_factory=list)
    images: int = 0
    failed_with_reason: int = 0
    lost: list = field(default_factory=list)
    drain_seconds: float = 0.0
    load_before: str = ""
    load_after: str = ""
    peak_rss_mb: dict = field(default_factory=dict)

    def summary(self) -> dict:
        everything = [value for name, values in self.latencies.items() if name != "sign_in" for value in values]
        per_action = {
            name: {
                "requests": len(values),
                "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p95_ms": round(percentile(values, 95) * 1000, 1),
                "max_ms": round(max(values) * 1000, 1),
            }
            for name, values in sorted(self.latencies.items())
            if values
        }
        return {
            "duration_s": self.duration,
            "clients": self.clients,
            "requests": self.requests,
            "requests_per_s": round((self.requests - len(self.latencies.get("sign_in", []))) / self.duration, 1),
            "errors": len(self.errors),
            "error_samples": self.errors[:5],
            "uploads_answered_201": len(self.uploaded),
            "images": self.images,
            "failed_with_reason": self.failed_with_reason,
            "lost": len(self.lost),
            "drain_s": round(self.drain_seconds, 1),
            "p50_ms": round(percentile(everything, 50) * 1000, 1),
            "p95_ms": round(percentile(everything, 95) * 1000, 1),
            "per_action": per_action,
            "loadavg_before": self.load_before,
            "loadavg_after": self.load_after,
            "peak_rss_mb": self.peak_rss_mb,
        }


class Stack:
    def __init__(self, workers: int = 2):
        self.dir = Path(tempfile.mkdtemp(prefix="aeontel-load-"))
        self.worker_count = workers
        self.redis = self.standin = self.web = None
        self.workers: list[Process] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> "Stack":
        self.redis = RedisProcess().start()
        self.standin = self.start_images()
        instance = self.dir / "instance"
        self.settings = {
            "instance_dir": str(instance),
            "database_url": f"sqlite:///{instance / 'aeontel.db'}",
            "redis_url": self.redis.url,
            "secret_key": "load-secret",
            "storage_backend": "local",
            "storage_root": str(instance / "storage"),
            "upload_tmp_dir": str(instance / "uploads"),
            "public_url": self.url,
            "images_api_base": f"{self.standin.url}/client/v4",
            "images_account_id": ACCOUNT_ID,
            "images_api_token": TOKEN,
            "images_account_hash": ACCOUNT_HASH,
            "images_delivery_base": self.standin.url,
            # A throughput test, not a test of the limiter (the security suite tests that): no 429s here.
            "upload_rate_limit": "1000000/60",
            "login_rate_limit": "1000000/60",
        }
        self._migrate_and_seed()
        self.web = gunicorn_web(self.settings, self.port, self.dir / "web.log").start()
        for n in range(self.worker_count):
            self.workers.append(worker_process(self.settings, self.dir / f"worker{n}.log", name=f"load-{n}").start())
        wait_http(f"{self.url}/healthz", self.web)
        return self

    def start_images(self):
        """The images stand-in of this stack (bench/outage_bench.py starts one it can stop and start again)."""
        return start_standin()

    def _migrate_and_seed(self) -> None:
        from flask_migrate import upgrade

        from app import create_app
        from app.domain import accounts
        from app.extensions import db

        app = create_app(dict(self.settings))
        with app.app_context():
            upgrade()
            workspace = accounts.create_workspace("Load")
            project = accounts.create_project(workspace.id, "Site")
            accounts.create_user("load@example.com", PASSWORD, workspace.id, "editor")
            _, self.token = accounts.create_token(workspace.id, "write")
            db.session.commit()
            self.workspace_id, self.project_id = workspace.id, project.id
            db.session.remove()
            db.engine.dispose()

    def processes(self) -> dict:
        found = {"web": self.web, "imagesd": Process("imagesd", [], {}, self.standin.log)}
        found["imagesd"].process = self.standin.process
        for n, worker in enumerate(self.workers):
            found[f"worker{n}"] = worker
        return found

    def logs(self) -> tuple:
        return (self.dir / "web.log", *(worker.log for worker in self.workers))

    def stop(self) -> None:
        for process in [self.web, *self.workers]:
            if process is not None:
                process.stop()
        if self.standin is not None:
            stop_standin(self.standin)
        if self.redis is not None:
            self.redis.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Client(threading.Thread):
    def __init__(
        self, stack: Stack, result: Result, lock: threading.Lock, deadline: float, jpegs: list[bytes], seed: int
    ):
        super().__init__(daemon=True)
        self.stack, self.result, self.lock, self.deadline, self.jpegs = stack, result, lock, deadline, jpegs
        self.random = random.Random(seed)
        self.signed_in, self.go, self.clock = threading.Event(), threading.Event(), {}
        self.api = {"Authorization": f"Bearer {stack.token}"}

    def record(self, action: str, started: float, response: requests.Response | None, ok: bool, note: str = ""):
        elapsed = time.monotonic() - started
        with self.lock:
            self.result.requests += 1
            self.result.latencies[action].append(elapsed)
            if not ok:
                status = response.status_code if response is not None else "exception"
                self.result.errors.append(
                    f"{action}: {status} {note or (response.text[:200] if response is not None else '')}"
                )

    def sign_in(self, session: requests.Session) -> None:
        started = time.monotonic()
        page = session.get(f"{self.stack.url}/login", timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = session.post(
            f"{self.stack.url}/login",
            timeout=30,
            allow_redirects=False,
            data={"csrf_token": token, "email": "load@example.com", "password": PASSWORD},
        )
        self.record("sign_in", started, response, response.status_code == 302)

    def run(self) -> None:
        session = requests.Session()
        try:
            self.sign_in(session)
        except requests.RequestException as exc:
            self.record("sign_in", time.monotonic(), None, False, repr(exc))
        self.signed_in.set()
        self.go.wait(300)
        # Waiting for the others may outlast gunicorn's 2 s keep-alive: start the timed part on fresh connections.
        session.close()
        self.deadline = self.clock["deadline"]
        names = [name for name, weight in ACTIONS for _ in range(weight)]
        gallery = f"{self.stack.url}/w/{self.stack.workspace_id}/p/{self.stack.project_id}/content"
        while time.monotonic() < self.deadline:
            action = self.random.choice(names)
            started = time.monotonic()
            try:
                if action == "upload":
                    response = session.post(
                        f"{self.stack.url}/api/files?duplicates=allow",  # a few photos, many uploads: new files each
                        headers=self.api,
                        timeout=60,
                        data={"project_id": self.stack.project_id},
                        files={"file": ("photo.jpg", self.random.choice(self.jpegs))},
                    )
                    ok = response.status_code == 201
                    if ok:
                        with self.lock:
                            self.result.uploaded.append(response.json()["id"])
                elif action == "list_images":
                    response = session.get(
                        f"{self.stack.url}/api/images", headers=self.api, timeout=60, params={"limit": 50}
                    )
                    ok = response.status_code == 200 and "data" in response.json()
                elif action == "list_files":
                    response = session.get(
                        f"{self.stack.url}/api/files", headers=self.api, timeout=60, params={"limit": 50}
                    )
                    ok = response.status_code == 200 and "data" in response.json()
                else:
                    response = session.get(gallery, timeout=60)
                    ok = response.status_code == 200 and "<html" in response.text.lower()
                self.record(action, started, response, ok)
            except requests.RequestException as exc:
                self.record(action, started, None, False, repr(exc))


class RssSampler(threading.Thread):
    def __init__(self, processes: dict):
        super().__init__(daemon=True)
        self.processes, self.peaks, self.stop = processes, defaultdict(float), threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            for name, process in self.processes.items():
                self.peaks[name] = max(self.peaks[name], round(process.rss_mb()))


def settle(stack: Stack, uploaded: list[str]) -> tuple[int, int, list[str]]:
    """(images, failed with a reason, ids still neither) for the uploads answered 201."""
    db_path = stack.settings["database_url"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30) as conn:
        images = {row[0] for row in conn.execute("SELECT file_id FROM image")}
        failed = {
            row[0]
            for row in conn.execute(
                "SELECT id FROM file WHERE status = 'error' AND error_message IS NOT NULL AND error_message != ''"
            )
        }
    conn.close()
    open_ids = [file_id for file_id in uploaded if file_id not in images and file_id not in failed]
    return len(images & set(uploaded)), len(failed & set(uploaded)), open_ids


def run(duration: float = 60, clients: int = 50, drain_timeout: float = 300, report=print) -> Result:
    result = Result(duration=duration, clients=clients)
    stack = Stack()
    try:
        stack.start()
        report(
            f"stack up: web {stack.url} (the Procfile's web line), 2 workers, "
            f"imagesd {stack.standin.url}, redis {stack.redis.url}; load average {loadavg()}"
        )
        sampler = RssSampler(stack.processes())
        sampler.start()
        jpegs = sample_jpegs()
        lock = threading.Lock()
        result.load_before = loadavg()
        threads = [Client(stack, result, lock, 0.0, jpegs, seed) for seed in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:  # everyone signs in first (password hashing is slow on purpose), then the clock runs
            thread.signed_in.wait(300)
        clock = {"deadline": time.monotonic() + duration}
        for thread in threads:
            thread.clock = clock
            thread.go.set()
        for thread in threads:
            thread.join(duration + 120)
        result.load_after = loadavg()
        report(
            f"{result.requests} requests in {duration:.0f} s from {clients} clients, {len(result.errors)} errors, "
            f"{len(result.uploaded)} uploads answered 201; draining the queue"
        )
        started = time.monotonic()
        while True:
            result.images, result.failed_with_reason, open_ids = settle(stack, result.uploaded)
            if not open_ids or time.monotonic() - started > drain_timeout:
                result.lost = open_ids
                break
            time.sleep(0.5)
        result.drain_seconds = time.monotonic() - started
        sampler.stop.set()
        sampler.join()
        result.peak_rss_mb = dict(sampler.peaks)
        for name, process in stack.processes().items():
            if not process.alive():
                result.errors.append(f"{name} died:\n{tail(process.log)}")
        for log in stack.logs():
            text = tail(log, 2_000_000)
            for match in re.finditer(
                r"Traceback \(most recent call last\):\n(?:(?:  .*|\s*|During handling.*|"
                r"The above exception.*|Traceback.*)\n)*(.*)|.*database is locked.*",
                text,
            ):
                result.errors.append(f"{log.name}: {match.group(1) or match.group(0)}"[:500])
        return result
    finally:
        stack.stop()
