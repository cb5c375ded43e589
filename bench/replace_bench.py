#!/usr/bin/env python3
"""Issue 23: what versions cost the reads. The stable URL (`GET /i/<file id>/public`, the redirect every link now
goes through) and an image's history (`GET /api/files/<id>/versions`), side by side at two sizes of a workspace.

    .venv/bin/python bench/replace_bench.py                       # 1,000 and 100,000 images on PostgreSQL
    .venv/bin/python bench/replace_bench.py --sizes 1000 20000 --versions 50 --requests 300

For each size it makes a throwaway PostgreSQL database (`aeontel_bench_<hex>` on --pg-url, dropped in `finally`),
builds the schema with the real migrations, seeds that many file + image rows (and one image with --versions
versions, the rest with none, as after an upgrade) through SQL (SQLAlchemy Core, batches of 5,000), ANALYZEs, then
times --requests requests of each read in-process (Flask test client; server time, p50/p95) after a warm-up.
Prints a table and writes bench/out/replace_bench.json. No goal was set by the issue: the figures go to
bench/RESULTS.md so a regression shows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO)]

from stack import loadavg, machine_info, percentile  # noqa: E402

OUT = BENCH / "out" / "replace_bench.json"


def throwaway(pg_url: str):
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(pg_url)
    name = f"aeontel_bench_{uuid.uuid4().hex[:12]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return base.set(database=name).render_as_string(hide_password=False), drop


def seed(app, rows: int, versions: int) -> tuple[str, str, str]:
    """Workspace, token and the id of the image with a history; `rows` images in all."""
    from sqlalchemy import insert, text

    from app.domain import accounts
    from app.domain.files import File
    from app.domain.images import Image
    from app.domain.versions import FileVersion
    from app.extensions import db

    with app.app_context():
        workspace = accounts.create_workspace("Bench")
        project = accounts.create_project(workspace.id, "Website")
        _, token = accounts.create_token(workspace.id, "read", "bench")
        db.session.commit()
        ws, prj = workspace.id, project.id
        start = datetime(2026, 1, 1, tzinfo=UTC)
        ids = [f"fil_bench{n:020d}" for n in range(rows)]
        for at in range(0, rows, 5000):
            chunk = ids[at : at + 5000]
            when = [start + timedelta(seconds=at + i) for i in range(len(chunk))]
            db.session.execute(
                insert(File),
                [
                    dict(
                        id=i,
                        workspace_id=ws,
                        project_id=prj,
                        name=f"{i}.jpg",
                        mime_type="image/jpeg",
                        size=1000,
                        sha256="0" * 64,
                        storage_key=f"{ws}/{i}",
                        status="ready",
                        created_at=t,
                        updated_at=t,
                    )
                    for i, t in zip(chunk, when)
                ],  # fmt: skip
            )
            db.session.execute(
                insert(Image),
                [
                    dict(
                        file_id=i,
                        workspace_id=ws,
                        cf_image_id=i,
                        width=640,
                        height=480,
                        size=1000,
                        format="jpeg",
                        exif={},
                        created_at=t,
                        version=1,
                    )
                    for i, t in zip(chunk, when)
                ],  # fmt: skip
            )
        target = ids[rows // 2]
        db.session.execute(
            insert(FileVersion),
            [
                dict(
                    file_id=target,
                    number=n,
                    workspace_id=ws,
                    state="current" if n == versions else "previous",
                    storage_key=f"{ws}/{target}-v{n}-beef",
                    mime_type="image/jpeg",
                    size=1000 + n,
                    sha256="1" * 64,
                    width=640,
                    height=480,
                    format="jpeg",
                    cf_image_id=f"{target}.v{n}",
                    created_by="bench",
                    created_at=start,
                    ready_at=start,
                    attempts=1,
                    transient_failures=0,
                    next_attempt_at=start,
                )
                for n in range(1, versions + 1)
            ],  # fmt: skip
        )
        db.session.execute(
            text("UPDATE image SET version = :n, cf_image_id = :cf WHERE file_id = :id"),
            {"n": versions, "cf": f"{target}.v{versions}", "id": target},
        )
        db.session.commit()
        for table in ("file", "image", "file_version"):
            db.session.execute(text(f"ANALYZE {table}"))
        db.session.commit()
        db.session.remove()
        return ws, token, target


def timed(client, path: str, headers: dict, requests: int, expect: int) -> dict:
    for _ in range(20):
        assert client.get(path, headers=headers).status_code == expect
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == expect, answer.status_code
    samples.sort()
    return {"p50_ms": round(percentile(samples, 50), 2), "p95_ms": round(percentile(samples, 95), 2),
            "mean_ms": round(statistics.fmean(samples), 2)}  # fmt: skip


def run(pg_url: str, rows: int, versions: int, requests: int) -> dict:
    from flask_migrate import upgrade

    from app import create_app

    url, drop = throwaway(pg_url)
    workdir = Path(tempfile.mkdtemp(prefix="aeontel-replace-bench-"))
    try:
        app = create_app(
            {
                "database_url": url,
                "redis_url": "redis://127.0.0.1:9/0",  # reads need no Redis; if one tried, it would show
                "instance_dir": str(workdir / "instance"),
                "storage_root": str(workdir / "storage"),
                "upload_tmp_dir": str(workdir / "uploads"),
                "secret_key": "bench",
                "public_url": "http://127.0.0.1:5000",
            }
        )
        with app.app_context():
            upgrade()
        started = time.perf_counter()
        _, token, target = seed(app, rows, versions)
        seeded = time.perf_counter() - started
        client = app.test_client()
        auth = {"Authorization": f"Bearer {token}"}
        plain = f"fil_bench{0:020d}"
        result = {
            "rows": rows,
            "seed_s": round(seeded, 1),
            "stable_redirect_v1": timed(client, f"/i/{plain}/public", {}, requests, 302),
            "stable_redirect_replaced": timed(client, f"/i/{target}/public", {}, requests, 302),
            "versions_list_never_replaced": timed(client, f"/api/files/{plain}/versions", auth, requests, 200),
            f"versions_list_{versions}_versions": timed(client, f"/api/files/{target}/versions", auth, requests, 200),
        }
        with app.app_context():
            from app.extensions import db

            db.session.remove()
            db.engine.dispose()
        return result
    finally:
        drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    before = loadavg()
    results = [run(args.pg_url, rows, args.versions, args.requests) for rows in args.sizes]
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "load_before": before,
        "load_after": loadavg(),
        "results": results,
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2))
    print(f"{'case':<34}" + "".join(f"{r['rows']:>22,}" for r in results))
    for case in [key for key in results[0] if key not in ("rows", "seed_s")]:
        print(f"{case:<34}" + "".join(f"{r[case]['p50_ms']:>10.2f} / {r[case]['p95_ms']:>7.2f}" for r in results))
    print(f"load {before} -> {report['load_after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
