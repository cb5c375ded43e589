#!/usr/bin/env python3
"""Issue 5 performance benchmark: `GET /api/images?limit=50` with 100,000 images in one workspace.

One command, from the repository root (about 3-6 minutes on the shared 2-core machine):

    .venv/bin/python bench/list_bench.py                  # SQLite and PostgreSQL
    .venv/bin/python bench/list_bench.py --help           # --rows, --requests, --backends, --pg-url, --no-write

For each backend (SQLite file in a throwaway dir; a throwaway database `aeontel_bench_<hex>` on the PostgreSQL
server at --pg-url, created and dropped here as tests/services.py `throwaway_database` does) it
  1. builds the schema with the real migrations (`aeontel db upgrade`, AEONTEL_INSTANCE_DIR=<tmp>/instance);
  2. creates a workspace, a project and a read token with the domain functions, then bulk-inserts --rows
     file + image rows (plus --other rows in a second workspace, interleaved in time) with SQLAlchemy Core in
     batches; ids come from `app.domain.common.new_id` on a clock that moves forward, so they sort by upload time
     as real ones do. PostgreSQL gets ANALYZE afterwards (what autovacuum would do); SQLite gets nothing extra;
  3. records the exact SQL the endpoint runs and prints its plan (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE);
  4. server time, in-process: Flask test client, `time.perf_counter()` around each request, --requests requests
     per case after a warm-up, p50/p95. Cases: keyset first page; keyset page after 90,000 rows (a signed cursor
     made by `queries.sign_cursor` for the 90,000th newest id, checked against the API's own cursors for the first
     pages and against the offset page); OFFSET 0 and OFFSET 90000 through the same auth, query shape and
     serializer (a route this script adds to its own app, `/bench/offset-images`); `sort=name` and `sort=-size`,
     first page and after 90,000 rows (keyset on (sort key, id)); the first page with `count=true`;
  5. the same four cases over HTTP through gunicorn (the Procfile's 2 workers x 4 threads, keep-alive session)
     for context: client-side latency, p50/p95;
  6. prints a table and writes bench/out/list_bench.md (pass/fail per goal) and bench/out/list_bench.json.

Goals (issue 5): keyset p50 <= 20 ms server time on the first page and after 90,000 rows, on both backends, and
the two within 2x of each other; issue 16 holds the sorted lists to the same goals after 90,000 rows. Exits 1 if a goal is missed. Every process, database and temp dir made here is
removed in `finally` (also on Ctrl-C, SIGTERM or --max-seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO)]

from stack import SCRUB_ENV, VENV_BIN, Server, free_port, loadavg, log, machine_info, percentile, versions  # noqa: E402

OUT_DIR = BENCH / "out"
OUT_MD = OUT_DIR / "list_bench.md"
OUT_JSON = OUT_DIR / "list_bench.json"
GOAL_MS = 20.0
GOAL_RATIO = 2.0
DEEP = 90_000
PAGE = 50
# A port nothing listens on: the list endpoint must not need Redis, and if anything tried, it would show.
NO_REDIS = "redis://127.0.0.1:9/0"


class TimeLimit(Exception):
    pass


# --------------------------------------------------------------------------------------------- seeding


class Clock:
    """Stands in for the `time` module inside `app.domain.common` so `new_id` stamps ids with our own times."""

    def __init__(self, millis: int):
        self.millis = millis

    def time_ns(self) -> int:
        return self.millis * 1_000_000


@contextmanager
def id_clock(start_millis: int):
    """`new_id` unchanged, but reading a clock we move forward ourselves."""
    from app.domain import common

    real = common.time
    clock = Clock(start_millis)
    common.time = clock
    try:
        yield clock
    finally:
        common.time = real


CAMERAS = [
    ("Canon", "Canon EOS 40D"),
    ("NIKON CORPORATION", "NIKON D70"),
    ("Apple", "iPhone 15 Pro"),
    ("SONY", "ILCE-7M3"),
    ("FUJIFILM", "X-T4"),
    ("Google", "Pixel 8"),
]
WORDS = [
    "beach",
    "team",
    "product",
    "hero",
    "banner",
    "office",
    "launch",
    "portrait",
    "event",
    "street",
    "logo",
    "summer",
    "winter",
    "city",
    "studio",
    "detail",
]


def fake_blurhash(rng: random.Random) -> str:
    chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
    return "".join(rng.choice(chars) for _ in range(28))


def seed_images(
    app,
    workspace_id: str,
    project_id: str,
    n: int,
    *,
    rng: random.Random,
    start: datetime,
    step_ms: tuple[int, int] = (200, 60_000),
    other: tuple[str, str] | None = None,
    other_every: int = 0,
    batch: int = 5_000,
    provisioning: bool = False,
    progress_every: int = 25_000,
) -> dict:
    """Bulk-inserts `n` ready images (file + image rows, optionally provisioning rows) into one project.

    Times (and so ids) go forward from `start` by a random step; with `other`, every `other_every`-th row goes to
    that (workspace, project) instead and is not counted in `n`. Returns counts and the time range used.
    """
    from sqlalchemy import insert

    from app.domain.common import new_id
    from app.domain.files import File
    from app.domain.images import Image, Provisioning
    from app.extensions import db

    file_t, image_t, prov_t = File.__table__, Image.__table__, Provisioning.__table__
    millis = int(start.timestamp() * 1000)
    made = {"main": 0, "other": 0}
    files_rows, image_rows, prov_rows = [], [], []
    t0 = time.perf_counter()

    def flush(conn):
        if files_rows:
            conn.execute(insert(file_t), files_rows)
            conn.execute(insert(image_t), image_rows)
            if prov_rows:
                conn.execute(insert(prov_t), prov_rows)
        files_rows.clear()
        image_rows.clear()
        prov_rows.clear()

    with app.app_context(), id_clock(millis) as clock, db.engine.begin() as conn:
        i = 0
        while made["main"] < n:
            i += 1
            clock.millis += rng.randint(*step_ms)
            when = datetime.fromtimestamp(clock.millis / 1000, UTC)
            to_other = other is not None and other_every and i % other_every == 0
            ws, prj = other if to_other else (workspace_id, project_id)
            made["other" if to_other else "main"] += 1
            file_id = new_id("fil")
            width, height = rng.choice([(4000, 3000), (3000, 4000), (1920, 1080), (1080, 1350), (6000, 4000)])
            size = rng.randint(150_000, 9_000_000)
            make, model = rng.choice(CAMERAS)
            name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i:06d}.jpg"
            files_rows.append(
                dict(
                    id=file_id,
                    workspace_id=ws,
                    project_id=prj,
                    name=name,
                    mime_type="image/jpeg",
                    size=size,
                    sha256=f"{rng.getrandbits(256):064x}",
                    storage_key=f"{ws}/{prj}/{file_id}",
                    status="ready",
                    error_code=None,
                    error_message=None,
                    created_at=when,
                    updated_at=when,
                )
            )
            image_rows.append(
                dict(
                    file_id=file_id,
                    workspace_id=ws,
                    cf_image_id=file_id,
                    width=width,
                    height=height,
                    size=size,
                    format="jpeg",
                    exif={
                        "Make": make,
                        "Model": model,
                        "DateTimeOriginal": when.strftime("%Y:%m:%d %H:%M:%S"),
                        "ExposureTime": "1/250",
                        "FNumber": 5.6,
                        "ISOSpeedRatings": 200,
                        "Orientation": 1,
                    },
                    placeholder=fake_blurhash(rng),
                    dominant_color=f"#{rng.getrandbits(24):06x}",
                    require_signed_urls=False,
                    alt_text=None,
                    decorative=False,
                    created_at=when + timedelta(seconds=2),
                )
            )
            if provisioning:
                prov_rows.append(
                    dict(
                        file_id=file_id,
                        workspace_id=ws,
                        state="done",
                        attempts=1,
                        next_attempt_at=when,
                        enqueued_at=when,
                        lease_until=None,
                        cf_image_id=file_id,
                        last_error=None,
                        created_at=when,
                    )
                )
            if len(files_rows) >= batch:
                flush(conn)
                total = made["main"] + made["other"]
                if progress_every and total % progress_every < batch:
                    log(f"  seeded {total:,} rows ({time.perf_counter() - t0:.1f}s)")
        flush(conn)
    made["seconds"] = round(time.perf_counter() - t0, 1)
    made["last_millis"] = clock.millis
    return made


# --------------------------------------------------------------------------------------------- databases


@contextmanager
def throwaway_database(kind: str, tmp: Path, pg_url: str):
    """A fresh SQLite file in `tmp`, or a fresh database on the PostgreSQL server (dropped WITH (FORCE))."""
    if kind == "sqlite":
        path = tmp / f"list-bench-{uuid.uuid4().hex[:8]}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        return
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(pg_url)
    name = f"aeontel_bench_{uuid.uuid4().hex[:12]}"
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    log(f"PostgreSQL database {name} created")
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"PostgreSQL database {name} dropped")


def bench_env(instance: Path, database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SCRUB_ENV}
    env.update(
        AEONTEL_INSTANCE_DIR=str(instance),
        DATABASE_URL=database_url,
        REDIS_URL=NO_REDIS,
        SECRET_KEY="list-bench-" + uuid.uuid4().hex,
        PYTHONUNBUFFERED="1",
    )
    return env


def db_upgrade(env: dict) -> None:
    res = subprocess.run(
        [str(VENV_BIN / "aeontel"), "db", "upgrade"], env=env, cwd=REPO, capture_output=True, text=True, timeout=180
    )
    if res.returncode != 0:
        raise RuntimeError(f"aeontel db upgrade failed:\n{res.stdout}\n{res.stderr}")


def head_revision(env: dict) -> str:
    res = subprocess.run(
        [str(VENV_BIN / "aeontel"), "db", "current"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    return (res.stdout.strip().splitlines() or ["?"])[-1]


# --------------------------------------------------------------------------------------------- the app


def add_offset_route(app) -> None:
    """OFFSET pagination beside the real endpoint: same auth, same join, same serializer, only the paging differs."""
    from flask import request
    from sqlalchemy import select

    from app.api.auth import require, workspace_param
    from app.domain import queries
    from app.domain.files import File
    from app.domain.images import Image
    from app.domain.shapes import image_json, list_json
    from app.extensions import db

    @require("read")
    def offset_images():
        workspace_id = workspace_param(request.args.get("workspace_id"))
        limit = queries.parse({"limit": request.args.get("limit") or 50}, workspace_id=workspace_id).limit
        offset = max(0, int(request.args.get("offset", "0")))
        query = (
            select(Image, File)
            .join(File, File.id == Image.file_id)
            .where(Image.workspace_id == workspace_id)
            .order_by(Image.file_id.desc())
            .limit(limit)
            .offset(offset)
        )
        rows = [tuple(row) for row in db.session.execute(query)]
        return list_json([image_json(image, file) for image, file in rows], None)

    app.add_url_rule("/bench/offset-images", "bench_offset_images", offset_images)


def http_app():
    """gunicorn "list_bench:http_app()": the production app from the environment plus the offset route."""
    from app import create_app

    app = create_app()
    add_offset_route(app)
    return app


SORTED = ("name", "-size")


def cases(cursors: dict[str, str]) -> list[tuple[str, str]]:
    """`cursors`: the signed cursor after the DEEP-th image in each order ("-created" and SORTED)."""
    return [
        ("keyset, first page", f"/api/images?limit={PAGE}"),
        (f"keyset, after {DEEP:,}", f"/api/images?limit={PAGE}&cursor={cursors['-created']}"),
        ("offset 0", f"/bench/offset-images?limit={PAGE}&offset=0"),
        (f"offset {DEEP:,}", f"/bench/offset-images?limit={PAGE}&offset={DEEP}"),
        *[(f"sort={sort}, first page", f"/api/images?limit={PAGE}&sort={sort}") for sort in SORTED],
        *[
            (f"sort={sort}, after {DEEP:,}", f"/api/images?limit={PAGE}&sort={sort}&cursor={cursors[sort]}")
            for sort in SORTED
        ],
        ("count=true, first page", f"/api/images?limit={PAGE}&count=true"),
    ]


def deep_cursors(workspace_id: str) -> dict[str, str]:
    """Signed cursors after the DEEP-th image of each order, made as the API makes them (inside an app context)."""
    from sqlalchemy import func, select

    from app.domain import queries
    from app.domain.files import File
    from app.domain.images import Image
    from app.extensions import db

    cursors = {}
    for sort in ("-created", *SORTED):
        spec = queries.ListQuery(subject="images", workspace_id=workspace_id, sort=sort)
        column = {"-created": None, "name": func.lower(File.name), "-size": File.size}[sort]
        order = (
            [Image.file_id.desc()]
            if column is None
            else ([column.desc(), File.id.desc()] if sort.startswith("-") else [column.asc(), File.id.asc()])
        )
        row = db.session.execute(
            select(func.lower(File.name).label("name"), File.size, File.id)
            .join(Image, Image.file_id == File.id)
            .where(Image.workspace_id == workspace_id)
            .order_by(*order)
            .offset(DEEP - 1)
            .limit(1)
        ).one()
        key = None if column is None else row.size if column is File.size else row.name
        cursors[sort] = queries.sign_cursor(spec, key, row.id)
    return cursors


def summarize(samples: list[float]) -> dict:
    s = sorted(samples)
    return {
        "n": len(s),
        "p50": percentile(s, 50),
        "p95": percentile(s, 95),
        "min": s[0],
        "max": s[-1],
        "mean": statistics.fmean(s),
    }


def measure_in_process(app, headers: dict, paths: list[tuple[str, str]], n: int, warmup: int, deadline: float) -> dict:
    client = app.test_client()
    results = {}
    # Interleaved rounds, so that a burst of load from others on the machine hits every case alike.
    samples: dict[str, list[float]] = {label: [] for label, _ in paths}
    for _label, path in paths:
        for _ in range(warmup):
            assert client.get(path, headers=headers).status_code == 200
    for _ in range(n):
        if time.monotonic() > deadline:
            raise TimeLimit()
        for label, path in paths:
            t0 = time.perf_counter()
            resp = client.get(path, headers=headers)
            elapsed = time.perf_counter() - t0
            if resp.status_code != 200 or len(resp.get_json()["data"]) != PAGE:
                raise RuntimeError(f"{path} answered {resp.status_code}: {resp.get_data(as_text=True)[:300]}")
            samples[label].append(elapsed * 1000)
    for label, _ in paths:
        results[label] = summarize(samples[label])
    return results


def measure_http(base: str, headers: dict, paths: list[tuple[str, str]], n: int, warmup: int, deadline: float) -> dict:
    import requests

    samples: dict[str, list[float]] = {label: [] for label, _ in paths}
    with requests.Session() as http:
        http.headers.update(headers)
        for _label, path in paths:
            for _ in range(warmup):
                http.get(base + path, timeout=30).raise_for_status()
        for _ in range(n):
            if time.monotonic() > deadline:
                raise TimeLimit()
            for label, path in paths:
                t0 = time.perf_counter()
                resp = http.get(base + path, timeout=30)
                elapsed = time.perf_counter() - t0
                resp.raise_for_status()
                samples[label].append(elapsed * 1000)
    return {label: summarize(samples[label]) for label, _ in paths}


class SqlRecorder:
    """Keeps the statements (and parameters) an engine runs whose SQL contains `needle`."""

    def __init__(self, engine, needle: str):
        from sqlalchemy import event

        self.engine, self.needle, self.seen = engine, needle, []
        self._event = event
        event.listen(engine, "before_cursor_execute", self.record)

    def record(self, conn, cursor, statement, parameters, context, executemany):
        if self.needle in statement:
            self.seen.append((statement, parameters))

    def close(self):
        self._event.remove(self.engine, "before_cursor_execute", self.record)


def explain(app, kind: str, statement: str, parameters) -> str:
    from app.extensions import db

    prefix = "EXPLAIN QUERY PLAN " if kind == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).fetchall()
    if kind == "sqlite":
        return "\n".join(f"{'  ' * 0}{row[3]}" for row in rows)
    return "\n".join(row[0] for row in rows)


# --------------------------------------------------------------------------------------------- one backend


def run_backend(kind: str, args, tmp: Path, deadline: float) -> dict:
    from sqlalchemy import func, select, text

    from app import create_app
    from app.domain import accounts
    from app.domain.images import Image
    from app.extensions import db

    result: dict = {"backend": kind}
    instance = tmp / f"instance-{kind}"
    instance.mkdir(parents=True, exist_ok=True)
    with throwaway_database(kind, tmp, args.pg_url) as url:
        env = bench_env(instance, url)
        t0 = time.perf_counter()
        db_upgrade(env)
        result["revision"] = head_revision(env)
        log(f"{kind}: schema by `aeontel db upgrade` ({time.perf_counter() - t0:.1f}s), head {result['revision']}")
        app = create_app(
            {
                "instance_dir": str(instance),
                "database_url": url,
                "redis_url": NO_REDIS,
                "storage_root": str(instance / "storage"),
                "upload_tmp_dir": str(instance / "uploads"),
                "secret_key": env["SECRET_KEY"],
            }
        )
        add_offset_route(app)
        server = None
        try:
            with app.app_context():
                ws = accounts.create_workspace("List bench")
                prj = accounts.create_project(ws.id, "Everything")
                other = accounts.create_workspace("Someone else")
                other_prj = accounts.create_project(other.id, "Theirs")
                _, secret = accounts.create_token(ws.id, "read", "list-bench")
                db.session.commit()
                ids = (ws.id, prj.id, other.id, other_prj.id)
            rng = random.Random(5)
            start = datetime.now(UTC) - timedelta(days=400)
            other_every = round((args.rows + args.other) / args.other) if args.other else 0
            made = seed_images(
                app, ids[0], ids[1], args.rows, rng=rng, start=start, other=(ids[2], ids[3]), other_every=other_every
            )
            log(
                f"{kind}: seeded {made['main']:,} images in the workspace + {made['other']:,} in another "
                f"({made['seconds']}s)"
            )
            result["seeded"] = made
            with app.app_context():
                if kind == "postgresql":
                    with db.engine.connect() as conn:
                        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
                count = db.session.scalar(select(func.count()).select_from(Image).where(Image.workspace_id == ids[0]))
                assert count == args.rows, count
                cursors = deep_cursors(ids[0])
                if kind == "sqlite":
                    result["sqlite_stat1"] = bool(
                        db.session.execute(
                            text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
                        ).scalar()
                    )
            headers = {"Authorization": f"Bearer {secret}"}
            paths = cases(cursors)

            # The API's cursors lead where ours does: page 2 by its cursor == offset 50; deep keyset == offset 90,000.
            client = app.test_client()
            first = client.get(paths[0][1], headers=headers).get_json()
            second = client.get(f"/api/images?limit={PAGE}&cursor={first['next_cursor']}", headers=headers).get_json()
            off50 = client.get(f"/bench/offset-images?limit={PAGE}&offset={PAGE}", headers=headers).get_json()
            deep = client.get(paths[1][1], headers=headers).get_json()
            off_deep = client.get(paths[3][1], headers=headers).get_json()
            assert [d["fileId"] for d in second["data"]] == [d["fileId"] for d in off50["data"]]
            assert [d["fileId"] for d in deep["data"]] == [d["fileId"] for d in off_deep["data"]]
            assert deep["has_more"] and len(deep["data"]) == PAGE
            for sort in SORTED:  # the deep page of each sort continues its order where the cursor left it
                page = client.get(
                    f"/api/images?limit={PAGE}&sort={sort}&cursor={cursors[sort]}", headers=headers
                ).get_json()
                assert page["has_more"] and len(page["data"]) == PAGE, page
                if sort == "-size":  # (names follow the database's collation, which Python does not share)
                    sizes = [d["size"] for d in page["data"]]
                    assert sizes == sorted(sizes, reverse=True), sizes
            counted = client.get(f"/api/images?limit={PAGE}&count=true", headers=headers).get_json()
            assert counted["total"] == args.rows
            result["page_bytes"] = len(json.dumps(first))

            # The exact SQL of each case, and its plan.
            plans = {}
            with app.app_context():
                for label, path in paths:
                    recorder = SqlRecorder(db.engine, "FROM image")
                    try:
                        client.get(path, headers=headers)
                    finally:
                        recorder.close()
                    statement, params = recorder.seen[-1]
                    plans[label] = {"sql": " ".join(statement.split()), "plan": explain(app, kind, statement, params)}
            result["plans"] = plans
            for label in [label for label, _ in paths if label != "offset 0"]:
                log(f"{kind} plan, {label}:\n    " + plans[label]["plan"].replace("\n", "\n    "))

            log(f"{kind}: in-process, {args.requests} requests per case (interleaved), load {loadavg()}")
            result["load_before"] = loadavg()
            result["in_process"] = measure_in_process(app, headers, paths, args.requests, 5, deadline)
            result["load_after"] = loadavg()

            port = free_port()
            env["PORT"], env["PUBLIC_URL"] = str(port), f"http://127.0.0.1:{port}"
            cmd = [
                str(VENV_BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--timeout",
                "120",
                "--control-socket",
                str(tmp / f"gunicorn-{kind}.ctl"),
                "--pythonpath",
                str(BENCH),
                "list_bench:http_app()",
            ]
            server = Server("gunicorn", cmd, env, tmp / f"gunicorn-{kind}.log")
            import requests

            t_wait = time.monotonic() + 60
            while True:
                if server.proc.poll() is not None:
                    raise RuntimeError(f"gunicorn exited:\n{server.tail()}")
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > t_wait:
                    raise RuntimeError(f"gunicorn did not answer:\n{server.tail()}")
                time.sleep(0.1)
            log(f"{kind}: over HTTP via gunicorn (2 workers x 4 threads), {args.http_requests} requests per case")
            result["http"] = measure_http(f"http://127.0.0.1:{port}", headers, paths, args.http_requests, 5, deadline)
        finally:
            if server is not None:
                server.stop()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    return result


# --------------------------------------------------------------------------------------------- report


def goals(result: dict) -> list[tuple[str, bool, str]]:
    ip = result["in_process"]
    first = ip["keyset, first page"]["p50"]
    deep = ip[f"keyset, after {DEEP:,}"]["p50"]
    ratio = max(first, deep) / min(first, deep)
    kind = result["backend"]
    sorted_goals = []
    for sort in SORTED:
        first_s, deep_s = ip[f"sort={sort}, first page"]["p50"], ip[f"sort={sort}, after {DEEP:,}"]["p50"]
        sorted_goals += [
            (f"{kind}: sort={sort} after {DEEP:,} p50 <= {GOAL_MS:.0f} ms", deep_s <= GOAL_MS, f"{deep_s:.2f} ms"),
            (
                f"{kind}: sort={sort} first vs deep within {GOAL_RATIO:.0f}x",
                max(first_s, deep_s) / min(first_s, deep_s) <= GOAL_RATIO,
                f"{max(first_s, deep_s) / min(first_s, deep_s):.2f}x",
            ),
        ]
    return [
        (f"{kind}: keyset first page p50 <= {GOAL_MS:.0f} ms", first <= GOAL_MS, f"{first:.2f} ms"),
        (f"{kind}: keyset after {DEEP:,} p50 <= {GOAL_MS:.0f} ms", deep <= GOAL_MS, f"{deep:.2f} ms"),
        (f"{kind}: first vs deep within {GOAL_RATIO:.0f}x", ratio <= GOAL_RATIO, f"{ratio:.2f}x"),
        *sorted_goals,
    ]


def table(results: list[dict]) -> list[str]:
    lines = [
        "| backend | case | server p50 ms | server p95 ms | HTTP p50 ms | HTTP p95 ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        for label, s in r["in_process"].items():
            h = r.get("http", {}).get(label)
            lines.append(
                f"| {r['backend']} | {label} | {s['p50']:.2f} | {s['p95']:.2f} | {h['p50']:.2f} | {h['p95']:.2f} |"
                if h
                else f"| {r['backend']} | {label} | {s['p50']:.2f} | {s['p95']:.2f} | - | - |"
            )
    return lines


def ratios(results: list[dict]) -> list[str]:
    out = []
    for r in results:
        ip = r["in_process"]
        k0, k9 = ip["keyset, first page"]["p50"], ip[f"keyset, after {DEEP:,}"]["p50"]
        o0, o9 = ip["offset 0"]["p50"], ip[f"offset {DEEP:,}"]["p50"]
        sorted_ratios = "; ".join(
            f"sort={sort} deep/first = "
            f"{ip[f'sort={sort}, after {DEEP:,}']['p50'] / ip[f'sort={sort}, first page']['p50']:.2f}x"
            for sort in SORTED
        )
        out.append(
            f"- {r['backend']}: keyset deep/first = {k9 / k0:.2f}x; offset deep/first = {o9 / o0:.1f}x; "
            f"offset {DEEP:,} / keyset after {DEEP:,} = {o9 / k9:.1f}x; {sorted_ratios}; "
            f"count=true / first page = {ip['count=true, first page']['p50'] / k0:.2f}x"
        )
    return out


def write_markdown(results: list[dict], machine: dict, vers: dict, args, all_goals, elapsed: float) -> None:
    OUT_DIR.mkdir(exist_ok=True)
    lines = [
        '## `bench/list_bench.py` — `GET /api/images?limit=50` with 100,000 images (issue 5, "Performance")',
        "",
        f"- Date: {machine['date']}",
        f"- Machine: {machine['nproc']} cores, {machine['cpu']}, {machine['memory']} RAM, kernel {machine['kernel']}; "
        f"load average at start {machine['loadavg_start']}, at end {loadavg()} (shared machine: read the ratios)",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()),
        f"- Command: `.venv/bin/python bench/list_bench.py` (rows {args.rows:,} in the workspace + {args.other:,} in "
        f"another, interleaved; {args.requests} in-process and {args.http_requests} HTTP requests per case after 5 "
        f"warm-ups; cases interleaved round by round); run took {elapsed:.0f} s",
        "- Server time = Flask test client in-process, `time.perf_counter()` around the request (auth, query, "
        "serializer, JSON). HTTP = gunicorn 2 workers x 4 threads, one keep-alive `requests` session, client-side.",
        "- Seeding: SQLAlchemy Core bulk insert of file + image rows, ids from `new_id` on a forward-moving clock; "
        "schema from the real migrations (`aeontel db upgrade`); PostgreSQL is ANALYZEd after seeding.",
        "",
        *table(results),
        "",
        "Ratios (in-process p50):",
        *ratios(results),
        "",
        "| goal | result | figure |",
        "|---|---|---|",
        *[f"| {name} | {'PASS' if ok else 'FAIL'} | {figure} |" for name, ok, figure in all_goals],
        "",
    ]
    for r in results:
        lines.append(
            f"Plans on {r['backend']} (schema head {r.get('revision', '?')}"
            + (f", sqlite_stat1 present: {r.get('sqlite_stat1')}" if r["backend"] == "sqlite" else "")
            + "):"
        )
        lines.append("")
        for label, p in r["plans"].items():
            if label == "offset 0":
                continue
            lines += [f"- {label}:", "", "  ```", *["  " + line for line in p["plan"].splitlines()], "  ```", ""]
    OUT_MD.write_text("\n".join(lines) + "\n")
    OUT_JSON.write_text(json.dumps({"machine": machine, "versions": vers, "results": results}, indent=2, default=str))
    log(f"wrote {OUT_MD.relative_to(REPO)} and {OUT_JSON.relative_to(REPO)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="images in the measured workspace")
    parser.add_argument("--other", type=int, default=10_000, help="images in a second workspace, interleaved")
    parser.add_argument("--requests", type=int, default=60, help="in-process requests per case (>= 50)")
    parser.add_argument("--http-requests", type=int, default=50, help="HTTP requests per case")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--max-seconds", type=float, default=1200)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.rows < DEEP + PAGE:
        parser.error(f"--rows must be at least {DEEP + PAGE}")

    started = time.monotonic()
    deadline = started + args.max_seconds
    machine = machine_info()
    vers = versions(extra=("psycopg", "flask-sqlalchemy"))
    vers["postgresql"] = "-"
    tmp = Path(tempfile.mkdtemp(prefix="aeontel-list-bench-"))

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, lambda s, f: (_ for _ in ()).throw(TimeLimit()))
    signal.alarm(int(args.max_seconds) + 60)
    results = []
    try:
        for kind in [k.strip() for k in args.backends.split(",") if k.strip()]:
            if kind == "postgresql":
                import psycopg

                with psycopg.connect(args.pg_url, autocommit=True) as conn:
                    vers["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
            log(f"== {kind}")
            results.append(run_backend(kind, args, tmp, deadline))
    except TimeLimit:
        log(f"stopped: over --max-seconds {args.max_seconds}")
        return 2
    finally:
        signal.alarm(0)
        shutil.rmtree(tmp, ignore_errors=True)

    all_goals = [g for r in results for g in goals(r)]
    print()
    print("\n".join(table(results)))
    print()
    print("\n".join(ratios(results)))
    print()
    for name, ok, figure in all_goals:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {figure}")
    if not args.no_write:
        write_markdown(results, machine, vers, args, all_goals, time.monotonic() - started)
    return 0 if all(ok for _, ok, _ in all_goals) else 1


if __name__ == "__main__":
    sys.exit(main())
