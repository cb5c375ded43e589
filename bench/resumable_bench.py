"""Resumable uploads through a link that drops: a large file sent with tuspy via a loopback proxy that cuts the
connection every N MB, against the Procfile's web line (gunicorn, gevent), started by app/devstack.py.

    .venv/bin/python bench/resumable_bench.py                    # 200 MB, a drop every 20 MB, 8 MiB pieces
    .venv/bin/python bench/resumable_bench.py --size-mb 50 --drop-mb 5
    .venv/bin/python bench/resumable_bench.py --size-mb 50 --drop-mb 5 --s3     # storage: moto's S3 server

With `--s3` the storage is S3 (moto's server on loopback, in this process): the upload is a multipart upload whose
parts go as they arrive, and the bench also reports the largest the local spool got (`spool_peak_mib`: at most one
8 MiB part and a piece).

Goals (issue 24): the upload finishes with the same sha256, re-sending at most one piece per drop, and the web
processes' resident memory grows by at most 32 MB. Prints JSON (with the machine's load average); exits 1 when a
goal is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "reliability")]
os.chdir(ROOT)

import requests  # noqa: E402
from reliability_support import settings_env  # noqa: E402
from tusclient import client as tus_client  # noqa: E402

from app import devstack  # noqa: E402

MB = 1_000_000
MiB = 1024 * 1024


def prepare(settings: dict) -> tuple[str, str]:
    """The schema, a workspace, a project and a write token in the throwaway database."""
    os.environ.update(settings_env(settings))
    from flask_migrate import upgrade

    from app import create_app
    from app.domain import accounts
    from app.extensions import db

    app = create_app(dict(settings))
    with app.app_context():
        upgrade()
        app.extensions["storage"].init()
        ws = accounts.create_workspace("Bench")
        prj = accounts.create_project(ws.id, "Website")
        _, token = accounts.create_token(ws.id, "write")
        db.session.commit()
        return token, prj.id


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the gunicorn master and its workers), in MB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            todo += [int(p) for p in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except OSError:
            continue
    return total / MB


class Sampler(threading.Thread):
    """The web processes' peak resident memory, and the largest the resumable spools in `spools` got."""

    def __init__(self, pid: int, spools: Path):
        super().__init__(daemon=True)
        self.pid, self.spools, self.peak, self.spool_peak, self.stop = pid, spools, 0.0, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, tree_rss_mb(self.pid))
            for spool in self.spools.glob("tus-*.part"):
                try:
                    self.spool_peak = max(self.spool_peak, spool.stat().st_size)
                except OSError:
                    continue


def write_random(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        left = size
        while left:
            piece = os.urandom(min(left, 4 * MiB))
            digest.update(piece)
            handle.write(piece)
            left -= len(piece)
    return digest.hexdigest()


def run(args) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="aeontel-tus-bench-"))
    port = devstack.free_port()
    size = args.size_mb * MB
    settings = {
        "database_url": f"sqlite:///{folder / 'db.sqlite'}",
        "instance_dir": str(folder / "instance"),
        "upload_tmp_dir": str(folder / "uploads"),
        "storage_root": str(folder / "storage"),
        "redis_url": f"redis://127.0.0.1:{devstack.free_port()}/0",
        "secret_key": "bench-" + "x" * 40,
        "public_url": f"http://127.0.0.1:{port}",
        "max_upload_bytes": size + MiB,
        "upload_rate_limit": "1000/60",
    }
    moto = None
    if args.s3:
        from moto.server import ThreadedMotoServer

        moto_port = devstack.free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        moto.start()
        settings |= {
            "storage_backend": "s3",
            "s3_endpoint_url": f"http://127.0.0.1:{moto_port}",
            "s3_bucket": "aeontel-bench",
            "s3_access_key_id": "bench",
            "s3_secret_access_key": "bench",
        }
    token, project = prepare(settings)
    source = folder / "big.bin"
    expected = write_random(source, size)
    web = devstack.start_web(settings_env(settings), port, log=folder / "web.log")
    proxy = devstack.CuttingProxy(port, args.drop_mb * MB)
    storage = "s3" if args.s3 else "local"
    result: dict = {
        "storage": storage,
        "size_mb": args.size_mb,
        "drop_every_mb": args.drop_mb,
        "chunk_mib": args.chunk_mib,
    }
    try:
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        before = tree_rss_mb(web.pid)
        sampler = Sampler(web.pid, folder / "uploads")
        sampler.start()
        started = time.monotonic()
        client = tus_client.TusClient(f"{proxy.url}/api/tus", headers={"Authorization": f"Bearer {token}"})
        with source.open("rb") as stream:
            uploader = client.uploader(
                file_stream=stream,
                chunk_size=args.chunk_mib * MiB,
                metadata={"filename": "big.bin", "project_id": project},
                retries=20,
                retry_delay=0.2,
            )
            uploader.upload()
        elapsed = time.monotonic() - started
        sampler.stop.set()
        sampler.join()
        head = requests.head(
            uploader.url.replace(proxy.url, f"http://127.0.0.1:{port}"),
            headers={"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"},
            timeout=30,
        )
        file = requests.get(
            head.headers["Content-Location"], headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).json()
        overhead = proxy.forwarded - size
        result.update(
            seconds=round(elapsed, 1),
            drops=proxy.cuts,
            connections=proxy.connections,
            bytes_beyond_the_file=overhead,
            resent_pieces_per_drop=round(overhead / max(proxy.cuts, 1) / (args.chunk_mib * MiB), 3),
            sha256_matches=file.get("sha256") == expected,
            web_rss_before_mb=round(before, 1),
            web_rss_peak_mb=round(sampler.peak, 1),
            web_rss_growth_mb=round(sampler.peak - before, 1),
            spool_peak_mib=round(sampler.spool_peak / MiB, 1),
            load_average=" ".join(Path("/proc/loadavg").read_text().split()[:3]),
        )
    finally:
        proxy.close()
        web.stop()
        if moto is not None:
            moto.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--drop-mb", type=int, default=20)
    parser.add_argument("--chunk-mib", type=int, default=8)
    parser.add_argument("--s3", action="store_true", help="S3 storage (moto's server): parts go as they arrive")
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=2))
    ok = result["sha256_matches"] and result["resent_pieces_per_drop"] <= 1 and result["web_rss_growth_mb"] <= 32
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
