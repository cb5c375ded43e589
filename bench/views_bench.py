#!/usr/bin/env python3
"""Issue 22 (table view and saved views): the gallery's first page as a table beside the grid, each table sort, a
search, a saved view's URL and its images through the API, side by side at two sizes of one project on PostgreSQL.

One command, from the repository root:

    .venv/bin/python bench/views_bench.py            # --sizes 10000,100000 --requests 30 --pg-url … --no-write

For each size it makes a throwaway PostgreSQL database (the real migrations), seeds the images through SQL
(bench/list_bench.seed_images: bulk INSERTs of file, image and provisioning rows, with EXIF make, model and
DateTimeOriginal), starts a private redis-server with app/devstack.py, and times in-process (Flask's test client,
so the figures are server time without the network) each page --requests times after warm-ups, the cases
interleaved. Writes the table between the `bench:views` markers of bench/RESULTS.md with the date, the machine and
its load (`uptime`). Reports only; the goals of issue 22's large-library table belong to the find/count work.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO)]

from list_bench import bench_env, db_upgrade, seed_images, throwaway_database  # noqa: E402
from stack import loadavg, log, machine_info, percentile, sh  # noqa: E402

from app import devstack  # noqa: E402  one launcher for the benchmark's processes

EMAIL = "viewer@bench.example"
PASSWORD = "correct horse battery staple"
RESULTS = BENCH / "RESULTS.md"
BEGIN, END = "<!-- bench:views:begin -->", "<!-- bench:views:end -->"


def cases(gallery: str, view_url: str, view_id: str) -> list[tuple[str, str, dict]]:
    """(label, path, headers) of each page measured; the token header is filled in by the caller."""
    return [
        ("grid, newest (the page as before)", gallery, {}),
        ("table, newest", f"{gallery}?layout=table", {}),
        ("table, name A–Z", f"{gallery}?layout=table&sort=name", {}),
        ("table, smallest first", f"{gallery}?layout=table&sort=smallest", {}),
        ("table, search `summer`", f"{gallery}?layout=table&q=summer", {}),
        ("table, no alt text, largest", f"{gallery}?layout=table&has_alt_text=false&sort=size", {}),
        ("saved view's URL (redirect)", view_url, {}),
        ("API: the view's images, first page", f"/api/views/{view_id}/images", {"token": "1"}),
    ]


def measure(client, token: str, paths: list[tuple[str, str, dict]], n: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {label: [] for label, _, _ in paths}
    for _ in range(3):  # warm-ups: the planner's caches, Jinja's compiled templates
        for _, path, extra in paths:
            client.get(path, headers={"Authorization": f"Bearer {token}"} if extra else {})
    for _ in range(n):
        for label, path, extra in paths:
            headers = {"Authorization": f"Bearer {token}"} if extra else {}
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            samples[label].append((time.perf_counter() - started) * 1000)
            assert response.status_code in (200, 302), (path, response.status_code, response.get_data()[:300])
    return samples


def run_size(size: int, args, tmp: Path, redis_url: str) -> dict[str, dict]:
    from app import create_app
    from app.domain import accounts, saved_views
    from app.extensions import db

    with throwaway_database("postgresql", tmp, args.pg_url) as database_url:
        instance = tmp / f"instance-{size}"
        env = bench_env(instance, database_url)
        db_upgrade(env)
        app = create_app(
            {
                "instance_dir": str(instance),
                "database_url": database_url,
                "redis_url": redis_url,
                "storage_root": str(instance / "storage"),
                "upload_tmp_dir": str(instance / "uploads"),
                "secret_key": env["SECRET_KEY"],
            }
        )
        try:
            with app.app_context():
                ws = accounts.create_workspace("Views bench")
                prj = accounts.create_project(ws.id, "Website")
                other = accounts.create_project(ws.id, "Print")
                user = accounts.create_user(EMAIL, PASSWORD, ws.id, "viewer")
                _, token = accounts.create_token(ws.id, "read")
                db.session.commit()
                ws_id, prj_id, other_id, user_id = ws.id, prj.id, other.id, user.id
            log(f"seeding {size:,} images through SQL")
            made = seed_images(
                app,
                ws_id,
                prj_id,
                size,
                rng=random.Random(22),
                start=datetime.now(UTC) - timedelta(days=400),
                other=(ws_id, other_id),
                other_every=11,
                provisioning=True,
                progress_every=100_000,
            )
            log(f"seeded in {made['seconds']} s; ANALYZE")
            with app.app_context():
                with db.engine.connect() as conn:  # what autovacuum would do; outside a transaction, so it stays
                    conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
                view = saved_views.create_view(
                    ws_id, saved_views.Owner(user_id=user_id), prj_id, "Largest", "sort=-size", "table"
                )
                view_id = view.id
            client = app.test_client()
            page = client.get("/login")
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
            signed = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf})
            assert signed.status_code == 302, signed.get_data()[:300]
            gallery = f"/w/{ws_id}/p/{prj_id}/content"
            view_url = f"/w/{ws_id}/p/{prj_id}/views/{view_id}"
            samples = measure(client, token, cases(gallery, view_url, view_id), args.requests)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    return {label: {"p50": statistics.median(s), "p95": percentile(sorted(s), 95)} for label, s in samples.items()}


def markdown(results: dict[int, dict], sizes: list[int], args, load_before: str, load_after: str) -> str:
    machine = machine_info()
    small, large = sizes[0], sizes[-1]
    lines = [
        BEGIN,
        "## Table view and saved views (issue 22): `bench/views_bench.py`",
        "",
        f"{machine.get('date', '?')}; {machine.get('cpu', '?')}, {machine.get('nproc', '?')} cores (shared with other "
        f"engineers' runs); load average before {load_before}, after {load_after} (`uptime`: {sh('uptime')}). "
        f"PostgreSQL, one project seeded through SQL; the viewer's session, in-process (server time), "
        f"{args.requests} requests per case after 3 warm-ups, cases interleaved. ms.",
        "",
        "| page | " + " | ".join(f"{n:,} p50 | {n:,} p95" for n in sizes) + f" | p50 {large:,} / {small:,} |",
        "|---|" + "---:|---:|" * len(sizes) + "---:|",
    ]
    for label in results[small]:
        cells = " | ".join(f"{results[n][label]['p50']:.1f} | {results[n][label]['p95']:.1f}" for n in sizes)
        ratio = results[large][label]["p50"] / max(results[small][label]["p50"], 0.001)
        lines.append(f"| {label} | {cells} | {ratio:.2f}× |")
    lines += [
        "",
        "The table renders the same page of the same engine query as the grid (30 rows, keyset on the sort's "
        "index) and costs what the grid costs at both sizes: the table adds nothing that grows with the project. "
        "What grows is shared by both layouts: the counts line and the view's total, which count the project on "
        "every page (issue 22's counts work replaces them). Opening a saved view is one primary-key read and a "
        "redirect; its images are the engine's `-size` page of 50 images, as `GET /api/images?sort=-size`.",
        END,
    ]
    return "\n".join(lines)


def write(block: str) -> None:
    text = RESULTS.read_text()
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="aeontel-views-bench-"))
    redis = devstack.RedisServer(directory=tmp / "redis").start()
    load_before = loadavg()
    try:
        results = {size: run_size(size, args, tmp, redis.url) for size in sizes}
    finally:
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    block = markdown(results, sizes, args, load_before, loadavg())
    print(block)
    if not args.no_write:
        write(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
