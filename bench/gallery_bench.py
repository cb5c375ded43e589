#!/usr/bin/env python3
"""Issue 6 performance benchmark: the Content gallery with 10,000 images in one project (SQLite).

One command, from the repository root (about 1-2 minutes):

    .venv/bin/python bench/gallery_bench.py               # --images, --requests, --no-write, --help

In one run it
  1. builds a throwaway instance (AEONTEL_INSTANCE_DIR=<tmp>/instance, SQLite) with the real migrations
     (`aeontel db upgrade`), creates a workspace, a project and an editor with `accounts.create_user`, and
     bulk-inserts --images ready images (file + image + provisioning rows, SQLAlchemy Core, ids from `new_id` on a
     forward-moving clock) into the project, plus 1,000 in another project of the same workspace, interleaved;
  2. signs in through `POST /login` with the Flask test client, carrying the form's CSRF token;
  3. server time, in-process (`time.perf_counter()` around each test-client request), p50/p95 over --requests
     requests after a warm-up, cases interleaved round by round:
       - the first gallery page, full HTML: GET /w/<ws>/p/<prj>/content;
       - the "next page" htmx fragment right after the first page (tiles 31-60), by the page's own cursor link;
       - the "next page" htmx fragment that holds the 1,000th tile, reached by following the cursor links
         (`#more` hx-get) page by page, as scrolling does;
  4. page weight: the first page's HTML plus every same-origin stylesheet and script it references (images
     excluded), raw and gzip (level 6, what a compressing proxy would send);
  5. profiles the first page and the deep fragment with cProfile (top functions, in the report);
  6. prints a table and writes bench/out/gallery_bench.md and bench/out/gallery_bench.json.

Goals (issue 6): first page p50 <= 50 ms server time; HTML + CSS + JS <= 100 KB (100,000 bytes, raw: the
stricter reading); the fragment at the 1,000th tile as fast as the first page (p50 not above the first page's
p50, and within 1.25x of the fragment right after the first page). Exits 1 if a goal is missed. The temp dir is
removed in `finally`.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import io
import json
import pstats
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO)]

from list_bench import NO_REDIS, bench_env, db_upgrade, seed_images  # noqa: E402
from stack import loadavg, log, machine_info, percentile, versions  # noqa: E402

OUT_DIR = BENCH / "out"
OUT_MD = OUT_DIR / "gallery_bench.md"
OUT_JSON = OUT_DIR / "gallery_bench.json"
PAGE_GOAL_MS = 50.0
WEIGHT_GOAL = 100_000
DEEP_TILE = 1000
DEEP_VS_NEXT = 1.25
EMAIL = "editor@bench.example"
PASSWORD = "correct horse battery staple"


class TimeLimit(Exception):
    pass


class Assets(HTMLParser):
    """Stylesheets and scripts a page references (images are excluded by the goal)."""

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.inline_bytes = 0
        self._in = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and "stylesheet" in (a.get("rel") or "").split() and a.get("href"):
            self.urls.append(("css", a["href"]))
        elif tag == "script" and a.get("src"):
            self.urls.append(("js", a["src"]))
        elif tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in:
            self.inline_bytes += len(data.encode())


def more_url(html: str) -> str | None:
    match = re.search(r'<li id="more"[^>]*>\s*<a href="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def tiles_in(html: str) -> int:
    return len(re.findall(r'<li id="tile-', html))


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


def profile(client, path: str, headers: dict, n: int = 20, top: int = 18) -> str:
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        client.get(path, headers=headers)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(r"(app/|jinja2/environment|sqlalchemy/orm/loading|json/)", top)
    text = out.getvalue()
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith(("   Ordered", "   List"))]
    # Paths shortened to what matters.
    return "\n".join(re.sub(r"/\S*/site-packages/", "", line).replace(str(REPO) + "/", "") for line in lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=60, help="requests per case (>= 50)")
    parser.add_argument("--max-seconds", type=float, default=600)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    started = time.monotonic()
    deadline = started + args.max_seconds
    machine = machine_info()
    vers = versions(extra=("jinja2", "flask-htmx", "flask-wtf"))
    tmp = Path(tempfile.mkdtemp(prefix="aeontel-gallery-bench-"))
    signal.signal(signal.SIGTERM, lambda s, f: (_ for _ in ()).throw(KeyboardInterrupt(f"signal {s}")))
    signal.signal(signal.SIGALRM, lambda s, f: (_ for _ in ()).throw(TimeLimit()))
    signal.alarm(int(args.max_seconds) + 30)
    app = None
    try:
        from app import create_app
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
                "redis_url": NO_REDIS,
                "storage_root": str(instance / "storage"),
                "upload_tmp_dir": str(instance / "uploads"),
                "secret_key": env["SECRET_KEY"],
            }
        )
        with app.app_context():
            ws = accounts.create_workspace("Gallery bench")
            prj = accounts.create_project(ws.id, "Website")
            other_prj = accounts.create_project(ws.id, "Print")
            accounts.create_user(EMAIL, PASSWORD, ws.id, "editor")
            db.session.commit()
            ws_id, prj_id, other_id = ws.id, prj.id, other_prj.id
        made = seed_images(
            app,
            ws_id,
            prj_id,
            args.images,
            rng=random.Random(6),
            start=datetime.now(UTC) - timedelta(days=200),
            other=(ws_id, other_id),
            other_every=11,
            provisioning=True,
            progress_every=0,
        )
        log(
            f"seeded {made['main']:,} images in the project + {made['other']:,} in another project ({made['seconds']}s)"
        )

        client = app.test_client()
        login = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.get_data(as_text=True)).group(1)
        resp = client.post("/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD})
        assert resp.status_code == 302, (resp.status_code, resp.get_data(as_text=True)[:300])
        page_path = f"/w/{ws_id}/p/{prj_id}/content"
        first = client.get(page_path)
        assert first.status_code == 200, first.status_code
        html = first.get_data(as_text=True)
        assert tiles_in(html) == 30, tiles_in(html)

        # Page weight: the HTML and every same-origin stylesheet and script it references.
        assets = Assets()
        assets.feed(html)
        weight = [{"kind": "html", "url": page_path, "raw": len(first.data), "gzip": len(gzip.compress(first.data, 6))}]
        for kind, ref in assets.urls:
            parts = urlsplit(ref)
            if parts.netloc and parts.netloc != "localhost":
                weight.append({"kind": kind, "url": ref, "raw": None, "gzip": None, "note": "other origin"})
                continue
            body = client.get(parts.path + (f"?{parts.query}" if parts.query else "")).data
            weight.append({"kind": kind, "url": parts.path, "raw": len(body), "gzip": len(gzip.compress(body, 6))})
        total_raw = sum(w["raw"] or 0 for w in weight)
        total_gzip = sum(w["gzip"] or 0 for w in weight)
        first.close()

        # Scroll: follow the cursor links, as htmx does on `revealed`, until the page holding the 1,000th tile.
        hx = {"HX-Request": "true"}
        next_path = more_url(html)
        seen, pages, deep_path, deep_tiles = 30, 1, None, None
        second_path = next_path
        while next_path:
            frag = client.get(next_path, headers=hx)
            assert frag.status_code == 200
            body = frag.get_data(as_text=True)
            count = tiles_in(body)
            pages += 1
            if seen < DEEP_TILE <= seen + count:
                deep_path, deep_tiles = next_path, (seen + 1, seen + count)
                break
            seen += count
            next_path = more_url(body)
        assert deep_path, "never reached the 1,000th tile"
        assert "<html" not in body and body.count('<li id="tile-') == 30
        log(
            f"first page {weight[0]['raw']:,} B HTML; tile {DEEP_TILE} is on page {pages} "
            f"(tiles {deep_tiles[0]}-{deep_tiles[1]}); load {loadavg()}"
        )

        cases = [
            ("first page (full HTML)", page_path, {}),
            ("next-page fragment, tiles 31-60", second_path, hx),
            (f"next-page fragment, tiles {deep_tiles[0]}-{deep_tiles[1]}", deep_path, hx),
        ]
        for _, path, headers in cases:
            for _ in range(5):
                assert client.get(path, headers=headers).status_code == 200
        samples = {label: [] for label, _, _ in cases}
        load_before = loadavg()
        for _ in range(args.requests):
            if time.monotonic() > deadline:
                raise TimeLimit()
            for label, path, headers in cases:
                t0 = time.perf_counter()
                resp = client.get(path, headers=headers)
                elapsed = time.perf_counter() - t0
                assert resp.status_code == 200
                samples[label].append(elapsed * 1000)
        timing = {label: summarize(s) for label, s in samples.items()}
        load_after = loadavg()

        # Where the time goes, and the SQL plan of the list query.
        prof_first = profile(client, page_path, {})
        prof_deep = profile(client, deep_path, hx)
        from sqlalchemy import event

        seen_sql = []

        def record(conn, cursor, statement, parameters, context, executemany):
            if "FROM file" in statement and "ORDER BY" in statement:
                seen_sql.append((statement, parameters))

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", record)
            try:
                client.get(deep_path, headers=hx)
            finally:
                event.remove(db.engine, "before_cursor_execute", record)
            statement, params = seen_sql[-1]
            with db.engine.connect() as conn:
                plan = "\n".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
                t0 = time.perf_counter()
                for _ in range(20):
                    conn.exec_driver_sql(statement, params).fetchall()
                query_ms = (time.perf_counter() - t0) / 20 * 1000
        log("list query plan (deep page):\n    " + plan.replace("\n", "\n    "))
    except TimeLimit:
        log(f"stopped: over --max-seconds {args.max_seconds}")
        return 2
    finally:
        signal.alarm(0)
        if app is not None:
            from app.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)

    first_p50 = timing[cases[0][0]]["p50"]
    next_p50 = timing[cases[1][0]]["p50"]
    deep_p50 = timing[cases[2][0]]["p50"]
    goals = [
        (f"first page p50 <= {PAGE_GOAL_MS:.0f} ms", first_p50 <= PAGE_GOAL_MS, f"{first_p50:.2f} ms"),
        (
            f"HTML + CSS + JS <= {WEIGHT_GOAL // 1000} KB (raw)",
            total_raw <= WEIGHT_GOAL,
            f"{total_raw:,} B raw, {total_gzip:,} B gzip",
        ),
        (
            f"fragment at tile {DEEP_TILE} as fast as the first page (p50 <= first page p50)",
            deep_p50 <= first_p50,
            f"{deep_p50:.2f} vs {first_p50:.2f} ms ({deep_p50 / first_p50:.2f}x)",
        ),
        (
            f"fragment at tile {DEEP_TILE} within {DEEP_VS_NEXT}x of the fragment after page 1",
            deep_p50 <= DEEP_VS_NEXT * next_p50,
            f"{deep_p50:.2f} vs {next_p50:.2f} ms ({deep_p50 / next_p50:.2f}x)",
        ),
    ]
    time_table = ["| case | server p50 ms | p95 ms | min ms |", "|---|---:|---:|---:|"]
    time_table += [f"| {label} | {s['p50']:.2f} | {s['p95']:.2f} | {s['min']:.2f} |" for label, s in timing.items()]
    weight_table = ["| asset | raw bytes | gzip bytes |", "|---|---:|---:|"]
    weight_table += [f"| {w['kind']} `{w['url']}` | {w['raw']:,} | {w['gzip']:,} |" for w in weight]
    weight_table.append(f"| **total** | **{total_raw:,}** | **{total_gzip:,}** |")
    print()
    print("\n".join(time_table))
    print()
    print("\n".join(weight_table))
    print()
    print(f"list query alone (deep page, SQLite, 20 runs): {query_ms:.2f} ms")
    for name, ok, figure in goals:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {figure}")
    if not args.no_write:
        OUT_DIR.mkdir(exist_ok=True)
        lines = [
            '## `bench/gallery_bench.py` — the Content gallery with 10,000 images (issue 6, "Performance")',
            "",
            f"- Date: {machine['date']}",
            f"- Machine: {machine['nproc']} cores, {machine['cpu']}, {machine['memory']} RAM, kernel "
            f"{machine['kernel']}; load average at start {machine['loadavg_start']}, around the timed loop "
            f"{load_before} -> {load_after} (shared machine: read the ratios)",
            "- Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()),
            f"- Command: `.venv/bin/python bench/gallery_bench.py` ({args.images:,} ready images in the project + "
            f"{made['other']:,} in another project, SQLite via the real migrations; signed in through `POST /login` "
            f"with its CSRF token; {args.requests} requests per case after 5 warm-ups, cases interleaved); run took "
            f"{time.monotonic() - started:.0f} s",
            "- Server time = Flask test client in-process, `time.perf_counter()` around the request. Page size is 30 "
            f"tiles; tile {DEEP_TILE} is on page {pages}, reached by following the `#more` cursor links.",
            "",
            *time_table,
            "",
            f"List query alone on the deep page (SQLite, same SQL and parameters, 20 runs): {query_ms:.2f} ms. Plan:",
            "",
            "```",
            plan,
            "```",
            "",
            "Page weight of the first page (images excluded; gzip level 6 computed here, the app itself does not "
            f"compress; inline script/style bytes: {assets.inline_bytes}):",
            "",
            *weight_table,
            "",
            "| goal | result | figure |",
            "|---|---|---|",
            *[f"| {name} | {'PASS' if ok else 'FAIL'} | {figure} |" for name, ok, figure in goals],
            "",
            "Where the first page's time goes (cProfile, 20 requests, cumulative, filtered to app code, Jinja, ORM "
            "loading and json):",
            "",
            "```",
            prof_first,
            "```",
            "",
            f"And the fragment at tile {DEEP_TILE}:",
            "",
            "```",
            prof_deep,
            "```",
            "",
        ]
        OUT_MD.write_text("\n".join(lines) + "\n")
        OUT_JSON.write_text(
            json.dumps(
                {
                    "machine": machine,
                    "versions": vers,
                    "timing": timing,
                    "weight": weight,
                    "query_ms": query_ms,
                    "plan": plan,
                    "goals": goals,
                },
                indent=2,
                default=str,
            )
        )
        log(f"wrote {OUT_MD.relative_to(REPO)} and {OUT_JSON.relative_to(REPO)}")
    return 0 if all(ok for _, ok, _ in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
