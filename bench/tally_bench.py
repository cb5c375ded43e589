"""Write cost of the tally triggers (issue 22): one transaction that changes 10,000 files of a project, with 0015's
row triggers, 0019's statement triggers and no triggers, side by side.

On a throwaway PostgreSQL database (created and dropped as tests/services.py `throwaway_database` does) it
  1. builds the schema with the real migrations (`aeontel db upgrade`, so 0019's statement triggers are in place);
  2. seeds --rows files of one project (two in three with an image row) plus 10,000 trashed files, with the
     triggers disabled, then counts the tally once (`files.recount_tally`) and runs VACUUM ANALYZE;
  3. for each round and each variant (row, statement, none: `ALTER TABLE … DISABLE TRIGGER USER`), times one
     transaction per case and rolls it back, then VACUUMs, so every variant starts from the same rows:
       trash    one UPDATE setting deleted_at on 10,000 live files (a set-based bulk trash);
       restore  one UPDATE clearing deleted_at on the 10,000 trashed files;
       insert   one INSERT of 10,000 files, then one INSERT of their 10,000 image rows;
       per-row  10,000 single-row UPDATEs setting deleted_at in one transaction (the shape of today's
                `bulk.delete`, which calls `trash.discard` once per file), sent pipelined by psycopg;
  4. times --uploads upload-shaped transactions per variant (INSERT one file, COMMIT), p50/p95, and then as many
     provisioning-shaped ones (INSERT its image row, UPDATE its status to ready, COMMIT); then two writers on two
     connections commit --uploads one-file transactions each at once, into one project (one tally row for both)
     and into two projects, in files per second: the hot-row wait a delta journal would remove.
After each variant the tally is compared with a fresh count (the none variant rolled back, so it agrees too).

  .venv/bin/python bench/tally_bench.py --pg-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO), str(REPO / "tests")]

from list_bench import NO_REDIS, bench_env, db_upgrade  # noqa: E402
from stack import loadavg, log, machine_info, percentile  # noqa: E402

OUT_JSON = BENCH / "out" / "tally_bench.json"
BULK = 10_000
VARIANTS = ("row", "statement", "none")


def migration():
    """Migration 0019, whose SQL swaps the row and statement triggers."""
    path = REPO / "migrations" / "versions" / "0019_tally_per_statement.py"
    spec = importlib.util.spec_from_file_location("tally_per_statement", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def use(conn, variant: str, current: str, m) -> str:
    """Puts the variant's triggers in place (autocommit connection) and returns it; none is the statement triggers
    disabled."""
    if current == "none":
        conn.execute("ALTER TABLE file ENABLE TRIGGER USER")
        conn.execute("ALTER TABLE image ENABLE TRIGGER USER")
        current = "statement"
    wanted = "statement" if variant == "none" else variant
    if current != wanted:
        swap = m.drop_statement_triggers() + m.create_row_triggers() if wanted == "row" else []
        swap = swap or m.ROW_TRIGGERS_DROP + m.create_statement_triggers()
        with conn.transaction():
            for sql in swap:
                conn.execute(sql)
    if variant == "none":
        conn.execute("ALTER TABLE file DISABLE TRIGGER USER")
        conn.execute("ALTER TABLE image DISABLE TRIGGER USER")
    return variant


FILE_COLUMNS = (
    "id, workspace_id, project_id, name, mime_type, size, sha256, storage_key, status, created_at, updated_at"
)


def file_rows(prefix: str, first: int, count: int, trashed: bool) -> str:
    deleted = "now() - interval '1 day'" if trashed else "NULL"
    return (
        f"INSERT INTO file ({FILE_COLUMNS}, deleted_at, purge_after, name_folded) "
        f"SELECT '{prefix}' || lpad(i::text, 12, '0'), %(ws)s, %(prj)s, 'photo-' || i || '.jpg', 'image/jpeg', 1000, "
        f"md5(i::text) || md5(i::text), 'k/' || i, 'ready', now(), now(), {deleted}, "
        f"CASE WHEN {deleted} IS NULL THEN NULL ELSE now() + interval '30 days' END, 'photo-' || i || '.jpg' "
        f"FROM generate_series({first}, {first + count - 1}) AS i"
    )


def image_rows(prefix: str, where: str = "true") -> str:
    return (
        "INSERT INTO image (file_id, workspace_id, cf_image_id, width, height, size, format, exif, "
        "require_signed_urls, decorative, version, created_at, source) "
        f"SELECT id, workspace_id, id, 800, 600, 1000, 'jpeg', '{{}}', false, false, 1, now(), 'original' FROM file "
        f"WHERE id LIKE '{prefix}%%' AND {where}"
    )


def seed(conn, ws: str, prj: str, rows: int) -> None:
    with conn.transaction():
        conn.execute("ALTER TABLE file DISABLE TRIGGER USER")
        conn.execute("ALTER TABLE image DISABLE TRIGGER USER")
        conn.execute(file_rows("s", 0, rows, False), {"ws": ws, "prj": prj})
        conn.execute(file_rows("t", 0, BULK, True), {"ws": ws, "prj": prj})
        conn.execute(image_rows("s", "right(id, 1) IN ('0', '1', '3', '4', '6', '7', '9')"))
        conn.execute("ALTER TABLE file ENABLE TRIGGER USER")
        conn.execute("ALTER TABLE image ENABLE TRIGGER USER")
    conn.execute("VACUUM ANALYZE")


def cases(ws: str, prj: str, live_ids: list[str]) -> dict:
    params = {"ws": ws, "prj": prj}

    def trash(cur):
        cur.execute(
            "UPDATE file SET deleted_at = now(), purge_after = now() + interval '30 days' WHERE id = ANY(%(ids)s)",
            {"ids": live_ids},
        )

    def restore(cur):
        cur.execute(
            "UPDATE file SET deleted_at = NULL, purge_after = NULL WHERE project_id = %(prj)s AND id LIKE 't%%'",
            params,
        )

    def insert(cur):
        cur.execute(file_rows("n", 0, BULK, False), params)
        cur.execute(image_rows("n"))

    def per_row(cur):
        cur.executemany(
            "UPDATE file SET deleted_at = now(), purge_after = now() + interval '30 days' "
            "WHERE id = %s AND deleted_at IS NULL",
            [(i,) for i in live_ids],
        )

    return {"trash": trash, "restore": restore, "insert": insert, "per-row": per_row}


def timed(conn, case) -> float:
    with conn.cursor() as cur:
        started = time.perf_counter()
        case(cur)
        elapsed = time.perf_counter() - started
    conn.rollback()
    return elapsed


def uploads(conn, ws: str, prj: str, count: int, round_: int, variant: str) -> dict:
    """Upload-shaped transactions: one file row and COMMIT; then its image row and status, COMMIT."""
    prefix = f"u{round_}{variant[0]}"
    inserted, provisioned = [], []
    for i in range(count):
        started = time.perf_counter()
        conn.execute(
            f"INSERT INTO file ({FILE_COLUMNS}) VALUES (%(id)s, %(ws)s, %(prj)s, 'up.jpg', 'image/jpeg', 1, 'x', 'k', "
            "'pending', now(), now())",
            {"id": f"{prefix}{i:08d}", "ws": ws, "prj": prj},
        )
        conn.commit()
        inserted.append(time.perf_counter() - started)
    for i in range(count):
        started = time.perf_counter()
        conn.execute(image_rows(f"{prefix}{i:08d}"))
        conn.execute("UPDATE file SET status = 'ready' WHERE id = %(id)s", {"id": f"{prefix}{i:08d}"})
        conn.commit()
        provisioned.append(time.perf_counter() - started)
    conn.execute("DELETE FROM image WHERE file_id LIKE %(p)s", {"p": f"{prefix}%"})
    conn.execute("DELETE FROM file WHERE id LIKE %(p)s", {"p": f"{prefix}%"})
    conn.commit()
    return {"insert": inserted, "provision": provisioned}


def concurrent(dsn: str, ws: str, projects: list[str], count: int, tag: str) -> float:
    """Two writers, each its own connection, committing `count` one-file transactions at once, into the projects
    given (the same one twice: both update one tally row; two projects: two rows); returns files per second."""
    import psycopg

    def write(n: int, prj: str) -> None:
        with psycopg.connect(dsn) as conn:
            for i in range(count):
                conn.execute(
                    f"INSERT INTO file ({FILE_COLUMNS}) VALUES (%(id)s, %(ws)s, %(prj)s, 'up.jpg', 'image/jpeg', 1, "
                    "'x', 'k', 'pending', now(), now())",
                    {"id": f"c{tag}{n}{i:08d}", "ws": ws, "prj": prj},
                )
                conn.commit()

    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(write, range(2), projects))
    elapsed = time.perf_counter() - started
    with psycopg.connect(dsn) as conn:
        conn.execute("DELETE FROM file WHERE id LIKE %(p)s", {"p": f"c{tag}%"})
    return 2 * count / elapsed


def agrees(conn, prj: str) -> bool:
    kind = (
        "CASE WHEN EXISTS (SELECT 1 FROM image WHERE image.file_id = file.id) THEN 'image' "
        "WHEN mime_type LIKE 'image/%%' THEN 'picture' ELSE 'other' END"
    )
    counted = conn.execute(
        f"SELECT deleted_at IS NULL, {kind}, status, count(*) FROM file WHERE project_id = %(p)s GROUP BY 1, 2, 3",
        {"p": prj},
    ).fetchall()
    tallied = conn.execute(
        "SELECT live, kind, status, n FROM file_tally WHERE project_id = %(p)s AND n <> 0", {"p": prj}
    ).fetchall()
    conn.commit()
    return sorted(counted) == sorted(tallied)


def run(pg_url: str, rows: int, rounds: int, upload_count: int) -> dict:
    import psycopg
    from services import throwaway_database

    from app import create_app
    from app.domain import accounts, files
    from app.extensions import db

    m = migration()
    tmp = Path(tempfile.mkdtemp(prefix="aeontel-tally-bench-"))
    with throwaway_database(pg_url) as url:
        env = bench_env(tmp / "instance", url)
        db_upgrade(env)
        app = create_app(
            {
                "instance_dir": str(tmp / "instance"),
                "database_url": url,
                "redis_url": NO_REDIS,
                "secret_key": env["SECRET_KEY"],
                "storage_root": str(tmp / "storage"),
                "upload_tmp_dir": str(tmp / "up"),
            }
        )
        with app.app_context():
            ws = accounts.create_workspace("Tally bench")
            prj = accounts.create_project(ws.id, "Website")
            db.session.commit()
            other = accounts.create_project(ws.id, "Archive")
            db.session.commit()
            ws_id, prj_id, other_id = ws.id, prj.id, other.id
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        admin = psycopg.connect(dsn, autocommit=True)
        conn = psycopg.connect(dsn)
        try:
            started = time.monotonic()
            seed(admin, ws_id, prj_id, rows)
            with app.app_context():
                files.recount_tally(prj_id)
                db.session.commit()
                db.session.remove()
                db.engine.dispose()
            log(f"{rows:,} + {BULK:,} trashed rows seeded in {time.monotonic() - started:.0f} s")
            live_ids = [
                r[0] for r in admin.execute("SELECT id FROM file WHERE id LIKE 's%%' ORDER BY id LIMIT %s", (BULK,))
            ]
            found = cases(ws_id, prj_id, live_ids)
            bulk = {variant: {case: [] for case in found} for variant in VARIANTS}
            single = {variant: {"insert": [], "provision": []} for variant in VARIANTS}
            rates = {variant: {"one project": [], "two projects": []} for variant in VARIANTS}
            current = "statement"
            for round_ in range(rounds):
                for variant in VARIANTS:
                    current = use(admin, variant, current, m)
                    for name, case in found.items():
                        bulk[variant][name].append(timed(conn, case))
                        admin.execute("VACUUM file, image, file_tally")
                        log(
                            f"round {round_ + 1} {variant:9} {name:8} {bulk[variant][name][-1]:7.2f} s "
                            f"(load {loadavg()})"
                        )
                    for shape, took in uploads(conn, ws_id, prj_id, upload_count, round_, variant).items():
                        single[variant][shape] += took
                    for name, targets in (("one project", [prj_id, prj_id]), ("two projects", [prj_id, other_id])):
                        tag = f"{round_}{variant[0]}{len(set(targets))}"
                        rates[variant][name].append(concurrent(dsn, ws_id, targets, upload_count, tag))
                    admin.execute("VACUUM file, image, file_tally")
                    assert agrees(conn, prj_id), f"tally disagrees after {variant}"
            use(admin, "statement", current, m)
            assert agrees(conn, prj_id)
        finally:
            conn.close()
            admin.close()
    return {"bulk": bulk, "single": single, "concurrent": rates}


def summary(result: dict) -> list[str]:
    lines = [
        "| case (one transaction, 10,000 files) | row triggers (0015) | statement triggers (0019) | no triggers |",
        "|---|---|---|---|",
    ]
    for case in result["bulk"]["row"]:
        cells = [f"{statistics.median(result['bulk'][v][case]):.2f} s" for v in VARIANTS]
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| single-row transaction | row p50 / p95 | statement p50 / p95 | none p50 / p95 |",
        "|---|---|---|---|",
    ]
    for shape in ("insert", "provision"):
        cells = []
        for v in VARIANTS:
            took = sorted(result["single"][v][shape])
            cells.append(f"{percentile(took, 50) * 1000:.2f} / {percentile(took, 95) * 1000:.2f} ms")
        lines.append(f"| {shape} | " + " | ".join(cells) + " |")
    lines += ["", "| two concurrent writers, one-file transactions | row | statement | none |", "|---|---|---|---|"]
    for name in ("one project", "two projects"):
        cells = [f"{statistics.median(result['concurrent'][v][name]):.0f} files/s" for v in VARIANTS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--uploads", type=int, default=200)
    args = parser.parse_args()
    info = {**machine_info(), "load_before": loadavg(), "rows": args.rows, "rounds": args.rounds}
    log(f"tally bench: {args.rows:,} rows, {args.rounds} rounds, load {info['load_before']}")
    result = run(args.pg_url, args.rows, args.rounds, args.uploads)
    info["load_after"] = loadavg()
    OUT_JSON.parent.mkdir(exist_ok=True)
    OUT_JSON.write_text(json.dumps({"machine": info, **result}, indent=1))
    print("\n".join([f"{info}", *summary(result)]))


if __name__ == "__main__":
    main()
