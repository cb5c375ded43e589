"""Issue 20: a SQLite write lock held by another connection stalled the whole web process: SQLite's busy wait
blocked the gevent hub, so `/healthz` took up to 15 s and uploads 28 s against a 10 s busy timeout. The Procfile's
web line, another connection holding the write lock (SQLite: the database; PostgreSQL: the file table): health
answers without waiting for the lock, and every upload waiting on it answers 503 with Retry-After after its own
busy timeout, not after the other requests' waits too."""

from __future__ import annotations

import threading
import time

import requests
from procfile_support import procfile_process
from reliability_support import distinct_jpeg, free_port, tail, wait_http
from test_database_unavailable import write_lock

BUSY_TIMEOUT = 3.0  # DATABASE_BUSY_TIMEOUT of the web line under test
UPLOADS = 6  # waiting on the lock at once, over the line's two worker processes


def test_a_write_lock_stalls_neither_health_nor_the_other_requests(base_settings, tenant, database_url, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "web.log"
    settings = dict(base_settings, public_url=base)
    web = procfile_process("web", settings, log, PORT=str(port), DATABASE_BUSY_TIMEOUT=str(BUSY_TIMEOUT)).start()
    answers: list[tuple[int, str | None, float]] = []

    def upload(n: int) -> None:
        started = time.monotonic()
        answer = requests.post(
            f"{base}/api/files",
            headers=tenant.auth(),
            data={"project_id": tenant.project_id},
            files={"file": (f"{n}.jpg", distinct_jpeg(n))},
            timeout=UPLOADS * BUSY_TIMEOUT * 4,
        )
        answers.append((answer.status_code, answer.headers.get("Retry-After"), time.monotonic() - started))

    try:
        wait_http(f"{base}/healthz", web, timeout=60)
        warm = requests.post(
            f"{base}/api/files",
            headers=tenant.auth(),
            data={"project_id": tenant.project_id},
            files={"file": ("warm.jpg", distinct_jpeg(99))},
            timeout=60,
        )
        assert warm.status_code == 201, warm.text
        health: list[float] = []
        with write_lock(database_url):
            threads = [threading.Thread(target=upload, args=(n,)) for n in range(UPLOADS)]
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads):
                started = time.monotonic()
                assert requests.get(f"{base}/healthz", timeout=UPLOADS * BUSY_TIMEOUT * 4).json() == {"status": "ok"}
                health.append(time.monotonic() - started)
                threads[0].join(BUSY_TIMEOUT / 10)
        print(f"healthz under the lock: {len(health)} probes, max {max(health):.2f} s; uploads {answers}")
        assert sorted(status for status, _, _ in answers) == [503] * UPLOADS, answers
        assert all(retry_after and int(retry_after) > 0 for _, retry_after, _ in answers), answers
        # Each upload waited its own busy timeout, not the others' in turn (before: up to 3 × in one process).
        assert max(elapsed for _, _, elapsed in answers) < 2 * BUSY_TIMEOUT, answers
        # Health never waited for the lock (before: as long as the uploads ahead of it in its process).
        assert max(health) < BUSY_TIMEOUT / 2, health
        assert web.alive() and "Traceback" not in tail(log, 200_000), tail(log)
    finally:
        web.stop()
