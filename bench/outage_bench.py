"""An outage of the images service during uploads and deletes, at the issue's scale (issue 14).

    .venv/bin/python bench/outage_bench.py                          # 10-minute outage, 100 uploads, 5 deletes
    .venv/bin/python bench/outage_bench.py --outage 60 --uploads 30  # a quick run

The whole stack on loopback with the default retry settings (RETRY_BASE_SECONDS=1, RETRY_CAP_SECONDS=30,
PROVISION_DEADLINE_SECONDS=86400): a private Redis, the images stand-in, gunicorn web, two worker processes, SQLite.
Five images are made first. Then the stand-in is stopped; the five are deleted (each answered 200) and the uploads
arrive spread over the outage; halfway through, Redis is restarted empty. When the outage ends the stand-in starts
again on the same port with the same data, and the clock runs until every upload is an image and every deleted
image answers 404. Prints the figures as JSON (also written to bench/out/outage.json); exits 1 if anything is lost.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "reliability")]
os.chdir(ROOT)

import loadgen  # noqa: E402
import requests  # noqa: E402
from outage_support import PausableStandin  # noqa: E402
from reliability_support import distinct_jpeg, loadavg, standin_listing  # noqa: E402


class OutageStack(loadgen.Stack):
    """The load stack with a stand-in that can be stopped and started again."""

    def start_images(self) -> PausableStandin:
        return PausableStandin().start()

    def stop(self) -> None:
        standin, self.standin = self.standin, None
        try:
            super().stop()
        finally:
            if standin is not None:
                standin.close()


def counts(stack: OutageStack, ids: list[str]) -> tuple[int, int, int]:
    """(images, files failed, provisioning rows waiting) among `ids`."""
    path = stack.settings["database_url"].removeprefix("sqlite:///")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        wanted = set(ids)
        images = {row[0] for row in conn.execute("SELECT file_id FROM image")} & wanted
        failed = {row[0] for row in conn.execute("SELECT id FROM file WHERE status = 'error'")} & wanted
        waiting = {row[0] for row in conn.execute("SELECT file_id FROM image_provisioning WHERE state = 'waiting'")}
        return len(images), len(failed), len(waiting & wanted)
    finally:
        conn.close()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def upload(stack, n: int) -> str:
    response = requests.post(
        f"{stack.url}/api/files",
        headers={"Authorization": f"Bearer {stack.token}"},
        data={"project_id": stack.project_id},
        files={"file": (f"{n}.jpg", distinct_jpeg(n))},
        timeout=60,
    )
    response.raise_for_status()
    return response.json()["id"]


def run(outage: float, uploads: int, deletes: int, timeout: float) -> dict:
    stack = OutageStack(web_workers=2, web_threads=4, workers=2).start()
    auth = {"Authorization": f"Bearer {stack.token}"}
    try:
        doomed = [upload(stack, 10_000 + n) for n in range(deletes)]
        deadline = time.monotonic() + 120
        while counts(stack, doomed)[0] < deletes and time.monotonic() < deadline:
            time.sleep(0.5)
        urls = [stack.standin.delivery(file_id, "public") for file_id in doomed]
        assert all(requests.get(url, timeout=10).status_code == 200 for url in urls), "the images to delete exist"

        log(f"stand-in stopped for {outage:.0f} s; {deletes} deletes, then {uploads} uploads spread over the outage")
        stack.standin.stop()
        began = time.monotonic()
        for file_id in doomed:
            requests.delete(f"{stack.url}/api/images/{file_id}", headers=auth, timeout=30).raise_for_status()
        ids, flushed = [], False
        for n in range(uploads):
            due = began + (n + 1) * outage / (uploads + 1)
            if not flushed and due - began >= outage / 2:
                stack.redis.stop()
                stack.redis.start()  # Redis restarts empty in the middle of the outage
                flushed = True
                log("Redis restarted empty")
            time.sleep(max(0.0, due - time.monotonic()))
            ids.append(upload(stack, n))
        time.sleep(max(0.0, began + outage - time.monotonic()))
        images, failed, waiting = counts(stack, ids)
        log(f"outage over: {images} images, {failed} failed, {waiting} waiting; starting the stand-in")
        during = {"images": images, "failed": failed, "waiting": waiting}

        stack.standin.start()
        back = time.monotonic()
        images_at = removed_at = None
        deadline = back + timeout
        while time.monotonic() < deadline and (images_at is None or removed_at is None):
            if images_at is None and counts(stack, ids)[0] == uploads:
                images_at = time.monotonic() - back
                log(f"all {uploads} uploads are images {images_at:.1f} s after the return")
            if removed_at is None and all(requests.get(url, timeout=10).status_code == 404 for url in urls):
                removed_at = time.monotonic() - back
                log(f"all {deletes} deleted images answer 404 {removed_at:.1f} s after the return")
            time.sleep(0.25)
        images, failed, _ = counts(stack, ids)
        listing = standin_listing(stack.standin)
        copies = [copy["id"] for copy in listing]
        return {
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "cpus": os.cpu_count(),
            "loadavg_after": loadavg(),
            "outage_seconds": outage,
            "uploads": uploads,
            "deletes": deletes,
            "redis_restarted_empty": flushed,
            "during_outage": during,
            "images": images,
            "failed": failed,
            "copies_of_uploads": sum(1 for copy in copies if copy in set(ids)),
            "duplicate_copies": len(copies) - len(set(copies)),
            "deleted_still_listed": sum(1 for copy in copies if copy in set(doomed)),
            "seconds_to_all_images": images_at,
            "seconds_to_deleted_404": removed_at,
            "lost": uploads - images,
        }
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outage", type=float, default=600, help="seconds the images service is down")
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--deletes", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait after the service returns")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "outage.json"))
    args = parser.parse_args()
    result = run(args.outage, args.uploads, args.deletes, args.timeout)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    ok = (
        result["lost"] == 0
        and result["failed"] == 0
        and result["duplicate_copies"] == 0
        and result["deleted_still_listed"] == 0
        and result["seconds_to_deleted_404"] is not None
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
