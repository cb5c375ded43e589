#!/usr/bin/env python3
"""Issue 22 performance: the library at 10,000 and 1,000,000 images in one project, on PostgreSQL.

One command, from the repository root (about 10 minutes on the shared 2-core machine at a million):

    .venv/bin/python bench/library_bench.py                      # --sizes 10000,1000000 --requests 11
    .venv/bin/python bench/library_bench.py --sizes 10000000 --keep  # the ten-million run (an hour's seeding, kept)
    .venv/bin/python bench/library_bench.py --explain            # print the plan of every case's main query

For each size it
  1. makes a throwaway database on the PostgreSQL server at --pg-url (tests/services.throwaway_database), builds the
     schema with the real migrations (`aeontel db upgrade`) and starts a Redis of its own (app/devstack.py);
  2. seeds one project through SQL (`generate_series`, not the upload path; with --keep into a database kept for the
     next run): `file` rows (1 in 100 a failed image file without an image row; taken_at up to 2,000 days before
     the upload, as the image row says) and `image` rows with the facts spread over 7 cameras (one in 7 none), 5 lenses,
     landscape/portrait/square, 12 colour families, jpeg/png/webp, 1 in 50 a master, 1 in 3 with alt text, names
     from 14 words (two with accents); 50 collections and 200 tags (`seed_groups`); the tally counted once after
     the load; then VACUUM ANALYZE, as autovacuum leaves a library that has lived a while;
  3. signs a viewer in and times, in-process (Flask test client, `time.perf_counter()` around each request: the
     server's time without the network), --requests requests per case after two warm-ups, cases interleaved:
     the gallery's first page (full HTML: tiles, the counts and the "all that match" total; the filter bar is a
     request of its own, timed as a facets case) with every sort (date taken too), with each single filter and with
     a search; the API's first page; `count=true` (from the tally table); the facet counts; a filtered `count=true`
     (a planner estimate above 1,000 matches); adding 10,000 selected images to a new collection
     (`POST /api/collections/{id}/images`);
  4. writes bench/out/library_bench.md and .json: p50/p95 per case and size, the ratio to the smallest size, and
     the goals (first pages <= 50 ms p50 and <= 1.5x the 10,000 figure; count <= 50 ms; facets <= 100 ms).

Every database, process and temp dir made here is removed in `finally`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO), str(REPO / "tests")]

from list_bench import bench_env, db_upgrade  # noqa: E402
from stack import loadavg, log, machine_info, percentile, versions  # noqa: E402

from app import devstack  # noqa: E402  one launcher for the benchmark's processes

OUT_MD = BENCH / "out" / "library_bench.md"
OUT_JSON = BENCH / "out" / "library_bench.json"
EMAIL, PASSWORD = "viewer@bench.example", "correct horse battery staple"
PAGE_GOAL_MS, RATIO_GOAL, COUNT_GOAL_MS, FACETS_GOAL_MS, ADD_GOAL_MS = 50.0, 1.5, 50.0, 100.0, 2000.0
START = datetime(2024, 1, 1, tzinfo=UTC)

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
    "café",
    "élodie",
]
FOLDED = [word.replace("é", "e") for word in WORDS]
CAMERAS = [
    ("Canon", "Canon EOS R5"),
    ("NIKON CORPORATION", "NIKON Z 6"),
    ("Apple", "iPhone 15 Pro"),
    ("SONY", "ILCE-7M3"),
    ("FUJIFILM", "X-T4"),
    ("Google", "Pixel 8"),
]
LENSES = ["RF24-105mm F4 L IS USM", "NIKKOR Z 24-70mm f/4 S", "FE 85mm F1.8", "XF35mmF1.4 R", "iPhone back camera"]
COLOURS = ["black", "white", "grey", "red", "orange", "brown", "yellow", "green", "teal", "blue", "purple", "pink"]


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + "]"


def seed(connection, workspace_id: str, project_id: str, rows: int) -> None:
    """`rows` files of one project, 99 in 100 with an image row, through two INSERT … SELECT FROM generate_series."""
    from sqlalchemy import text

    word = f"(1 + g % {len(WORDS)})"
    connection.execute(
        text(
            f"""
        INSERT INTO file (id, workspace_id, project_id, name, name_folded, mime_type, size, sha256, storage_key,
                          status, created_at, updated_at, taken_at)
        SELECT 'fil_' || lpad(to_hex(g), 26, '0'), :ws, :prj,
               ({_array(WORDS)})[{word}] || '-' || g || CASE WHEN g % 3 = 0 THEN '.png' ELSE '.jpg' END,
               ({_array(FOLDED)})[{word}] || '-' || g || CASE WHEN g % 3 = 0 THEN '.png' ELSE '.jpg' END,
               CASE WHEN g % 3 = 0 THEN 'image/png' ELSE 'image/jpeg' END,
               20000 + (g::bigint * 7919) % 8000000, md5(g::text) || md5(g::text), 'bench/' || g,
               CASE WHEN g % 100 = 0 THEN 'error' ELSE 'ready' END,
               CAST(:start AS timestamp) + g * interval '1 second', CAST(:start AS timestamp) + g * interval '1 second',
               CAST(:start AS timestamp) + g * interval '1 second'
                 - CASE WHEN g % 100 = 0 THEN interval '0' ELSE (g % 2000) * interval '1 day' END
        FROM generate_series(1, :rows) AS g
        """
        ),
        {"ws": workspace_id, "prj": project_id, "rows": rows, "start": START.replace(tzinfo=None)},
    )
    camera = f"(1 + g % {len(CAMERAS) + 1})"
    connection.execute(
        text(
            f"""
        INSERT INTO image (file_id, workspace_id, cf_image_id, width, height, size, format, exif, dominant_color,
                           require_signed_urls, alt_text, alt_folded, decorative, created_at, source,
                           camera_make, camera_model, lens, taken_at, orientation, colour,
                           original_width, original_height, master_size, master_width, master_height, master_format)
        SELECT f.id, f.workspace_id, f.id, s.w, s.h, f.size,
               CASE WHEN s.g % 3 = 0 THEN 'png' WHEN s.g % 7 = 0 THEN 'webp' ELSE 'jpeg' END, '{{}}', '#336699',
               false, CASE WHEN s.g % 3 = 1 THEN 'A photo of the ' || f.name_folded END,
               CASE WHEN s.g % 3 = 1 THEN 'a photo of the ' || f.name_folded END, false, f.created_at,
               CASE WHEN s.g % 50 = 1 THEN 'master' ELSE 'original' END,
               ({_array([make for make, _ in CAMERAS])})[{camera.replace("g", "s.g")}],
               ({_array([model for _, model in CAMERAS])})[{camera.replace("g", "s.g")}],
               ({_array(LENSES)})[1 + s.g % {len(LENSES) + 2}],
               f.taken_at,
               CASE WHEN s.w > s.h * 1.02 THEN 'landscape' WHEN s.h > s.w * 1.02 THEN 'portrait' ELSE 'square' END,
               ({_array(COLOURS)})[1 + (s.g * 13) % {len(COLOURS)}],
               s.w, s.h, CASE WHEN s.g % 50 = 1 THEN f.size / 2 END, CASE WHEN s.g % 50 = 1 THEN s.w END,
               CASE WHEN s.g % 50 = 1 THEN s.h END, CASE WHEN s.g % 50 = 1 THEN 'jpeg' END
        FROM (SELECT g, CASE WHEN g % 10 < 6 THEN 3000 + g % 2000 WHEN g % 10 < 9 THEN 2000 + g % 1000 ELSE 2048 END
                        AS w,
                        CASE WHEN g % 10 < 6 THEN 2000 + g % 1000 WHEN g % 10 < 9 THEN 3000 + g % 2000 ELSE 2048 END
                        AS h
              FROM generate_series(1, :rows) AS g WHERE g % 100 <> 0) AS s
        JOIN file f ON f.id = 'fil_' || lpad(to_hex(s.g), 26, '0')
        """
        ),
        {"rows": rows},
    )


COLLECTIONS, TAGS = 50, 200


def seed_groups(connection, workspace_id: str, project_id: str, rows: int) -> None:
    """50 collections (every second image in one: image g in collection g mod 50 + 1) and 200 tags (every image one,
    g mod 200 + 1; every fourth a second), through SQL; counts written into the rows. Collection 3 holds every
    image of tag 3; collection 1 none of them."""
    from sqlalchemy import text

    fid = "'fil_' || lpad(to_hex(g), 26, '0')"
    for statement in (
        """INSERT INTO collection (id, workspace_id, project_id, name, name_key, image_count, created_at, updated_at)
           SELECT 'col_' || lpad(c::text, 26, '0'), :ws, :prj, 'Collection ' || c, 'collection ' || c, 0, now(), now()
           FROM generate_series(1, :collections) AS c""",
        f"""INSERT INTO collection_image (collection_id, file_id, added_at)
            SELECT 'col_' || lpad((g % :collections + 1)::text, 26, '0'), {fid}, now()
            FROM generate_series(2, :rows, 2) AS g WHERE g % 100 <> 0""",
        """INSERT INTO tag (id, workspace_id, key, name, use_count, created_at)
           SELECT 'tag_' || lpad(t::text, 26, '0'), :ws, 'tag ' || t, 'Tag ' || t, 0, now()
           FROM generate_series(1, :tags) AS t""",
        f"""INSERT INTO image_tag (tag_id, file_id)
            SELECT 'tag_' || lpad((g % :tags + 1)::text, 26, '0'), {fid} FROM generate_series(1, :rows) AS g
            WHERE g % 100 <> 0
            UNION ALL
            SELECT 'tag_' || lpad(((g * 7 + 3) % :tags + 1)::text, 26, '0'), {fid} FROM generate_series(4, :rows, 4) AS g
            WHERE (g * 7 + 3) % :tags <> g % :tags AND g % 100 <> 0""",
        """UPDATE collection SET image_count = (SELECT count(*) FROM collection_image m
                                                WHERE m.collection_id = collection.id) WHERE project_id = :prj""",
        "UPDATE tag SET use_count = (SELECT count(*) FROM image_tag m WHERE m.tag_id = tag.id) WHERE workspace_id = :ws",
    ):
        connection.execute(
            text(statement),
            {"ws": workspace_id, "prj": project_id, "rows": rows, "collections": COLLECTIONS, "tags": TAGS},
        )


def collection_id(number: int) -> str:
    return "col_" + str(number).rjust(26, "0")


def cases(page: str, api: str, project_id: str, rows: int) -> dict[str, tuple[str, str]]:
    """name -> (kind, path): the gallery's first page with each sort, filter and search; the API's calls."""
    rare = f"elodie-{rows // 2 - (rows // 2) % len(WORDS) + WORDS.index('élodie') - 1}"
    gallery = {
        "gallery newest": "",
        "gallery oldest": "sort=oldest",
        "gallery name A-Z": "sort=name",
        "gallery name Z-A": "sort=name_desc",
        "gallery largest": "sort=size",
        "gallery date taken": "sort=taken",
        "gallery date taken, oldest": "sort=taken_oldest",
        "gallery q=beach (common)": "q=beach",
        "gallery q=elodie-<n> (rare)": f"q={rare}",
        "gallery q=CAFÉ (accents)": "q=CAF%C3%89",
        "gallery status=failed": "status=failed",
        "gallery camera": "camera=Canon+EOS+R5",
        "gallery camera_make": "camera_make=SONY",
        "gallery lens": "lens=FE+85mm+F1.8",
        "gallery orientation=portrait": "orientation=portrait",
        "gallery colour=blue": "colour=blue",
        "gallery taken_after": "taken_after=2025-06-01",
        "gallery min_width=4500": "min_width=4500",
        "gallery max_size=100000": "max_size=100000",
        "gallery format=webp": "format=webp",
        "gallery source=master": "source=master",
        "gallery has_alt_text=false": "has_alt_text=false",
        "gallery collection": f"collection={collection_id(3)}",
        "gallery tag": "tag=tag+3",
        "gallery collection & tag": f"collection={collection_id(3)}&tag=tag+3",
        "gallery collection & tag (none in both)": f"collection={collection_id(1)}&tag=tag+3",
    }
    found = {name: ("page", f"{page}?{query}" if query else page) for name, query in gallery.items()}
    found |= {
        "gallery filter bar": ("facets", f"{page}/facets"),
        "gallery filter bar, orientation=portrait": ("facets", f"{page}/facets?orientation=portrait"),
        "api first page": ("page", f"{api}?project_id={project_id}"),
        "api first page, sort=-taken": ("page", f"{api}?project_id={project_id}&sort=-taken"),
        "api first page, camera": ("page", f"{api}?project_id={project_id}&camera=Canon+EOS+R5"),
        "api count=true": ("count", f"{api}?project_id={project_id}&count=true&limit=1"),
        "api count=true, orientation (estimate)": (
            "count",
            f"{api}?project_id={project_id}&count=true&limit=1&orientation=portrait",
        ),
        "api facets": ("facets", f"{api}/facets?project_id={project_id}"),
        "api facets, orientation=portrait": ("facets", f"{api}/facets?project_id={project_id}&orientation=portrait"),
    }
    return found


def explain(app, project_id: str, workspace_id: str) -> None:
    """The plans of the main queries at this size (what the indexes were chosen from)."""
    from sqlalchemy import text

    from app.domain import queries
    from app.extensions import db

    with app.app_context():
        for values in (
            {},
            {"camera": "Canon EOS R5"},
            {"q": "beach"},
            {"lens": "FE 85mm F1.8"},
            {"sort": "name"},
            {"sort": "-taken"},
        ):
            query = queries.parse(values, workspace_id=workspace_id, project_id=project_id, subject="images")
            statement = queries._select(query).order_by(*queries._order(query)).limit(51)
            compiled = statement.compile(db.engine)
            plan = db.session.connection().exec_driver_sql(f"EXPLAIN ANALYZE {compiled}", compiled.params).all()
            log(f"EXPLAIN {values}:\n" + "\n".join(row[0] for row in plan[:14]))
        db.session.execute(text("SELECT 1"))


@contextlib.contextmanager
def database(pg_url: str, rows: int, keep: bool):
    """A throwaway database, or with `keep` the database `aeontel_library_<rows>` (made when missing, never
    dropped: seeding ten million rows takes an hour, so a second run measures the same rows again)."""
    from services import throwaway_database
    from sqlalchemy.engine import make_url

    if not keep:
        with throwaway_database(pg_url) as made:
            yield made
        return
    import psycopg

    base, name = make_url(pg_url), f"aeontel_library_{rows}"
    with psycopg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True) as c:
        if c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            c.execute(f'CREATE DATABASE "{name}"')
    yield base.set(database=name).render_as_string(hide_password=False)


def prepare(rows: int, groups: bool) -> tuple[str, str, str, float]:
    """The bench's workspace, project and read token: seeded when the database is new, found when it was kept."""
    from sqlalchemy import select, text

    from app.domain import accounts, files
    from app.extensions import db

    found = db.session.execute(
        select(accounts.Workspace.id, accounts.Project.id)
        .join(accounts.Project, accounts.Project.workspace_id == accounts.Workspace.id)
        .where(accounts.Workspace.name == "Library bench")
    ).first()
    seeded = 0.0
    if found is None:
        ws = accounts.create_workspace("Library bench")
        prj = accounts.create_project(ws.id, "Website")
        accounts.create_user(EMAIL, PASSWORD, ws.id, "viewer")
        db.session.commit()
        found = (ws.id, prj.id)
        started = time.monotonic()
        # A bulk load goes around the per-row tally triggers and counts the tally once afterwards, as a restore would.
        db.session.execute(text("ALTER TABLE file DISABLE TRIGGER USER"))
        db.session.execute(text("ALTER TABLE image DISABLE TRIGGER USER"))
        seed(db.session.connection(), found[0], found[1], rows)
        db.session.execute(text("ALTER TABLE file ENABLE TRIGGER USER"))
        db.session.execute(text("ALTER TABLE image ENABLE TRIGGER USER"))
        if groups:
            seed_groups(db.session.connection(), found[0], found[1], rows)
        files.recount_tally(found[1])
        db.session.commit()
        seeded = time.monotonic() - started
    if groups and not db.session.scalar(text("SELECT count(*) FROM collection WHERE project_id = :p"), {"p": found[1]}):
        started = time.monotonic()  # a database kept from before the collections were part of the bench
        seed_groups(db.session.connection(), found[0], found[1], rows)
        db.session.commit()
        seeded += time.monotonic() - started
    _, read = accounts.create_token(found[0], "read")
    _, write = accounts.create_token(found[0], "write")
    db.session.commit()
    # VACUUM as autovacuum would on a library that has lived a while: the visibility map lets the membership
    # indexes answer without reading the table (index-only scans), and ANALYZE gives the planner its statistics.
    connection = db.session.connection().connection.driver_connection
    autocommit, connection.autocommit = connection.autocommit, True
    try:
        connection.execute("VACUUM ANALYZE" if groups else "ANALYZE")
    finally:
        connection.autocommit = autocommit
    return found[0], found[1], f"{read} {write}", seeded


def run_size(
    rows: int, requests: int, pg_url: str, redis_url: str, show_plans: bool, keep: bool, groups: bool = True
) -> dict:
    from sqlalchemy import text

    from app import create_app
    from app.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="aeontel-library-bench-"))
    app = None
    with database(pg_url, rows, keep) as url:
        try:
            env = bench_env(tmp / "instance", url)
            db_upgrade(env)  # a kept database is brought to the code's schema
            app = create_app(
                {
                    "instance_dir": str(tmp / "instance"),
                    "database_url": url,
                    "redis_url": redis_url,
                    "storage_root": str(tmp / "storage"),
                    "upload_tmp_dir": str(tmp / "uploads"),
                    "secret_key": env["SECRET_KEY"],
                }
            )
            with app.app_context():
                ws_id, prj_id, tokens, seeded = prepare(rows, groups)
                read, write = tokens.split()
                size = db.session.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar()
                sample = list(
                    db.session.scalars(
                        text(
                            "SELECT id FROM file WHERE project_id = :p AND status = 'ready' ORDER BY random() LIMIT 10000"
                        ),
                        {"p": prj_id},
                    )
                )
                db.session.commit()
            how = f"seeded in {seeded:.0f} s" if seeded else "kept from an earlier run"
            log(f"{rows:,} rows {how} ({size})")
            if show_plans:
                explain(app, prj_id, ws_id)
            client = app.test_client()
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
            signed_in = client.post("/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD})
            assert signed_in.status_code == 302, signed_in.text
            auth = {"Authorization": f"Bearer {read}"}
            found = cases(f"/w/{ws_id}/p/{prj_id}/content", "/api/images", prj_id, rows)
            if not groups:
                found = {name: case for name, case in found.items() if "collection" not in name and " tag" not in name}
            for name, (_, path) in found.items():
                for _ in range(2):
                    answer = client.get(path, headers=auth)
                    assert answer.status_code == 200, (name, answer.status_code, answer.text[:300])
            samples: dict[str, list[float]] = {name: [] for name in found}
            load_before = loadavg()
            for _ in range(requests):
                for name, (_, path) in found.items():
                    started = time.perf_counter()
                    answer = client.get(path, headers=auth)
                    samples[name].append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200
            if groups:
                samples[ADD] = add_selected(client, {"Authorization": f"Bearer {write}"}, prj_id, sample, requests)
                found[ADD] = ("add", "")
            shown = {
                name: client.get(path, headers=auth).get_json()
                for name, (kind, path) in found.items()
                if kind in ("count", "facets") and path.startswith("/api")
            }
            timing = {
                name: {
                    "kind": found[name][0],
                    "p50": percentile(sorted(values), 50),
                    "p95": percentile(sorted(values), 95),
                    "mean": statistics.fmean(values),
                }
                for name, values in samples.items()
            }
            return {
                "rows": rows,
                "seed_seconds": round(seeded),
                "database_size": size,
                "load_before": load_before,
                "load_after": loadavg(),
                "timing": timing,
                "answers": {
                    name: {
                        key: value
                        for key, value in (answer or {}).items()
                        if key in ("total", "total_estimated", "exact")
                    }
                    for name, answer in shown.items()
                },
            }
        finally:
            if app is not None:
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
            shutil.rmtree(tmp, ignore_errors=True)


ADD = "api add 10,000 selected to a collection"


def add_selected(client, auth: dict, project_id: str, ids: list[str], requests: int) -> list[float]:
    """Times `POST /api/collections/{id}/images` with 10,000 ids, each into a new collection (ms)."""
    times = []
    for _ in range(max(3, requests // 3)):
        made = client.post(
            "/api/collections", json={"projectId": project_id, "name": f"add {time.time_ns()}"}, headers=auth
        )
        assert made.status_code == 201, made.text
        started = time.perf_counter()
        answer = client.post(f"/api/collections/{made.json['id']}/images", json={"ids": ids}, headers=auth)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200 and answer.json["changed"] == len(ids), answer.text[:300]
        client.delete(f"/api/collections/{made.json['id']}", headers=auth)
    return times


def goal_of(kind: str) -> float:
    return {"count": COUNT_GOAL_MS, "facets": FACETS_GOAL_MS, "add": ADD_GOAL_MS}.get(kind, PAGE_GOAL_MS)


def report(runs: list[dict], machine: dict, vers: dict) -> tuple[str, bool]:
    base, sizes = runs[0], [run["rows"] for run in runs]
    head = "| case | " + " | ".join(f"{rows:,} p50 (p95)" for rows in sizes) + " | ratio | goal |"
    lines = [
        "# Library benchmark (issue 22)",
        "",
        f"{machine['date']} · {machine['nproc']} cores ({machine['cpu']}), {machine['memory']} · "
        f"PostgreSQL, in-process server time (ms)",
        "",
        "Load (uptime): " + "; ".join(f"{r['rows']:,}: {r['load_before']} → {r['load_after']}" for r in runs),
        "",
        "Seeding: " + "; ".join(f"{r['rows']:,} in {r['seed_seconds']} s ({r['database_size']})" for r in runs),
        "",
        head,
        "|" + "---|" * (len(sizes) + 3),
    ]
    passed = True
    for name, first in base["timing"].items():
        cells, last = [], runs[-1]["timing"][name]
        for run in runs:
            timing = run["timing"][name]
            cells.append(f"{timing['p50']:.1f} ({timing['p95']:.1f})")
        ratio = last["p50"] / first["p50"] if first["p50"] else 0
        goal = goal_of(first["kind"])
        ok = last["p50"] <= goal and (first["kind"] != "page" or ratio <= RATIO_GOAL or len(runs) == 1)
        passed &= ok
        limit = f"≤ {goal:.0f} ms" + (f", ≤ {RATIO_GOAL}×" if first["kind"] == "page" else "")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ratio:.2f}× | {limit}: {'met' if ok else 'MISSED'} |")
    lines += ["", "Answers at the largest size: `" + json.dumps(runs[-1]["answers"]) + "`", ""]
    lines += ["Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()), ""]
    return "\n".join(lines), passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000", help="comma-separated image counts (default 10k,1M)")
    parser.add_argument("--requests", type=int, default=11, help="timed requests per case (after 2 warm-ups)")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the main list queries")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/out alone")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="seed into aeontel_library_<size> and keep it; a later run with --keep measures it again (no seeding)",
    )
    parser.add_argument(
        "--without-groups",
        action="store_true",
        help="no collections and tags (neither seeded nor timed) and ANALYZE without VACUUM: the ten-million run "
        "within an hour",
    )
    args = parser.parse_args()
    machine, vers = machine_info(), versions(extra=("psycopg", "sqlalchemy"))
    redis = devstack.RedisServer().start()
    try:
        runs = [
            run_size(int(rows), args.requests, args.pg_url, redis.url, args.explain, args.keep, not args.without_groups)
            for rows in args.sizes.split(",")
        ]
    finally:
        redis.stop()
    if not args.no_write:  # the measurements first, so a fault in the report loses nothing
        OUT_JSON.parent.mkdir(exist_ok=True)
        OUT_JSON.write_text(json.dumps({"machine": machine, "versions": vers, "runs": runs}, indent=2, default=str))
    text, passed = report(runs, machine, vers)
    print(text)
    if not args.no_write:
        OUT_MD.parent.mkdir(exist_ok=True)
        OUT_MD.write_text(text)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
