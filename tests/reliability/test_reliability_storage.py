"""Storage faults: a full disk and a read-only disk answer a clear 507/503 problem and leave no row, no partial
object and no spool file; the web process SIGKILLed mid-way through a 100 MB upload leaves nothing pending."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from reliability_support import free_port, gunicorn_web, tail, wait_http, wait_until, worker_process
from sqlalchemy import func, select

from app.domain.files import File
from app.extensions import db


def count_files(app) -> int:
    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(File))
        finally:
            db.session.remove()


def leftovers(*directories: Path) -> list[str]:
    """Every regular file under the folders (a partial object, a spool); empty folders do not count."""
    found = []
    for directory in directories:
        for root, _dirs, names in os.walk(directory):
            found.extend(str(Path(root) / name) for name in names)
    return found


@contextmanager
def tmpfs(size: str, read_only: bool = False):
    """A tiny tmpfs of its own (needs root, which the test machine and CI have)."""
    path = Path(tempfile.mkdtemp(prefix="aeontel-tmpfs-"))
    options = f"size={size}" + (",ro" if read_only else "")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, f"cannot mount a tmpfs for the storage-full test (run as root): {result.stderr}"
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
        path.rmdir()


def upload(client, tenant, data: bytes, name: str = "photo.jpg"):
    """A multipart body built here (werkzeug's test client would spool a large one to a file it never closes)."""
    boundary = "storage-fault-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="project_id"\r\n\r\n{tenant.project_id}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        "/api/files", headers=tenant.auth(), data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def assert_problem(response, status: int, code: str):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == code and response.json["detail"]


def test_full_storage_answers_507_and_leaves_nothing(make_app, app, tenant, tmp_path):
    data = os.urandom(3 * 1024 * 1024)  # does not fit in 2 MB
    # 1. Spool and storage on the same full disk: the spool itself cannot be written.
    with tmpfs("2m") as disk:
        full = make_app(storage_root=str(disk / "storage"), upload_tmp_dir=str(disk / "uploads"))
        assert_problem(upload(full.test_client(), tenant, data), 507, "storage_full")
        assert count_files(app) == 0
        assert leftovers(disk) == []
        # Once there is room again (a small file fits), uploads work on the same disk.
        small = upload(full.test_client(), tenant, b"x" * 1000, "note.txt")
        assert small.status_code == 201, small.get_data(as_text=True)
    # 2. Spool on another disk, storage full: the copy into storage fails half-way.
    with tmpfs("2m") as disk:
        full = make_app(storage_root=str(disk), upload_tmp_dir=str(tmp_path / "uploads"))
        assert_problem(upload(full.test_client(), tenant, data), 507, "storage_full")
        assert count_files(app) == 1  # only the small file of step 1
        assert leftovers(disk, tmp_path / "uploads") == []


def test_read_only_storage_answers_503_and_leaves_nothing(make_app, app, tenant, tmp_path):
    with tmpfs("2m", read_only=True) as disk:
        # Storage read-only, spool elsewhere.
        broken = make_app(storage_root=str(disk), upload_tmp_dir=str(tmp_path / "uploads"))
        assert_problem(upload(broken.test_client(), tenant, b"some bytes"), 503, "storage_unavailable")
        assert count_files(app) == 0
        assert leftovers(tmp_path / "uploads") == []
        # The spool folder read-only too: the upload cannot even be received.
        os.makedirs(tmp_path / "storage", exist_ok=True)
        broken = make_app(storage_root=str(tmp_path / "storage"), upload_tmp_dir=str(disk))
        assert_problem(upload(broken.test_client(), tenant, b"some bytes"), 503, "storage_unavailable")
        assert count_files(app) == 0
        assert leftovers(tmp_path / "storage") == []


BIG = 100 * 1024 * 1024
CHUNK = 1024 * 1024


class SlowUpload(threading.Thread):
    """Streams a 100 MB multipart body at about 50 MB/s and stops sending at `pause_at` bytes until told."""

    def __init__(self, port: int, tenant, pause_at: int | None):
        super().__init__(daemon=True)
        self.port, self.tenant, self.pause_at = port, tenant, pause_at
        self.sent = 0
        self.paused = threading.Event()
        self.resume = threading.Event()
        self.response = None
        self.error = None
        boundary = "reliability-boundary"
        self.head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="project_id"\r\n\r\n{tenant.project_id}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.headers = dict(
            tenant.auth(),
            **{
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(self.head) + BIG + len(self.tail)),
            },
        )

    def run(self):
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.putrequest("POST", "/api/files")
            for name, value in self.headers.items():
                connection.putheader(name, value)
            connection.endheaders()
            connection.send(self.head)
            block = b"\xff\xd8\xff\xe0" + os.urandom(CHUNK - 4)
            for _ in range(BIG // CHUNK):
                if self.pause_at is not None and self.sent >= self.pause_at and not self.resume.is_set():
                    self.paused.set()
                    self.resume.wait(30)
                connection.send(block)
                self.sent += len(block)
                time.sleep(0.01)
            connection.send(self.tail)
            response = connection.getresponse()
            self.response = (response.status, response.read())
        except (OSError, http.client.HTTPException) as exc:
            self.error = exc
        finally:
            connection.close()


def test_web_killed_during_a_100mb_upload_leaves_nothing_pending(app, base_settings, tenant, tmp_path):
    """gunicorn (master and workers) is SIGKILLed with 40 MB of a 100 MB body received. The pending row is written
    only after the whole body is spooled, so no row exists; the spool file is left on disk and the worker's
    sweeper removes it once it is older than STALE_UPLOAD_SECONDS."""
    port = free_port()
    uploads_dir, storage_root = tmp_path / "uploads", tmp_path / "storage"
    settings = dict(
        base_settings,
        max_upload_bytes=150 * 1024 * 1024,
        upload_tmp_dir=str(uploads_dir),
        storage_root=str(storage_root),
        public_url=f"http://127.0.0.1:{port}",
    )
    log = tmp_path / "web.log"
    web = gunicorn_web(settings, port, log).start()
    worker = None
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", web)
        client = SlowUpload(port, tenant, pause_at=40 * CHUNK)
        client.start()
        assert client.paused.wait(60), tail(log)
        spools = list(uploads_dir.glob("upload-*.part"))
        assert len(spools) == 1 and spools[0].stat().st_size >= 30 * CHUNK, spools
        web.kill()  # SIGKILL to gunicorn's whole process group, mid-body
        client.resume.set()
        client.join(60)
        assert client.response is None and client.error is not None, "a killed server cannot have answered"
        assert count_files(app) == 0, "no row: the pending row is only written once the body is complete"
        assert [p.name for p in uploads_dir.glob("upload-*.part")] == [spools[0].name], "the partial spool is left"

        # The worker's maintenance pass sweeps it once it is stale.
        worker_log = tmp_path / "worker.log"
        worker = worker_process(settings, worker_log, STALE_UPLOAD_SECONDS="2").start()
        wait_until(
            lambda: not list(uploads_dir.glob("upload-*.part")), 30, "the sweeper to remove the spool", (worker_log,)
        )
        assert leftovers(storage_root) == []
        assert count_files(app) == 0
    finally:
        web.stop()
        if worker is not None:
            worker.stop()


def pending_ids(app) -> list[str]:
    with app.app_context():
        try:
            return list(db.session.scalars(select(File.id).where(File.status == "pending")))
        finally:
            db.session.remove()


def test_web_killed_while_a_100mb_upload_is_pending_is_swept(app, base_settings, tenant, tmp_path):
    """The window after the pending row commits: storage on another disk (a tmpfs), so the 100 MB are copied,
    not renamed; gunicorn is SIGKILLed the moment the pending row shows. The sweeper fails the row with a reason
    and removes the partial object and the spool. (If the copy wins the race the file is simply ready; the
    test then says so, and still checks that nothing is pending or left over.)"""
    port = free_port()
    uploads_dir = tmp_path / "uploads"
    with tmpfs("300m") as storage_root:
        settings = dict(
            base_settings,
            max_upload_bytes=150 * 1024 * 1024,
            upload_tmp_dir=str(uploads_dir),
            storage_root=str(storage_root),
            public_url=f"http://127.0.0.1:{port}",
        )
        log = tmp_path / "web.log"
        web = gunicorn_web(settings, port, log).start()
        worker = None
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", web)
            client = SlowUpload(port, tenant, pause_at=None)
            client.start()
            caught = wait_until(
                lambda: pending_ids(app) or (not client.is_alive() and ["finished"]),
                120,
                "the pending row",
                (log,),
                interval=0.002,
            )
            web.kill()
            client.join(60)
            outcome = "killed while pending" if client.response is None else f"answered {client.response[0]}"
            print(f"100 MB upload: {outcome}; pending seen: {caught}")
            worker_log = tmp_path / "worker.log"
            worker = worker_process(settings, worker_log, STALE_UPLOAD_SECONDS="2").start()
            wait_until(
                lambda: not pending_ids(app) and not list(uploads_dir.glob("upload-*")),
                30,
                "the sweeper to fail the pending upload and remove its spool",
                (worker_log,),
            )
            with app.app_context():
                rows = list(db.session.scalars(select(File)))
                db.session.remove()
            assert len(rows) <= 1
            for row in rows:
                if row.error_code == "upload_interrupted":
                    assert row.status == "error" and "upload the file again" in row.error_message
                    assert leftovers(storage_root) == [], "the partial object is removed"
                else:  # stored before the kill: answered, and then refused as an image (over 10 MB) by the worker
                    assert client.response is not None and client.response[0] == 201
            assert not any(name.endswith(".partial") for name in leftovers(storage_root))
        finally:
            web.stop()
            if worker is not None:
                worker.stop()
