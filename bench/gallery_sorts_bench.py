#!/usr/bin/env python3
"""Issue 15 performance: the gallery's first page with every sort on 10,000 images, and bulk-deleting 500.

One command, from the repository root (a few minutes on a busy machine):

    .venv/bin/python bench/gallery_sorts_bench.py          # --images, --requests, --bulk, --no-write

It
  1. builds a throwaway instance (SQLite, the real migrations), a private Redis (tests/services.RedisProcess) and
     the images stand-in (tests/imagesd_support.start_standin), seeds --images ready images into one project
     (bench/list_bench.seed_images: random names and sizes) plus 1 in 11 in another project;
  2. signs in through POST /login and times, in-process, the first page (full HTML) with each sort
     (newest, oldest, name A-Z, name Z-A, largest), cases interleaved, --requests each after warm-ups;
  3. uploads a real copy to the stand-in for each of the --bulk newest images, then POSTs the gallery's bulk
     form (htmx, ids of --bulk selected tiles, action=delete) and times the answer;
  4. drains the queues with an in-process RQ BurstWorker (events -> image.deleted -> delete_image_copies) and
     times from the answer until the stand-in answers 404 for every one of the copies.

Goals (issue 15): first page <= 50 ms p50 server time with any sort; bulk delete of 500 answers in < 2 s; their
copies gone within 60 s. Exits 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO), str(REPO / "tests")]

from list_bench import bench_env, db_upgrade, seed_images  # noqa: E402
from stack import loadavg, log, machine_info, percentile, versions  # noqa: E402

SORTS = ("newest", "oldest", "name", "name_desc", "size")
PAGE_GOAL_MS = 50.0
BULK_GOAL_S = 2.0
GONE_GOAL_S = 60.0
EMAIL = "editor@bench.example"
PASSWORD = "correct horse battery staple"
OUT = BENCH / "out" / "gallery_sorts_bench.md"


def tiny_png(i: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (i % 256, (i * 7) % 256, 90)).save(out, "PNG")
    return out.getvalue()


def profile(client, path: str, n: int = 10) -> str:
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        client.get(path)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(
        r"(app/|jinja2/environment|sqlalchemy/engine/base)", 25
    )
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--bulk", type=int, default=500)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--profile", action="store_true", help="print where the name-sorted first page spends time")
    args = parser.parse_args()

    from imagesd_support import ACCOUNT_HASH, ACCOUNT_ID, TOKEN, start_standin, stop_standin
    from services import RedisProcess

    started = time.monotonic()
    machine, vers = machine_info(), versions(extra=("jinja2", "flask-htmx"))
    tmp = Path(tempfile.mkdtemp(prefix="aeontel-sorts-bench-"))
    redis = RedisProcess().start()
    standin = start_standin()
    app = None
    try:
        from app import create_app
        from app.adapters.queue import QUEUE_NAMES, BurstWorker
        from app.domain import accounts
        from app.extensions import db

        instance = tmp / "instance"
        url = f"sqlite:///{instance / 'aeontel.db'}"
        env = bench_env(instance, url)
        db_upgrade(env)
        app = create_app(
            {
                "instance_dir": str(instance),
                "database_url": url,
                "redis_url": redis.url,
                "storage_root": str(instance / "storage"),
                "upload_tmp_dir": str(instance / "uploads"),
                "secret_key": env["SECRET_KEY"],
                "images_api_base": f"{standin.url}/client/v4",
                "images_account_id": ACCOUNT_ID,
                "images_api_token": TOKEN,
                "images_account_hash": ACCOUNT_HASH,
                "images_delivery_base": standin.url,
            }
        )
        with app.app_context():
            ws = accounts.create_workspace("Sorts bench")
            prj = accounts.create_project(ws.id, "Website")
            other = accounts.create_project(ws.id, "Print")
            accounts.create_user(EMAIL, PASSWORD, ws.id, "editor")
            db.session.commit()
            ws_id, prj_id, other_id = ws.id, prj.id, other.id
        made = seed_images(
            app,
            ws_id,
            prj_id,
            args.images,
            rng=random.Random(15),
            start=datetime.now(UTC) - timedelta(days=100),
            other=(ws_id, other_id),
            other_every=11,
            provisioning=True,
            progress_every=0,
        )
        log(f"seeded {made['main']:,} images + {made['other']:,} in another project ({made['seconds']} s)")
        with app.app_context():  # keys the local storage accepts, so the purge jobs after the bulk delete succeed
            from sqlalchemy import text

            db.session.execute(text("UPDATE file SET storage_key = workspace_id || '/' || id"))
            db.session.commit()

        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        assert (
            client.post("/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD}).status_code == 302
        )
        page = f"/w/{ws_id}/p/{prj_id}/content"
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get(page).text).group(1)

        cases = {sort: f"{page}?sort={sort}" for sort in SORTS}
        for path in cases.values():
            for _ in range(3):
                response = client.get(path)
                assert response.status_code == 200 and response.text.count('<li id="tile-') == 30
        samples: dict[str, list[float]] = {sort: [] for sort in SORTS}
        load_before = loadavg()
        for _ in range(args.requests):
            for sort, path in cases.items():
                t0 = time.perf_counter()
                assert client.get(path).status_code == 200
                samples[sort].append((time.perf_counter() - t0) * 1000)
        load_after = loadavg()
        timing = {
            sort: {
                "p50": percentile(sorted(s), 50),
                "p95": percentile(sorted(s), 95),
                "min": min(s),
                "mean": statistics.fmean(s),
            }
            for sort, s in samples.items()
        }
        for sort, t in timing.items():
            log(f"first page, sort={sort}: p50 {t['p50']:.1f} ms, p95 {t['p95']:.1f} ms")
        profiled = profile(client, cases["name"]) if args.profile else ""

        # The bulk delete: real copies in the stand-in for the selection, then the gallery's bulk form.
        from app.domain import queries

        with app.app_context():
            everything = queries.ListQuery(workspace_id=ws_id, project_id=prj_id, is_image=True)
            ids = queries.ids(everything, limit=args.bulk)
        t0 = time.perf_counter()
        session = requests.Session()
        for i, file_id in enumerate(ids):
            response = session.post(
                f"{standin.api}/v1",
                headers=standin.auth,
                files={"file": ("p.png", tiny_png(i))},
                data={"id": file_id},
                timeout=30,
            )
            assert response.ok, response.text
        log(f"{len(ids)} copies uploaded to the stand-in in {time.perf_counter() - t0:.1f} s")
        import cProfile
        import pstats

        prof = cProfile.Profile()
        t0 = time.perf_counter()
        if args.profile:
            prof.enable()
        response = client.post(
            f"{page}/bulk", data={"action": "delete", "ids": ids}, headers={"HX-Request": "true", "X-CSRFToken": csrf}
        )
        answer_s = time.perf_counter() - t0
        if args.profile:
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(25)
            profiled_bulk = out.getvalue()
        assert response.status_code == 200, response.text[:300]
        log(f"bulk delete of {len(ids)}: answered in {answer_s:.2f} s; load {loadavg()}")
        connection = app.extensions["queue"].connection
        with app.app_context():
            for _ in range(20):
                if not BurstWorker(list(QUEUE_NAMES), connection=connection).work(burst=True, with_scheduler=False):
                    break
        left = [i for i in ids if session.get(f"{standin.api}/v1/{i}", headers=standin.auth, timeout=30).ok]
        gone_s = time.perf_counter() - t0
        log(f"copies still in the stand-in: {len(left)}; all gone {gone_s:.1f} s after the click")
    finally:
        if app is not None:
            from app.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        stop_standin(standin)
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    goals = [
        (f"first page p50 <= {PAGE_GOAL_MS:.0f} ms, sort={sort}", t["p50"] <= PAGE_GOAL_MS, f"{t['p50']:.1f} ms")
        for sort, t in timing.items()
    ]
    goals += [
        (f"bulk delete of {len(ids)} answers in < {BULK_GOAL_S:.0f} s", answer_s < BULK_GOAL_S, f"{answer_s:.2f} s"),
        (
            f"their copies gone within {GONE_GOAL_S:.0f} s",
            not left and gone_s <= GONE_GOAL_S,
            f"{gone_s:.1f} s, {len(left)} left",
        ),
    ]
    table = ["| sort | first page p50 ms | p95 ms | min ms |", "|---|---:|---:|---:|"]
    table += [f"| {sort} | {t['p50']:.1f} | {t['p95']:.1f} | {t['min']:.1f} |" for sort, t in timing.items()]
    lines = [
        f"- Date: {machine['date']}; {machine['nproc']} cores, {machine['cpu']}; load {machine['loadavg_start']} "
        f"at start, {load_before} -> {load_after} around the timed loop (shared machine)",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()),
        f"- `.venv/bin/python bench/gallery_sorts_bench.py` ({args.images:,} images, {args.requests} requests per "
        f"sort, bulk {len(ids)}); run took {time.monotonic() - started:.0f} s",
        "",
        *table,
        "",
        "| goal | result | figure |",
        "|---|---|---|",
        *[f"| {name} | {'PASS' if ok else 'FAIL'} | {figure} |" for name, ok, figure in goals],
    ]
    print("\n".join(lines))
    if profiled:
        print(profiled)
        print(profiled_bulk)
    if not args.no_write:
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text("\n".join(lines) + "\n")
    return 0 if all(ok for _, ok, _ in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
