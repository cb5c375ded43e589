"""Slow clients against a web line: 50 uploads trickling one byte a second, /healthz timed meanwhile.

    .venv/bin/python bench/slow_clients.py                       # the Procfile's web line (gevent)
    .venv/bin/python bench/slow_clients.py --threads             # the former line: gthread, 2 workers x 4 threads

Starts gunicorn on loopback with a throwaway SQLite database (no Redis: the limiter counts in the process), opens
the connections (70 kB at once, then one byte a second; bounded at 90 s), probes /healthz ten times with a 10 s
timeout, and reports how many uploads were inside the app at once, the health latencies, and how long until the
server had closed every slow connection. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "reliability")]
os.chdir(ROOT)

import requests  # noqa: E402
from procfile_support import procfile_line  # noqa: E402
from reliability_support import GUNICORN, Process, free_port, settings_env, wait_http  # noqa: E402
from slow_client_support import SlowUpload, spools  # noqa: E402


def prepare(folder: Path, settings: dict) -> tuple[str, str]:
    os.environ.update(settings_env(settings))
    from flask_migrate import upgrade

    from app import create_app
    from app.domain import accounts
    from app.extensions import db

    app = create_app(dict(settings))
    with app.app_context():
        upgrade()
        ws = accounts.create_workspace("Bench")
        prj = accounts.create_project(ws.id, "Website")
        _, token = accounts.create_token(ws.id, "write")
        db.session.commit()
        return token, prj.id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", action="store_true", help="the former gthread line instead of the Procfile's")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--body-timeout", type=float, default=8)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="aeontel-slow-"))
    port = free_port()
    settings = {
        "database_url": f"sqlite:///{folder / 'db.sqlite'}",
        "instance_dir": str(folder / "instance"),
        "upload_tmp_dir": str(folder / "uploads"),
        "storage_root": str(folder / "storage"),
        "redis_url": f"redis://127.0.0.1:{free_port()}/0",
        "secret_key": "bench-" + "x" * 40,
        "public_url": f"http://127.0.0.1:{port}",
    }
    token, project = prepare(folder, settings)
    env = settings_env(settings, PORT=str(port), BODY_READ_TIMEOUT=str(args.body_timeout), BODY_MIN_RATE="100000")
    env["PATH"] = f"{Path(GUNICORN).parent}{os.pathsep}{env['PATH']}"
    line = procfile_line("web").replace("$PORT", str(port))
    if args.threads:
        line = line.replace("--worker-class gevent --workers 2 --worker-connections 1000", "--workers 2 --threads 4")
    web = Process("web", ["bash", "-c", f"exec {line}"], env, folder / "web.log").start()
    slow, stop = [], threading.Event()
    result = {"line": line, "connections": args.connections, "body_read_timeout": args.body_timeout}
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", web, 60)
        slow.extend(SlowUpload(port, token, project) for _ in range(args.connections))
        started = time.monotonic()

        def trickle():
            while not stop.is_set() and time.monotonic() - started < 90:
                for connection in slow:
                    if not connection.closed:
                        connection.trickle()
                stop.wait(1)

        threading.Thread(target=trickle, daemon=True).start()
        time.sleep(3)  # a benchmark, not a test: give the connections a moment to be accepted
        result["uploads_inside_app_at_once"] = len(spools(folder / "uploads"))
        latencies = []
        for _ in range(10):
            t0 = time.monotonic()
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                latencies.append(round(time.monotonic() - t0, 3))
            except requests.RequestException:
                latencies.append(None)  # no answer within 10 s
        result["healthz_seconds"] = latencies
        while time.monotonic() - started < 90 and not all(c.closed for c in slow):
            time.sleep(0.2)
        result["slow_connections_still_open_after"] = {
            "seconds": round(time.monotonic() - started, 1),
            "open": sum(not c.closed for c in slow),
        }
        result["spools_left"] = len(spools(folder / "uploads"))
    finally:
        stop.set()
        for connection in slow:
            connection.close()
        web.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
