"""The real aeontel stack for the React hooks' tests: started on free ports, seeded, and described on stdout.

Run by `test/global-setup.ts` with the project's Python (`$AEONTEL_PYTHON`, default `<repo>/.venv/bin/python`):

1. a private `redis-server`, the images stand-in (`python -m app.imagesd.cli serve`), the web app under gunicorn
   and `worker.py`, each in its own process started by `app/devstack.py` (the launcher `make dev`, the Python
   tests and the benchmarks use too), all in a temporary `AEONTEL_INSTANCE_DIR` (SQLite inside it);
2. the schema built by the real migrations (`flask_migrate.upgrade`, what `aeontel db upgrade` runs);
3. five workspaces (A, B, C; U for the upload tests, P whose images are private), each with a project and a write and a read token, and a gallery user (a viewer
   in A, an editor in C); small generated JPEGs uploaded through
   `POST /api/files` and waited for until the worker has made them images;
4. one JSON line on stdout (`{"ready": true, "baseUrl": …, "a": {…}, "b": {…}}`), then it waits.

It stops everything and removes the temporary folder on SIGTERM or SIGINT, or when its stdin closes (the test
runner went away). Children get SIGTERM from the kernel if this process dies without cleaning up. Progress and
failures go to stderr; on a failure the logs of the children are printed there too.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app import devstack

REPO = Path(__file__).resolve().parents[3]
IMAGES_A = int(os.environ.get("AEONTEL_TEST_IMAGES", "7"))  # seven images: pages of 3, 3 and 1 at limit=3
IMAGES_B = 2
# Workspace C is the delete tests' own (deleting there leaves A's lists as the other tests expect). Seven images:
# the test that needs the most (4) still finds them when the three tests that delete one each ran before it.
IMAGES_C = 7
SESSION_USER = {"email": "react-tests@example.com", "password": "react tests password"}
START_TIMEOUT = float(os.environ.get("AEONTEL_TEST_START_TIMEOUT", "60"))
PROVISION_TIMEOUT = float(os.environ.get("AEONTEL_TEST_PROVISION_TIMEOUT", "90"))


def log(message: str) -> None:
    print(f"[aeontel test server] {message}", file=sys.stderr, flush=True)


class Stack:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="aeontel-react-test-"))
        self.instance = self.dir / "instance"
        self.instance.mkdir()
        self.images_port, self.web_port = devstack.free_port(), devstack.free_port()
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.images_url = f"http://127.0.0.1:{self.images_port}"
        self.redis = devstack.RedisServer(directory=self.dir / "redis", log=self.dir / "redis.log")
        self.processes: dict[str, devstack.Process] = {}
        self.logs: dict[str, Path] = {"redis": self.dir / "redis.log"}
        self.stopped = threading.Event()
        self.stopping = threading.Lock()
        self.env = dict(os.environ)
        self.env.update({
            "AEONTEL_INSTANCE_DIR": str(self.instance),
            "DATABASE_URL": f"sqlite:///{self.instance / 'aeontel.db'}",
            "REDIS_URL": self.redis.url,
            "SECRET_KEY": "react-tests-secret",
            "PORT": str(self.web_port),
            "PUBLIC_URL": self.base_url,
            "STORAGE_BACKEND": "local",
            "IMAGESD_PUBLIC_URL": self.images_url,
            "IMAGES_API_BASE": f"{self.images_url}/client/v4",
            "IMAGES_DELIVERY_BASE": self.images_url,
            # The stand-in fetches each upload from the web app's signed URL on loopback, as under `make dev`.
            "IMAGESD_FETCH_ALLOW": self.base_url,
            "RELAY_AFTER_SECONDS": "1",
            "RELAY_INTERVAL_SECONDS": "0.5",
            "PYTHONUNBUFFERED": "1",
        })
        # The project's own variables from the caller's shell must not leak into the stack under test.
        for name in ("S3_ENDPOINT_URL", "IMAGES_SIGNING_KEY", "TEST_DATABASE_URL", "IMAGESD_DATA_DIR"):
            self.env.pop(name, None)

    # -- processes (started by app/devstack.py, the launcher `make dev`, the tests and the benchmarks share) ---

    def _log(self, name: str) -> Path:
        self.logs[name] = self.dir / f"{name}.log"
        return self.logs[name]

    def start_services(self) -> None:
        """Redis and the images stand-in: they need no database."""
        self.redis.start(timeout=START_TIMEOUT)
        self.processes["redis"] = self.redis.process
        self.processes["images"] = devstack.start_standin(self.env, self.images_port, self.instance / "imagesd",
                                                          workers=1, threads=4, log=self._log("images"),
                                                          timeout=START_TIMEOUT)

    def start_app(self) -> None:
        """The web app under gunicorn (as the Procfile runs it) and the worker, once the schema is there."""
        # Keep-alive longer than Node's fetch keeps an idle connection (4 s), so the client always closes first
        # and never sends on a connection the server is closing.
        self.processes["web"] = devstack.start_web(self.env, self.web_port, log=self._log("web"),
                                                   timeout=START_TIMEOUT, extra=("--keep-alive", "30"))
        self.processes["worker"] = devstack.start_worker(self.env, f"react-tests-{os.getpid()}",
                                                         log=self._log("worker"), timeout=START_TIMEOUT)

    def check_alive(self) -> None:
        for process in self.processes.values():
            process.check()

    def stop(self) -> None:
        """Idempotent; a second caller waits until the first has finished."""
        with self.stopping:
            if self.stopped.is_set():
                return
            for process in reversed(list(self.processes.values())):
                process.stop()
            shutil.rmtree(self.dir, ignore_errors=True)
            self.stopped.set()

    def dump_logs(self) -> None:
        for name, path in self.logs.items():
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            print(f"----- {name} log (last 4000 characters) -----\n{text[-4000:]}", file=sys.stderr, flush=True)

    # -- the database -----------------------------------------------------------------------------------------

    def migrate_and_seed(self) -> dict:
        """The schema by the real migrations (what `aeontel db upgrade` runs, here in this process to spare the
        machine one more start of the app), then three workspaces A, B, C, each with a project, a write token and
        a read token; A has a second project."""
        os.environ.update(self.env)
        sys.path.insert(0, str(REPO))
        from flask_migrate import upgrade

        from app import create_app
        from app.domain import accounts
        from app.extensions import db

        app = create_app()
        tenants = {}
        with app.app_context():
            # Alembic logs each step to stderr; keep it for a failure only.
            with contextlib.redirect_stderr(io.StringIO()) as said:
                try:
                    upgrade()
                except BaseException:
                    sys.stderr.write(said.getvalue())
                    raise
            for key, name in (("a", "React tests A"), ("b", "React tests B"), ("c", "React tests C"),
                              ("u", "React tests uploads"), ("p", "React tests private"), ("r", "React tests trash"),
                              ("v", "React tests versions"), ("o", "React tests organise")):
                ws = accounts.create_workspace(name)
                prj = accounts.create_project(ws.id, "Website")
                _, write = accounts.create_token(ws.id, "write", "react-tests")
                _, read = accounts.create_token(ws.id, "read", "react-tests")
                tenants[key] = {"workspaceId": ws.id, "projectId": prj.id, "writeToken": write, "readToken": read}
            # Workspace P keeps its images private: delivery only through signed URLs.
            db.session.get(accounts.Workspace, tenants["p"]["workspaceId"]).settings = {"private_images": True}
            tenants["a"]["otherProjectId"] = accounts.create_project(tenants["a"]["workspaceId"], "Blog").id
            # A gallery user for the session-cookie tests: a viewer in A, an editor in C.
            accounts.create_user(SESSION_USER["email"], SESSION_USER["password"], tenants["a"]["workspaceId"], "viewer")
            accounts.create_user(SESSION_USER["email"], SESSION_USER["password"], tenants["c"]["workspaceId"], "editor")
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        return tenants

    # -- images -----------------------------------------------------------------------------------------------

    def upload(self, tenant: dict, name: str, data: bytes, project_id: str | None = None) -> str:
        import requests

        response = requests.post(f"{self.base_url}/api/files?duplicates=allow", timeout=60,
                                 headers={"Authorization": f"Bearer {tenant['writeToken']}"},
                                 data={"project_id": project_id or tenant["projectId"]},
                                 files={"file": (name, data, "image/jpeg")})
        if response.status_code != 201:
            raise RuntimeError(f"upload of {name} answered {response.status_code}: {response.text}")
        return response.json()["id"]

    def failed_upload(self, tenant: dict) -> str:
        """A file whose image failed, for a reason a retry may mend, so that a retry has something to retry."""
        import requests

        file_id = self.upload(tenant, "broken.png", bomb_png())
        deadline = time.monotonic() + PROVISION_TIMEOUT
        while time.monotonic() < deadline:
            self.check_alive()
            file = requests.get(f"{self.base_url}/api/files/{file_id}", timeout=30,
                                headers={"Authorization": f"Bearer {tenant['readToken']}"}).json()
            if (file.get("image") or {}).get("status") == "failed":
                return self._as_passing_failure(file_id)
            time.sleep(0.25)
        raise TimeoutError(f"the broken upload {file_id} did not fail after {PROVISION_TIMEOUT:.0f}s")

    def _as_passing_failure(self, file_id: str) -> str:
        """A bomb's own failure is permanent (no retry); record it as the images service staying away past the
        deadline instead, a failure a retry may mend."""
        from app import create_app
        from app.domain.files import File
        from app.extensions import db

        app = create_app()
        with app.app_context():
            file = db.session.get(File, file_id)
            file.error_code, file.error_message = "images_unavailable", "The images service could not be reached."
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        return file_id

    def wait_for_images(self, tenant: dict, file_ids: list[str]) -> None:
        import requests

        def all_images() -> bool:
            listed = requests.get(f"{self.base_url}/api/images?limit=100", timeout=30,
                                  headers={"Authorization": f"Bearer {tenant['readToken']}"})
            listed.raise_for_status()
            return set(file_ids) <= {item["fileId"] for item in listed.json()["data"]}

        devstack.wait_until(all_images, PROVISION_TIMEOUT, f"{len(file_ids)} uploads becoming images",
                            interval=0.25, check=self.check_alive)


def bomb_png() -> bytes:
    """A PNG that claims 60000 x 60000 pixels: stored as a file, refused as an image (for the retry tests)."""
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def jpeg(index: int, width: int, height: int) -> bytes:
    """A small JPEG of one colour, different for each index (so each has its own dominant colour)."""
    from PIL import Image, ImageDraw

    colour = ((53 * index + 40) % 256, (97 * index + 120) % 256, (151 * index + 200) % 256)
    image = Image.new("RGB", (width, height), colour)
    ImageDraw.Draw(image).rectangle([width // 4, height // 4, width // 2, height // 2], fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def main() -> int:
    stack = Stack()

    def on_signal(signum, _frame):
        if stack.stopping.locked():
            return  # already stopping: let it finish and remove the folder
        stack.stop()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = time.monotonic()
    try:
        log(f"starting in {stack.dir}")
        stack.start_services()
        tenants = stack.migrate_and_seed()  # before the web app and the worker open the database
        stack.start_app()
        from app.config import (
            load_settings,  # the repository is on sys.path since migrate_and_seed
        )
        from app.domain.images_account import apply_account_setup

        settings = load_settings()  # the stack's environment (migrate_and_seed put it in os.environ)
        apply_account_setup(settings.images_api_base, settings.images_account_id, settings.images_api_token)
        log(f"processes up after {time.monotonic() - started:.1f}s; uploading")
        a, b, c, p, r = tenants["a"], tenants["b"], tenants["c"], tenants["p"], tenants["r"]
        sizes = [(64, 48), (48, 64), (80, 45), (40, 40), (72, 54), (50, 90), (96, 64), (30, 60), (60, 30)]
        uploads = [(a, f"photo-{i + 1}.jpg", jpeg(i, *sizes[i % len(sizes)]), None) for i in range(IMAGES_A - 1)]
        uploads.append((a, "blog-header.jpg", jpeg(IMAGES_A, 120, 40), a["otherProjectId"]))
        uploads += [(b, f"b-photo-{i + 1}.jpg", jpeg(20 + i, 32, 32), None) for i in range(IMAGES_B)]
        uploads += [(c, f"c-photo-{i + 1}.jpg", jpeg(30 + i, 40 + 8 * i, 30), None) for i in range(IMAGES_C)]
        uploads.append((p, "private.jpg", jpeg(40, 640, 480), None))
        uploads += [(r, f"r-photo-{i + 1}.jpg", jpeg(50 + i, 40, 40), None) for i in range(2)]
        v = tenants["v"]
        uploads.append((v, "v-photo.jpg", jpeg(60, 48, 32), None))
        o = tenants["o"]
        uploads += [(o, f"o-photo-{i + 1}.jpg", jpeg(70 + i, 36, 36), None) for i in range(2)]
        with ThreadPoolExecutor(3) as pool:
            uploaded = list(pool.map(lambda upload: (upload[0], stack.upload(*upload)), uploads))
        a_ids, b_ids, c_ids = ([file_id for tenant, file_id in uploaded if tenant is t] for t in (a, b, c))
        p_ids = [file_id for tenant, file_id in uploaded if tenant is p]
        r_ids = [file_id for tenant, file_id in uploaded if tenant is r]
        v_ids = [file_id for tenant, file_id in uploaded if tenant is v]
        o_ids = [file_id for tenant, file_id in uploaded if tenant is o]
        tenants["u"]["fileIds"] = []
        for tenant, ids in ((a, a_ids), (b, b_ids), (c, c_ids), (p, p_ids), (r, r_ids), (v, v_ids), (o, o_ids)):
            stack.wait_for_images(tenant, ids)
            tenant["fileIds"] = sorted(ids, reverse=True)  # newest first, as the API lists them (ids are ULIDs)
        c["failedFileId"] = stack.failed_upload(c)
        log(f"ready after {time.monotonic() - started:.1f}s at {stack.base_url}")
        print(json.dumps({"ready": True, "baseUrl": stack.base_url, "imagesUrl": stack.images_url,
                          "pid": os.getpid(),
                          "provisionTimeoutMs": int(PROVISION_TIMEOUT * 1000), "a": a, "b": b, "c": c, "u": tenants["u"], "p": p, "r": r,
                          "v": v, "o": o, "user": SESSION_USER}), flush=True)
    except BaseException as exc:  # noqa: BLE001 - report, clean up, exit non-zero
        log(f"failed: {exc!r}")
        stack.dump_logs()
        stack.stop()
        print(json.dumps({"ready": False, "error": repr(exc)}), flush=True)
        return 1

    # Serve until told to stop, or until the runner that started us is gone (its end of our stdin closes).
    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        stack.stop()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    while not stack.stopped.wait(0.5):
        for name, process in stack.processes.items():
            if process.poll() is not None and not stack.stopping.locked() and not stack.stopped.is_set():
                log(f"{name} exited with {process.poll()} while the tests ran")
                stack.dump_logs()
                stack.stop()
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
