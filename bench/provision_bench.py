#!/usr/bin/env python3
"""Issue 4 performance benchmark: upload → image row latency, 500-upload drain, and RQ per-job overhead.

One command, from the repository root:

    .venv/bin/python bench/provision_bench.py           # about 4-6 minutes
    .venv/bin/python bench/provision_bench.py --help    # --latency-uploads, --throughput-uploads, --classes, ...

In one run it
  1. starts the whole embedded stack in a throwaway dir (bench/stack.py): AEONTEL_INSTANCE_DIR=<tmp>/instance
     (SQLite, LocalStorage, spool, the stand-in's data), a private `redis-server --save ''`, the images stand-in
     (`python -m app.imagesd.cli serve --workers 2`), gunicorn as in the Procfile (2 workers x 4 threads) with
     PUBLIC_URL pointing at it (the stand-in fetches the signed storage URL from it), and `python worker.py`
     [--simple] processes; `aeontel db upgrade` and the CLI create a workspace, a project and a write token;
  2. makes test JPEGs: tests/corpus/mobile_jolla.jpg (8 MP, read in place) plus generated 3, 6 and 12 MP
     photo-like JPEGs (smooth colour noise + gradients + grain, quality 85) in the temp dir; every upload gets a
     different JPEG comment (COM segment) so no two uploads have the same bytes;
  3. latency, for each worker class (RQ's forking `Worker`, `SimpleWorker`) with one worker process: uploads one
     at a time and polls SQLite directly every 5 ms for the image row; p50/p95/max of upload → row, split into
     the upload request and queue+jobs, and per job (file.ready dispatch, image.provision_requested dispatch,
     provision_image) wait and run times from RQ's enqueued_at/started_at/ended_at;
  4. per-job overhead, for each class with one worker: 200 no-op jobs (`app.jobs.events.dispatch_event` of an
     event id that does not exist: returns "missing" at once), one at a time and then all at once;
  5. throughput, for each class with two worker processes: 500 uploads from 4 client threads, time from the first
     upload to the 500th image row; checks every file became an image and has exactly one copy in the stand-in
     (its list API, paged);
  6. prints a table and writes bench/out/provision_bench.md (+ .json). bench/out/ is gitignored.

Every process and temp dir started here is removed in `finally`, also on Ctrl-C, SIGTERM or --max-seconds.
Exit status: 0 all goals met, 1 a goal missed, 2 interrupted.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import signal
import sqlite3
import statistics
import struct
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO)]

from stack import Stack, loadavg, log, machine_info, percentile, versions  # noqa: E402

OUT_DIR = BENCH / "out"
OUT_MD = OUT_DIR / "provision_bench.md"
CORPUS_IMAGE = REPO / "tests" / "corpus" / "mobile_jolla.jpg"
GEN_SIZES = {"3mp": (2048, 1536), "6mp": (3000, 2000), "12mp": (4000, 3000)}
P50_GOAL_MS, P95_GOAL_MS, DRAIN_GOAL_S = 150.0, 400.0, 60.0
NOOP_JOB = "app.jobs.events.dispatch_event"
CLASS_LABEL = {"fork": "Worker (forking)", "simple": "SimpleWorker"}


class TimeLimit(Exception):
    pass


# --------------------------------------------------------------------------------------------- images


def photo_like(size: tuple[int, int], seed: int) -> bytes:
    """Smooth colour blobs + two gradients + fine grain: compresses like a photo (not like noise or flat colour)."""
    from PIL import Image, ImageChops

    random.seed(seed)
    w, h = size
    blobs = Image.merge("RGB", [Image.effect_noise((w // 24 + 2, h // 24 + 2), 70) for _ in range(3)])
    blobs = blobs.resize((w, h), Image.Resampling.BICUBIC)
    grad = Image.linear_gradient("L").resize((w, h), Image.Resampling.BILINEAR)
    grad2 = Image.linear_gradient("L").rotate(90).resize((w, h), Image.Resampling.BILINEAR)
    tint = Image.merge("RGB", [grad, grad2, ImageChops.invert(grad)])
    base = Image.blend(blobs, tint, 0.45)
    grain = Image.effect_noise((w, h), 40).convert("RGB")
    img = Image.blend(base, grain, 0.25)
    exif = Image.Exif()
    exif[0x010F] = "aeontel-bench"  # Make
    exif[0x0110] = f"synthetic {w}x{h}"  # Model
    exif[0x0112] = 1  # Orientation
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def with_comment(jpeg: bytes, text: str) -> bytes:
    """The same JPEG with a COM segment after the APPn segments: different bytes, same pixels."""
    pos = 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF and 0xE0 <= jpeg[pos + 1] <= 0xEF:
        pos += 2 + struct.unpack(">H", jpeg[pos + 2 : pos + 4])[0]
    body = text.encode()
    return jpeg[:pos] + b"\xff\xfe" + struct.pack(">H", len(body) + 2) + body + jpeg[pos:]


def make_images(tmp: Path) -> list[dict]:
    from PIL import Image

    images = []
    for i, (name, size) in enumerate(GEN_SIZES.items()):
        data = photo_like(size, i)
        path = tmp / f"gen-{name}.jpg"
        path.write_bytes(data)
        images.append({"name": f"generated {name}", "file": path.name, "w": size[0], "h": size[1], "bytes": data})
    data = CORPUS_IMAGE.read_bytes()
    with Image.open(io.BytesIO(data)) as im:
        w, h = im.size
    images.insert(2, {"name": "mobile_jolla.jpg (corpus)", "file": str(CORPUS_IMAGE), "w": w, "h": h, "bytes": data})
    for im in images:
        log(
            f"test image {im['name']}: {im['w']}x{im['h']} = {im['w'] * im['h'] / 1e6:.1f} MP, "
            f"{len(im['bytes']) / 1e6:.2f} MB"
        )
    return images


class Uploads:
    """Unique-bytes uploads of the test images, round robin."""

    def __init__(self, stack: Stack, images: list[dict]):
        self.stack, self.images = stack, images
        self.n = 0
        self.lock = threading.Lock()
        self.run_id = uuid.uuid4().hex[:8]

    def next_payload(self) -> tuple[int, dict, bytes]:
        with self.lock:
            self.n += 1
            n = self.n
        img = self.images[n % len(self.images)]
        return n, img, with_comment(img["bytes"], f"aeontel bench {self.run_id} upload {n} {uuid.uuid4().hex}")

    def post(self, session, n: int, data: bytes) -> str:
        r = session.post(
            f"{self.stack.web_url}/api/files",
            headers={"Authorization": f"Bearer {self.stack.ids['token']}"},
            data={"project_id": self.stack.ids["project"]},
            files={"file": (f"bench-{n:05d}.jpg", data, "image/jpeg")},
            timeout=120,
        )
        if r.status_code != 201:
            raise RuntimeError(f"upload {n}: HTTP {r.status_code} {r.text[:300]}")
        return r.json()["id"]


# --------------------------------------------------------------------------------------------- helpers


def db_conn(stack: Stack) -> sqlite3.Connection:
    conn = sqlite3.connect(stack.db_path, timeout=30, isolation_level=None, check_same_thread=False)
    return conn


def wait_quiet(stack: Stack, db: sqlite3.Connection, timeout: float = 5.0) -> None:
    """Until every event is dispatched and the RQ queues are empty (the previous upload's tail jobs are done)."""
    r = stack.redis_client()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            pending = db.execute("SELECT count(*) FROM event WHERE dispatched_at IS NULL").fetchone()[0]
            queued = sum(r.llen(f"rq:queue:{q}") for q in ("events", "images", "default"))
            busy = sum(1 for key in r.smembers("rq:workers") if r.hget(key, "state") in (b"busy",))
            if not pending and not queued and not busy:
                return
            time.sleep(0.01)
        log(f"note: not quiet after {timeout}s ({pending} undispatched events, {queued} queued jobs, {busy} busy)")
    finally:
        r.close()


def settle(stack: Stack) -> None:
    db = db_conn(stack)
    try:
        wait_quiet(stack, db, timeout=60)
    finally:
        db.close()


def epoch(dt: datetime | None) -> float | None:
    return dt.timestamp() if dt is not None else None


def jobs_by_id(stack: Stack, ids: list[str]) -> dict:
    from rq.job import Job

    conn = stack.redis_client()
    try:
        out = {}
        for i in range(0, len(ids), 200):
            for job in Job.fetch_many(ids[i : i + 200], connection=conn):
                if job is not None:
                    out[job.id] = job
        return out
    finally:
        conn.close()


def _finished_ids(stack: Stack, queue_name: str) -> list[str]:
    from rq import Queue
    from rq.registry import FinishedJobRegistry

    conn = stack.redis_client()
    try:
        return FinishedJobRegistry(queue=Queue(queue_name, connection=conn)).get_job_ids()
    finally:
        conn.close()


def provision_jobs(stack: Stack) -> dict[str, object]:
    """file id → its (last finished) provision_image job, from the images queue's finished registry."""
    from rq import Queue
    from rq.registry import FinishedJobRegistry

    conn = stack.redis_client()
    try:
        reg = FinishedJobRegistry(queue=Queue("images", connection=conn))
        ids = reg.get_job_ids()
    finally:
        conn.close()
    out = {}
    for job in jobs_by_id(stack, ids).values():
        if job.func_name == "app.jobs.images.provision_image" and job.args:
            prev = out.get(job.args[0])
            if prev is None or (job.ended_at and prev.ended_at and job.ended_at > prev.ended_at):
                out[job.args[0]] = job
    return out


def event_jobs(stack: Stack, db: sqlite3.Connection, file_ids: list[str]) -> dict[tuple[str, str], object]:
    """(file id, event type) → the dispatch job of that event (job id `event-<event id>`)."""
    rows = []
    for i in range(0, len(file_ids), 500):
        chunk = file_ids[i : i + 500]
        rows += db.execute(
            f"SELECT id, type, subject_id FROM event WHERE subject_id IN ({','.join('?' * len(chunk))})", chunk
        ).fetchall()
    jobs = jobs_by_id(stack, [f"event-{eid}" for eid, _, _ in rows])
    return {(sid, typ): jobs.get(f"event-{eid}") for eid, typ, sid in rows}


def stats(values: list[float]) -> dict:
    s = sorted(v for v in values if v is not None)
    if not s:
        return {"n": 0}
    return {
        "n": len(s),
        "p50": percentile(s, 50),
        "p95": percentile(s, 95),
        "max": s[-1],
        "min": s[0],
        "mean": statistics.fmean(s),
    }


# --------------------------------------------------------------------------------------------- latency


def bench_latency(stack: Stack, uploads: Uploads, kind: str, count: int, warmup: int) -> dict:
    import requests

    db = db_conn(stack)
    samples = []
    la = [loadavg()]
    with requests.Session() as s:
        for i in range(warmup + count):
            n, img, data = uploads.next_payload()
            t0 = time.time()
            file_id = uploads.post(s, n, data)
            t1 = time.time()
            deadline = t1 + 30
            while True:
                if db.execute("SELECT 1 FROM image WHERE file_id = ?", (file_id,)).fetchone():
                    t2 = time.time()
                    break
                if time.time() > deadline:
                    state = db.execute(
                        "SELECT state, attempts, last_error FROM image_provisioning WHERE file_id=?", (file_id,)
                    ).fetchone()
                    raise RuntimeError(f"no image row for {file_id} after 30 s (provisioning: {state})")
                time.sleep(0.005)
            if i >= warmup:
                samples.append(
                    {
                        "file_id": file_id,
                        "image": img["name"],
                        "mp": img["w"] * img["h"] / 1e6,
                        "t0": t0,
                        "t1": t1,
                        "t2": t2,
                    }
                )
            wait_quiet(stack, db)
            time.sleep(0.02)
    la.append(loadavg())
    # Per-job timings from RQ's own timestamps.
    ids = [x["file_id"] for x in samples]
    ev = event_jobs(stack, db, ids)
    prov = provision_jobs(stack)
    db.close()
    for x in samples:
        j1, j2, j3 = (
            ev.get((x["file_id"], "file.ready")),
            ev.get((x["file_id"], "image.provision_requested")),
            prov.get(x["file_id"]),
        )
        for tag, job in (("j1", j1), ("j2", j2), ("j3", j3)):
            if job is not None:
                x[tag] = (epoch(job.enqueued_at), epoch(job.started_at), epoch(job.ended_at))
    ms = lambda a, b: (b - a) * 1000 if a is not None and b is not None else None  # noqa: E731
    parts = {
        "total (upload → row)": [ms(x["t0"], x["t2"]) for x in samples],
        "upload request": [ms(x["t0"], x["t1"]) for x in samples],
        "queue+jobs (response → row)": [ms(x["t1"], x["t2"]) for x in samples],
    }
    for tag, label in (
        ("j1", "file.ready dispatch"),
        ("j2", "provision_requested dispatch"),
        ("j3", "provision_image"),
    ):
        parts[f"{label}: wait (enqueued → started)"] = [ms(x[tag][0], x[tag][1]) if tag in x else None for x in samples]
        parts[f"{label}: run (started → ended)"] = [ms(x[tag][1], x[tag][2]) if tag in x else None for x in samples]
    parts["j1 ended → j2 enqueued"] = [ms(x["j1"][2], x["j2"][0]) if "j1" in x and "j2" in x else None for x in samples]
    parts["j2 ended → j3 started"] = [ms(x["j2"][2], x["j3"][1]) if "j2" in x and "j3" in x else None for x in samples]
    parts["j3 ended → row seen by poller"] = [ms(x["j3"][2], x["t2"]) if "j3" in x else None for x in samples]
    by_image = {}
    for x in samples:
        by_image.setdefault(x["image"], []).append(ms(x["t0"], x["t2"]))
    res = {
        "class": kind,
        "count": len(samples),
        "warmup": warmup,
        "parts": {k: stats(v) for k, v in parts.items()},
        "by_image": {k: stats(v) for k, v in by_image.items()},
        "loadavg": la,
        "samples": samples,
    }
    tot = res["parts"]["total (upload → row)"]
    res["pass"] = tot["p50"] <= P50_GOAL_MS and tot["p95"] <= P95_GOAL_MS
    log(
        f"latency [{CLASS_LABEL[kind]}]: {len(samples)} uploads, p50 {tot['p50']:.0f} ms, p95 {tot['p95']:.0f} ms, "
        f"max {tot['max']:.0f} ms; upload request p50 "
        f"{res['parts']['upload request']['p50']:.0f} ms, queue+jobs p50 "
        f"{res['parts']['queue+jobs (response → row)']['p50']:.0f} ms"
    )
    return res


# --------------------------------------------------------------------------------------------- per-job overhead


def bench_overhead(stack: Stack, kind: str, count: int) -> dict:
    from rq import Queue

    conn = stack.redis_client()
    q = Queue("events", connection=conn)
    missing = lambda: "evt_bench_missing_" + uuid.uuid4().hex[:12]  # noqa: E731

    def wait_done(job_ids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for jid in job_ids:
            while conn.hget(f"rq:job:{jid}", "status") not in (b"finished", b"failed"):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no-op job {jid} not finished after {timeout}s")
                time.sleep(0.001)

    for _ in range(10):  # warm-up
        job = q.enqueue(NOOP_JOB, missing(), result_ttl=600)
        wait_done([job.id], 30)
    la = [loadavg()]
    seq, client_rt = [], []
    for _ in range(count):
        t0 = time.time()
        job = q.enqueue(NOOP_JOB, missing(), result_ttl=600)
        wait_done([job.id], 30)
        client_rt.append((time.time() - t0) * 1000)
        seq.append(job.id)
        time.sleep(0.005)
    t_burst = time.time()
    burst = [q.enqueue(NOOP_JOB, missing(), result_ttl=600).id for _ in range(count)]
    t_enq = time.time()
    wait_done(burst, 120)
    t_done = time.time()
    la.append(loadavg())
    rss = None
    try:
        rss = (
            int(
                next(
                    line for line in open(f"/proc/{stack.workers[0].pid}/status") if line.startswith("VmRSS:")
                ).split()[1]
            )
            / 1024
        )
    except (OSError, StopIteration, IndexError):
        pass
    jobs = jobs_by_id(stack, seq + burst)
    conn.close()
    results = {jobs[j].return_value() for j in seq if j in jobs}

    def part(ids, a, b):
        return stats(
            [
                (epoch(getattr(jobs[j], b)) - epoch(getattr(jobs[j], a))) * 1000
                for j in ids
                if j in jobs and getattr(jobs[j], a) and getattr(jobs[j], b)
            ]
        )

    starts = sorted(epoch(jobs[j].started_at) for j in burst if j in jobs)
    ends = sorted(epoch(jobs[j].ended_at) for j in burst if j in jobs)
    res = {
        "class": kind,
        "count": count,
        "returned": sorted(map(str, results)),
        "loadavg": la,
        "worker_rss_mib": rss,
        "seq_wait": part(seq, "enqueued_at", "started_at"),
        "seq_run": part(seq, "started_at", "ended_at"),
        "seq_total": part(seq, "enqueued_at", "ended_at"),
        "seq_client": stats(client_rt),
        "burst_wall_s": t_done - t_burst,
        "burst_enqueue_s": t_enq - t_burst,
        "burst_per_job_ms": (ends[-1] - starts[0]) * 1000 / max(1, len(starts) - 1) if starts else None,
        "burst_run": part(burst, "started_at", "ended_at"),
        "burst_gap": stats([(starts[i + 1] - ends[i]) * 1000 for i in range(len(starts) - 1)]),
    }
    log(
        f"overhead [{CLASS_LABEL[kind]}]: one at a time enqueued→started p50 {res['seq_wait']['p50']:.1f} ms, "
        f"started→ended p50 {res['seq_run']['p50']:.1f} ms, client round trip p50 {res['seq_client']['p50']:.1f} ms; "
        f"burst of {count}: {res['burst_per_job_ms']:.1f} ms/job, gap between jobs p50 {res['burst_gap']['p50']:.1f} ms "
        f"(returned {res['returned']})"
    )
    return res


# --------------------------------------------------------------------------------------------- throughput


def standin_copies(stack: Stack) -> list[dict]:
    import requests

    out, token = [], None
    url = f"{stack.standin_url}/client/v4/accounts/{stack.account_id}/images/v2"
    while True:
        params = {"per_page": 1000, **({"continuation_token": token} if token else {})}
        r = requests.get(url, params=params, headers={"Authorization": f"Bearer {stack.images_token}"}, timeout=60)
        r.raise_for_status()
        result = r.json()["result"]
        out += result["images"]
        token = result.get("continuation_token")
        if not token:
            return out


def bench_throughput(stack: Stack, uploads: Uploads, kind: str, count: int, threads: int) -> dict:
    import requests

    db = db_conn(stack)
    base = db.execute("SELECT count(*) FROM image").fetchone()[0]
    ids: list[str] = []
    errors: list[str] = []
    left = [count]
    lock = threading.Lock()
    last_upload = [0.0]
    la = [loadavg()]

    def client() -> None:
        with requests.Session() as s:
            while True:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                n, _img, data = uploads.next_payload()
                try:
                    fid = uploads.post(s, n, data)
                except Exception as exc:  # noqa: BLE001
                    with lock:
                        errors.append(str(exc)[:300])
                    continue
                with lock:
                    ids.append(fid)
                    last_upload[0] = time.time()

    t_first = time.time()
    pool = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    curve = []
    t_done = None
    next_la = time.time() + 5
    deadline = t_first + 300
    while time.time() < deadline:
        made = db.execute("SELECT count(*) FROM image").fetchone()[0] - base
        now = time.time()
        curve.append((now - t_first, made, len(ids)))
        if now >= next_la:
            la.append(loadavg())
            next_la = now + 5
        if made >= count:
            t_done = now
            break
        if not any(t.is_alive() for t in pool) and made >= len(ids) and len(ids) < count:
            break  # some uploads failed; every accepted one is an image already
        time.sleep(0.02)
    for t in pool:
        t.join(30)
    la.append(loadavg())
    wait_quiet(stack, db, timeout=30)
    # Checks: every uploaded file has one image row and exactly one copy in the stand-in.
    rows = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows.update(
            dict(
                db.execute(
                    f"SELECT file_id, cf_image_id FROM image WHERE file_id IN ({','.join('?' * len(chunk))})", chunk
                )
            )
        )
    states = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for st, c in db.execute(
            f"SELECT state, count(*) FROM image_provisioning WHERE file_id IN "
            f"({','.join('?' * len(chunk))}) GROUP BY state",
            chunk,
        ):
            states[st] = states.get(st, 0) + c
    attempts = (
        dict(
            db.execute(
                f"SELECT attempts, count(*) FROM image_provisioning WHERE file_id IN "
                f"({','.join('?' * len(ids[:900]))}) GROUP BY attempts",
                ids[:900],
            )
        )
        if ids
        else {}
    )
    db.close()
    # Provision jobs run for these files (the reconciler enqueues again a job queued longer than REQUEUE_AFTER)
    # and SQLite lock timeouts in the workers' logs.
    runs: dict[str, int] = {}
    for job in jobs_by_id(stack, _finished_ids(stack, "images")).values():
        if job.func_name == "app.jobs.images.provision_image" and job.args and job.args[0] in set(ids):
            key = str(job.return_value())
            runs[key] = runs.get(key, 0) + 1
    locked = sum(w.log_path.read_text(errors="replace").count("database is locked") for w in stack.workers)
    copies = standin_copies(stack)
    per_file: dict[str, int] = {}
    for c in copies:
        fid = (c.get("meta") or {}).get("fileId")
        if fid:
            per_file[fid] = per_file.get(fid, 0) + 1
    idset = set(ids)
    one_copy = sum(1 for f in ids if per_file.get(f) == 1)
    dup = sum(1 for f in ids if per_file.get(f, 0) > 1)
    none = sum(1 for f in ids if f not in per_file)
    ids_match = sum(1 for f in ids if rows.get(f) == f)
    res = {
        "class": kind,
        "count": count,
        "threads": threads,
        "accepted": len(ids),
        "errors": errors[:5],
        "n_errors": len(errors),
        "upload_s": last_upload[0] - t_first if ids else None,
        "drain_s": (t_done - t_first) if t_done else None,
        "images": len(rows),
        "states": states,
        "attempts": attempts,
        "one_copy": one_copy,
        "dup_copies": dup,
        "no_copy": none,
        "cf_id_is_file_id": ids_match,
        "standin_total": len(copies),
        "standin_foreign": sum(1 for f in per_file if f not in idset),
        "loadavg": la,
        "curve": curve[:: max(1, len(curve) // 60)],
        "provision_job_results": runs,
        "db_locked_errors": locked,
    }
    res["all_ok"] = len(ids) == count and len(rows) == count and one_copy == count
    res["pass"] = res["all_ok"] and t_done is not None and res["drain_s"] <= DRAIN_GOAL_S
    log(
        f"throughput [{CLASS_LABEL[kind]} x2]: {len(ids)}/{count} uploads accepted in {res['upload_s'] or 0:.1f} s; "
        f"500th image row at {res['drain_s'] if t_done else float('nan'):.1f} s; images {len(rows)}; "
        f"exactly one stand-in copy: {one_copy}, duplicates {dup}, missing {none}; states {states}"
    )
    return res


# --------------------------------------------------------------------------------------------- in-process step timing


def bench_steps(stack: Stack, uploads: Uploads, per_image: int) -> dict:
    """With no worker running: upload files, then run the two dispatches and provision() in this process, timing
    each step by wrapping module functions in this process only (the app code is not changed)."""
    import os

    import requests
    from sqlalchemy import text as sql_text

    stack.stop_workers()
    os.environ.update(stack.base_env())
    from app import create_app
    from app.domain import events
    from app.domain import images as img_mod
    from app.domain.pictures import placeholder as placeholder_fn
    from app.domain.pictures import read_header
    from app.extensions import db
    from app.imagesd.probe import probe

    app = create_app()
    timings: dict[str, list[float]] = {}
    current = {}

    def timed(name, func):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return func(*a, **kw)
            finally:
                timings.setdefault(f"{current['image']}|{name}", []).append((time.perf_counter() - t) * 1000)

        return wrapper

    saved = {n: getattr(img_mod, n) for n in ("_inspect", "_ensure_copy", "_placeholder", "_finish")}
    with app.app_context():
        client = app.extensions["images"]
        storage = app.extensions["storage"]
        saved_upload = client.upload_url
        for n in saved:
            setattr(
                img_mod,
                n,
                timed(
                    {
                        "_inspect": "header + EXIF read (_inspect)",
                        "_ensure_copy": "stand-in copy (_ensure_copy, incl. commit)",
                        "_placeholder": "placeholder decode + BlurHash (_placeholder)",
                        "_finish": "finish: placeholder + row + event + commit (_finish)",
                    }[n],
                    saved[n],
                ),
            )
        client.upload_url = timed("  of which upload_url round trip (stand-in fetch + probe + store)", saved_upload)
        try:
            with requests.Session() as s:
                for _i in range(per_image * len(uploads.images)):
                    n, image, data = uploads.next_payload()
                    current["image"] = image["name"]
                    file_id = uploads.post(s, n, data)
                    ev = dict(
                        db.session.execute(
                            sql_text("SELECT type, id FROM event WHERE subject_id = :f"), {"f": file_id}
                        ).all()
                    )
                    db.session.remove()
                    timed("dispatch file.ready", events.dispatch)(ev["file.ready"])
                    db.session.remove()
                    ev = dict(
                        db.session.execute(
                            sql_text("SELECT type, id FROM event WHERE subject_id = :f"), {"f": file_id}
                        ).all()
                    )
                    db.session.remove()
                    timed("dispatch image.provision_requested", events.dispatch)(ev["image.provision_requested"])
                    db.session.remove()
                    out = timed("provision() total", img_mod.provision)(file_id)
                    db.session.remove()
                    if out != "created":
                        raise RuntimeError(f"provision({file_id}) returned {out}")
                    ev = dict(
                        db.session.execute(
                            sql_text("SELECT type, id FROM event WHERE subject_id = :f"), {"f": file_id}
                        ).all()
                    )
                    db.session.remove()
                    events.dispatch(ev["image.created"])  # so that no event is left undispatched
                    db.session.remove()
                    key = db.session.execute(
                        sql_text("SELECT storage_key FROM file WHERE id = :f"), {"f": file_id}
                    ).scalar()
                    db.session.remove()
                    url = storage.signed_url(key, 60)
                    t = time.perf_counter()
                    body = s.get(url, timeout=30).content
                    timings.setdefault(f"{image['name']}|(separately) GET signed storage URL from web", []).append(
                        (time.perf_counter() - t) * 1000
                    )
                    t = time.perf_counter()
                    probe(body)
                    timings.setdefault(f"{image['name']}|(separately) stand-in probe() incl. 1/8 decode", []).append(
                        (time.perf_counter() - t) * 1000
                    )
                    path = storage.path(key)
                    with open(path, "rb") as fh:
                        t = time.perf_counter()
                        read_header(fh)
                        timings.setdefault(f"{image['name']}|(separately) read_header()", []).append(
                            (time.perf_counter() - t) * 1000
                        )
                    with open(path, "rb") as fh:
                        t = time.perf_counter()
                        placeholder_fn(fh)
                        timings.setdefault(f"{image['name']}|(separately) placeholder()", []).append(
                            (time.perf_counter() - t) * 1000
                        )
        finally:
            for n, f in saved.items():
                setattr(img_mod, n, f)
            client.upload_url = saved_upload
            db.session.remove()
            db.engine.dispose()
    # The dispatches above also enqueued their jobs in Redis; the next workers run them at once (they find the events
    # dispatched and the images made, and return): start_workers() below waits for that before measuring.
    table: dict[str, dict[str, float]] = {}
    for key, vals in timings.items():
        image, step = key.split("|", 1)
        table.setdefault(step, {})[image] = statistics.median(vals)
    log(
        "in-process steps (median ms): "
        + "; ".join(
            f"{step}: "
            + ", ".join(f"{k.split()[1] if k.startswith('generated') else 'jolla'} {v:.0f}" for k, v in per.items())
            for step, per in table.items()
        )
    )
    return {"per_image": per_image, "median_ms": table, "loadavg": loadavg()}


# --------------------------------------------------------------------------------------------- py-spy

KEY_FRAMES = (
    ("os.fork / fork_work_horse", ("fork_work_horse",)),
    ("wait for horse (parent, wait4)", ("wait_for_horse",)),
    ("perform_job (the job incl. RQ finalize)", ("perform_job",)),
    ("job.perform (the job function)", ("perform (rq/job.py",)),
    ("dequeue (BLPOP/BLMOVE wait)", ("dequeue_job_and_maintain_ttl",)),
    ("provision()", ("provision (app/domain/images.py",)),
    ("upload_url → stand-in", ("upload_url",)),
    ("_placeholder", ("_placeholder",)),
    ("read_header", ("read_header",)),
    ("SQLite commit", ("commit (sqlalchemy",)),
    ("engine connect (new SQLite connection)", ("_sqlite_pragmas",)),
    ("maintenance relay thread", ("run_maintenance_once",)),
)


class PySpy:
    """`py-spy record --subprocesses --format raw` on the single worker; summarised into `spy[title]`."""

    def __init__(self, stack: Stack, enabled: bool, title: str, spy: dict):
        self.stack, self.enabled, self.title, self.spy = stack, enabled, title, spy
        self.proc = None

    def __enter__(self):
        import subprocess

        exe = REPO / ".venv" / "bin" / "py-spy"
        if not self.enabled or not exe.exists() or not self.stack.workers:
            return self
        self.out = self.stack.tmp / f"pyspy-{self.title}.txt"
        self.proc = subprocess.Popen(
            [
                str(exe),
                "record",
                "--pid",
                str(self.stack.workers[0].pid),
                "--subprocesses",
                "--rate",
                "250",
                "--format",
                "raw",
                "--nonblocking",
                "-o",
                str(self.out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
        return self

    def __exit__(self, *exc):
        if self.proc is None:
            return False
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except Exception:  # noqa: BLE001
            self.proc.kill()
            self.proc.wait(5)
        try:
            lines = self.out.read_text().splitlines()
        except OSError:
            return False
        total, hits, leaves = 0, {k: 0 for k, _ in KEY_FRAMES}, {}
        for line in lines:
            stack_, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            c = int(count)
            total += c
            for name, needles in KEY_FRAMES:
                if any(n in stack_ for n in needles):
                    hits[name] += c
            leaf = stack_.split(";")[-1]
            leaves[leaf] = leaves.get(leaf, 0) + c
        if not total:
            return False
        OUT_DIR.mkdir(exist_ok=True)
        shutil.copy(self.out, OUT_DIR / self.out.name)
        rows = ["| frame on the stack | share of samples |", "|---|---|"]
        rows += [f"| {k} | {v / total * 100:.1f}% |" for k, v in hits.items() if v]
        top = sorted(leaves.items(), key=lambda kv: -kv[1])[:8]
        rows += ["", "Top leaf frames: " + "; ".join(f"`{k[:90]}` {v / total * 100:.1f}%" for k, v in top)]
        self.spy[self.title] = f"{total} on-CPU samples at 250 Hz (bench/out/{self.out.name})\n\n" + "\n".join(rows)
        return False


# --------------------------------------------------------------------------------------------- report


def pf(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def f1(v) -> str:
    return "–" if v is None or v != v else f"{v:.1f}"


def f0(v) -> str:
    return "–" if v is None or v != v else f"{v:.0f}"


def render(
    machine: dict,
    vers: dict,
    images: list[dict],
    lat: list[dict],
    ovh: list[dict],
    thr: list[dict],
    cmd: str,
    stack_cmds: dict,
    findings: str,
    steps: dict | None = None,
    spy: dict | None = None,
) -> str:
    L = ["## Provisioning (issue 4): upload → image row latency, 500-upload drain, RQ per-job overhead", ""]
    L.append(
        f"Run `{cmd}` — {machine['date']}; {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory']} RAM, "
        f"kernel {machine['kernel']}; load average at start {machine['loadavg_start']}, at end "
        f"{machine.get('loadavg_end', '?')} (per phase below)."
    )
    L.append("")
    L.append("Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()) + ".")
    L.append("")
    L.append(
        "Stack (all in a throwaway `AEONTEL_INSTANCE_DIR`): SQLite (WAL) + LocalStorage, private "
        f"`redis-server --save ''`, the stand-in `{stack_cmds['standin']}`, web `{stack_cmds['web']}` with "
        "`PUBLIC_URL` = the web app (the stand-in fetches the signed storage URL from it), and "
        "`python worker.py --fork` / `python worker.py --simple` (relay interval 2 s, as configured). **The machine is "
        "shared (2 cores) with other engineers' tests: every time here is noisy; compare the load averages.**"
    )
    L.append("")
    L.append(
        "Test images (each upload carries a different JPEG comment, so no two uploads have the same bytes): "
        + "; ".join(
            f"{im['name']} {im['w']}×{im['h']} ({im['w'] * im['h'] / 1e6:.1f} MP, {len(im['bytes']) / 1e6:.2f} MB)"
            for im in images
        )
        + "."
    )
    L.append("")
    if lat:
        L.append(
            f"### Upload → image row latency, one worker — goal p50 ≤ {P50_GOAL_MS:.0f} ms, p95 ≤ {P95_GOAL_MS:.0f} ms"
        )
        L.append("")
        L.append(
            "One upload at a time (`POST /api/files`, one keep-alive session), the image row polled in SQLite "
            "every 5 ms from this script; the next upload starts once every event is dispatched and the queues "
            f"are empty. {lat[0]['warmup']} untimed warm-up uploads per class. Job rows: RQ's own "
            "`enqueued_at`/`started_at`/`ended_at` (for the forking `Worker`, `started_at` is set in the work "
            "horse, so the fork is inside *wait*)."
        )
        L.append("")
        L.append(
            "| worker class | uploads | **p50 ms** | **p95 ms** | max ms | upload request p50 / p95 ms "
            "| queue+jobs p50 / p95 ms | load avg (start → end) | goal |"
        )
        L.append("|---|---|---|---|---|---|---|---|---|")
        for r in lat:
            p = r["parts"]
            t, u, q = p["total (upload → row)"], p["upload request"], p["queue+jobs (response → row)"]
            L.append(
                f"| {CLASS_LABEL[r['class']]} | {r['count']} | **{f0(t['p50'])}** | **{f0(t['p95'])}** | "
                f"{f0(t['max'])} | {f0(u['p50'])} / {f0(u['p95'])} | {f0(q['p50'])} / {f0(q['p95'])} | "
                f"{r['loadavg'][0]} → {r['loadavg'][-1]} | {pf(r['pass'])} |"
            )
        L.append("")
        L.append("Where the time goes (ms, p50 / p95 per step):")
        L.append("")
        L.append("| step | " + " | ".join(CLASS_LABEL[r["class"]] for r in lat) + " |")
        L.append("|---|" + "---|" * len(lat))
        for key in lat[0]["parts"]:
            L.append(
                f"| {key} | "
                + " | ".join(f"{f1(r['parts'][key].get('p50'))} / {f1(r['parts'][key].get('p95'))}" for r in lat)
                + " |"
            )
        L.append("")
        L.append(
            "By image (upload → row, p50 / max ms): "
            + "; ".join(
                f"{CLASS_LABEL[r['class']]}: "
                + ", ".join(f"{k} {f0(v['p50'])} / {f0(v['max'])}" for k, v in r["by_image"].items())
                for r in lat
            )
            + "."
        )
        L.append("")
    if ovh:
        L.append("### Per-job overhead of the RQ worker class (one worker, no-op job)")
        L.append("")
        L.append(
            f"`{NOOP_JOB}` with an event id that does not exist (one UPDATE that matches nothing, a rollback, a "
            f'SELECT: returns "missing"); 10 warm-up jobs, then {ovh[0]["count"]} one at a time (the client '
            f"polls the job's status every 1 ms), then {ovh[0]['count']} enqueued at once."
        )
        L.append("")
        L.append(
            "| worker class | one at a time: enqueued→started p50 / p95 ms | started→ended p50 / p95 ms | "
            "enqueued→ended p50 / p95 ms | client round trip p50 ms | burst: **ms per job** | burst: gap "
            "ended→next started p50 ms | burst wall s | worker RSS MiB | load avg |"
        )
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in ovh:
            L.append(
                f"| {CLASS_LABEL[r['class']]} | {f1(r['seq_wait']['p50'])} / {f1(r['seq_wait']['p95'])} | "
                f"{f1(r['seq_run']['p50'])} / {f1(r['seq_run']['p95'])} | {f1(r['seq_total']['p50'])} / "
                f"{f1(r['seq_total']['p95'])} | {f1(r['seq_client']['p50'])} | **{f1(r['burst_per_job_ms'])}** | "
                f"{f1(r['burst_gap']['p50'])} | {r['burst_wall_s']:.2f} | {f0(r['worker_rss_mib'])} | {r['loadavg'][0]} → "
                f"{r['loadavg'][-1]} |"
            )
        L.append("")
    if thr:
        L.append(
            f"### {thr[0]['count']} uploads drained by two workers — goal ≤ {DRAIN_GOAL_S:.0f} s, every upload an "
            "image with exactly one stand-in copy"
        )
        L.append("")
        L.append(
            f"{thr[0]['threads']} client threads upload as fast as they can (round robin over the test images) "
            "while two `worker.py` processes work; time from the first upload request to the moment the "
            f"{thr[0]['count']}th image row exists (SQLite polled every 20 ms). Copies counted with the "
            "stand-in's `GET …/images/v2?per_page=1000` (paged), by `meta.fileId`."
        )
        L.append("")
        L.append(
            "| worker class ×2 | accepted | uploads done at s | **last image row at s** | image rows | exactly one "
            "copy | duplicate copies | no copy | provisioning states | provision_image jobs run (result: count) "
            "| worker log 'database is locked' | 1-min load avg start / max / end | goal |"
        )
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in thr:
            L.append(
                f"| {CLASS_LABEL[r['class']]} | {r['accepted']} | {f1(r['upload_s'])} | **{f1(r['drain_s'])}** | "
                f"{r['images']} | {r['one_copy']} | {r['dup_copies']} | {r['no_copy']} | "
                f"{json.dumps(r['states'])} | {json.dumps(r.get('provision_job_results', {}))} | "
                f"{r.get('db_locked_errors', '–')} | {r['loadavg'][0].split()[0]} / "
                f"{max(float(x.split()[0]) for x in r['loadavg']):.2f} / {r['loadavg'][-1].split()[0]} | "
                f"{pf(r['pass'])} |"
            )
        L.append("")
    if steps:
        names = [im["name"] for im in images]
        L.append("### provision_image step by step (in-process, no worker running) — where the job's time goes")
        L.append("")
        L.append(
            f"{steps['per_image']} uploads per image; with no worker running, this script runs the two "
            "dispatches and `images.provision()` in its own process (create_app with the same settings), timing "
            "each step by wrapping the module functions in this process only. The `(separately)` rows repeat "
            "one piece on the same file outside the job. Median ms; load average after: "
            f"{steps['loadavg']}."
        )
        L.append("")
        L.append("| step | " + " | ".join(names) + " |")
        L.append("|---|" + "---|" * len(names))
        for step, per in steps["median_ms"].items():
            L.append(f"| {step} | " + " | ".join(f1(per.get(n)) for n in names) + " |")
        L.append("")
    if spy:
        L.append("### py-spy (sampled worker processes, incl. forked work horses)")
        L.append("")
        for title, text in spy.items():
            L.append(f"**{title}**")
            L.append("")
            L.append(text)
            L.append("")
    if findings:
        L.append(findings)
        L.append("")
    return "\n".join(L) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--classes", default="fork,simple", help="worker classes to measure (default fork,simple)")
    ap.add_argument("--latency-uploads", type=int, default=48, help="timed uploads per class (default 48)")
    ap.add_argument("--warmup", type=int, default=4, help="untimed warm-up uploads per class (default 4)")
    ap.add_argument("--throughput-uploads", type=int, default=500, help="uploads in the drain test (default 500)")
    ap.add_argument("--client-threads", type=int, default=4, help="upload threads in the drain test (default 4)")
    ap.add_argument("--noop-jobs", type=int, default=200, help="no-op jobs per class (default 200)")
    ap.add_argument("--skip", default="", help="comma list of phases to skip: steps,latency,overhead,throughput")
    ap.add_argument("--steps-per-image", type=int, default=4, help="in-process step timing uploads per image")
    ap.add_argument(
        "--py-spy",
        action="store_true",
        help="sample the worker with py-spy in latency/overhead phases (slows them: profile runs only)",
    )
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (logs) for inspection")
    ap.add_argument("--max-seconds", type=int, default=1200, help="hard limit for the whole run (default 1200)")
    ap.add_argument("--no-write", action="store_true", help="do not write bench/out/provision_bench.md")
    args = ap.parse_args()
    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    if any(c not in CLASS_LABEL for c in classes):
        ap.error("--classes takes fork and/or simple")
    skip = set(filter(None, args.skip.split(",")))

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    def on_alarm(_signum, _frame):
        raise TimeLimit(f"time limit of {args.max_seconds}s reached")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.max_seconds)

    machine, vers = machine_info(), versions(("blurhash", "pillow-heif"))
    tmp = Path(tempfile.mkdtemp(prefix="aeontel-provision-bench-"))
    stack = Stack(tmp)
    lat, ovh, thr, images = [], [], [], []
    steps, spy = None, {}
    rc = 0
    try:
        if not CORPUS_IMAGE.is_file():
            raise SystemExit(f"missing {CORPUS_IMAGE}")
        images = make_images(tmp)
        stack.start_redis()
        stack.setup_data()
        stack.start_standin()
        stack.start_web()
        uploads = Uploads(stack, images)
        if "steps" not in skip:
            steps = bench_steps(stack, uploads, args.steps_per_image)
        for kind in classes:
            if not {"latency", "overhead"} <= skip:
                stack.start_workers(1, simple=kind == "simple")
                settle(stack)
                if "latency" not in skip:
                    with PySpy(stack, args.py_spy, f"latency-{kind}", spy):
                        lat.append(bench_latency(stack, uploads, kind, args.latency_uploads, args.warmup))
                if "overhead" not in skip:
                    with PySpy(stack, args.py_spy, f"overhead-{kind}", spy):
                        ovh.append(bench_overhead(stack, kind, args.noop_jobs))
        for kind in classes:
            if "throughput" not in skip:
                stack.start_workers(2, simple=kind == "simple")
                settle(stack)
                thr.append(bench_throughput(stack, uploads, kind, args.throughput_uploads, args.client_threads))
        stack.stop_workers()
    except (KeyboardInterrupt, TimeLimit) as exc:
        log(f"stopped: {exc!r}")
        rc = 2
    finally:
        signal.alarm(0)
        stack_cmds = {
            "standin": " ".join(getattr(stack, "standin_cmd", [])).replace(str(REPO / ".venv/bin") + "/", ""),
            "web": " ".join(getattr(stack, "gunicorn_cmd", []))
            .replace(str(REPO / ".venv/bin") + "/", "")
            .replace("app:create_app()", '"app:create_app()"'),
        }
        stack.stop_all()
        if args.keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        log(f"stopped every server{'' if args.keep_tmp else f' and removed {tmp}'}")

    machine["loadavg_end"] = loadavg()
    findings_path = OUT_DIR / "provision_findings.md"
    findings = findings_path.read_text() if findings_path.is_file() else ""
    cmd = ".venv/bin/python bench/provision_bench.py" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    md = render(machine, vers, images, lat, ovh, thr, cmd, stack_cmds, findings, steps, spy)
    print()
    print(md)
    if not args.no_write and (lat or ovh or thr):
        OUT_DIR.mkdir(exist_ok=True)
        OUT_MD.write_text(md)
        (OUT_DIR / "provision_bench.json").write_text(
            json.dumps(
                {
                    "machine": machine,
                    "versions": vers,
                    "steps": steps,
                    "latency": lat,
                    "overhead": ovh,
                    "throughput": thr,
                    "py_spy": spy,
                },
                indent=2,
                default=str,
            )
        )
        log(f"wrote {OUT_MD.relative_to(REPO)} and provision_bench.json")
    if rc:
        return rc
    return 0 if all(r["pass"] for r in lat + thr) and (lat or thr) else 1


if __name__ == "__main__":
    sys.exit(main())
