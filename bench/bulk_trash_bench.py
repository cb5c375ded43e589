"""Bulk delete into the trash and bulk restore of 10,000 files of a 100,000-file project on PostgreSQL, timed for two
versions of the code side by side (issue 22's follow-up: `trash.discard_all` / `trash.restore_all` set-based).

    .venv/bin/python bench/bulk_trash_bench.py --pg-url postgresql://postgres@127.0.0.1:5432/<your db>
    .venv/bin/python bench/bulk_trash_bench.py --before main --sizes 1000,10000 --before-sizes 1000,2000 --rounds 3

For each version (--before: a git ref, exported with `git archive` into a temp dir; then this working tree) a child
process of this script, with that version's `app` first on sys.path,
  1. makes a throwaway database on the server of --pg-url (tests/services.throwaway_database: created and dropped
     WITH (FORCE) whatever happens) and builds the schema with the real migrations (`aeontel db upgrade`);
  2. seeds one project as bench/library_bench.py does (`seed`, `seed_groups`): --rows files, 99 in 100 with an image
     row (one in three with alt text), one in 100 failed, 50 collections and 200 tags; the tally counted once;
     VACUUM ANALYZE;
  3. selects every tenth file (the first N of them for each N of --sizes: 9 in 10 images, 1 in 10 failed, about
     half in a collection, all tagged) and, per round and size, times in-process `bulk.delete(workspace, project,
     ids)` (the gallery's bulk Delete: into the trash, one transaction, committed) and then
     `trash.restore_files(workspace, ids)` (Undo / Restore), counting the SQL statements each sends (INSERTs of
     events and removals included) and logging the six kinds of statement that took longest; checks the tally
     against a fresh count and the collections' and tags' counts against their rows after each; then puts the
     selection back as seeded (image rows, statuses, no events, removals or provisioning rows) and VACUUMs, so every
     round and version starts from the same rows.
The per-file path of `main` grows faster than the selection (over a minute for 2,000 files on a loaded 2-core box):
time it at small sizes with --before-sizes and --before-rounds.
The parent prints and writes bench/out/bulk_trash_bench.json: median seconds and statements per case and version.
Redis is an address nobody answers (the events' enqueue after commit fails fast, the relay would carry them).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT_JSON = BENCH / "out" / "bulk_trash_bench.json"


def child(code: Path, pg_url: str, rows: int, bulk: int, sizes: list[int], rounds: int) -> dict:
    """Runs in the child process whose sys.path starts with `code`: seeds, times, checks; returns the figures."""
    sys.path[:0] = [str(code), str(BENCH), str(REPO / "tests")]
    import app  # first, from `code`: the bench modules imported next put this tree at the head of sys.path

    assert Path(app.__file__).resolve().is_relative_to(code.resolve()), f"app from {app.__file__}, not {code}"
    import psycopg
    from library_bench import seed, seed_groups
    from list_bench import NO_REDIS, bench_env, db_upgrade
    from services import throwaway_database
    from sqlalchemy import event, text
    from stack import loadavg, log

    from app import create_app
    from app.domain import accounts, files, trash
    from app.domain import bulk as bulk_actions
    from app.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="aeontel-bulk-trash-bench-"))
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
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        admin = psycopg.connect(dsn, autocommit=True)
        statements: list[int] = [0]
        spent: dict[str, list] = {}  # statement's first words -> [count, seconds], per case (--statement-times)

        def count(conn, _cursor, statement, *_args) -> None:
            statements[0] += 1
            conn.info["bench_started"] = (" ".join(statement.split()[:5]), time.perf_counter())

        def timed(conn, *_args) -> None:
            key, started = conn.info.pop("bench_started")
            entry = spent.setdefault(key, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - started

        try:
            with app.app_context():
                ws = accounts.create_workspace("Bulk trash bench")
                prj = accounts.create_project(ws.id, "Everything")
                db.session.commit()
                ws_id, prj_id = ws.id, prj.id
                started = time.monotonic()
                with db.engine.begin() as connection:
                    seed(connection, ws_id, prj_id, rows)
                    seed_groups(connection, ws_id, prj_id, rows)
                files.recount_tally(prj_id)
                db.session.commit()
                log(f"{rows:,} files seeded in {time.monotonic() - started:.0f} s")
                step = rows // bulk
                ids = list(
                    db.session.scalars(
                        text("SELECT id FROM file WHERE project_id = :p ORDER BY id").bindparams(p=prj_id)
                    )
                )[step - 1 :: step][:bulk]
                db.session.remove()
                engine = db.engine
            admin.execute("CREATE TABLE bench_image AS SELECT * FROM image WHERE file_id = ANY(%s)", (ids,))
            admin.execute("CREATE TABLE bench_file AS SELECT id, status FROM file WHERE id = ANY(%s)", (ids,))
            admin.execute("VACUUM ANALYZE")
            event.listen(engine, "before_cursor_execute", count)
            event.listen(engine, "after_cursor_execute", timed)
            times = {size: {"delete": [], "restore": []} for size in sizes}
            sent = {size: {"delete": [], "restore": []} for size in sizes}
            for round_ in range(rounds):
                for size in sizes:
                    chosen = ids[:size]
                    for case, run in (
                        ("delete", lambda chosen=chosen: bulk_actions.delete(ws_id, prj_id, chosen)),
                        ("restore", lambda chosen=chosen: trash.restore_files(ws_id, chosen)),
                    ):
                        with app.app_context():
                            statements[0] = 0
                            spent.clear()
                            took = time.perf_counter()
                            run()
                            times[size][case].append(time.perf_counter() - took)
                            sent[size][case].append(statements[0])
                            db.session.remove()
                        assert agrees(admin, prj_id, ws_id), f"counts disagree after {case}"
                        for key, (n, seconds) in sorted(spent.items(), key=lambda kv: -kv[1][1])[:6]:
                            log(f"    {seconds:6.2f} s in {n:5} × {key}")
                        log(
                            f"round {round_ + 1} {size:6,} {case:8} {times[size][case][-1]:7.2f} s "
                            f"{sent[size][case][-1]:6} statements (load {loadavg()})"
                        )
                        admin.execute("VACUUM file, image, image_provisioning, event, pending_removal, file_tally")
                    reset(admin, ids)
            event.remove(engine, "before_cursor_execute", count)
            event.remove(engine, "after_cursor_execute", timed)
        finally:
            admin.close()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            shutil.rmtree(tmp, ignore_errors=True)
    return {"seconds": times, "statements": sent}


def agrees(conn, prj: str, ws: str) -> bool:
    """The tally equals a fresh count of the files, and every collection and tag counts its live members."""
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
    wrong_collections = conn.execute(
        "SELECT count(*) FROM collection c WHERE project_id = %(p)s AND image_count <> (SELECT count(*) FROM "
        "collection_image m JOIN file f ON f.id = m.file_id WHERE m.collection_id = c.id AND f.deleted_at IS NULL)",
        {"p": prj},
    ).fetchone()[0]
    wrong_tags = conn.execute(
        "SELECT count(*) FROM tag t WHERE workspace_id = %(w)s AND use_count <> (SELECT count(*) FROM "
        "image_tag m JOIN file f ON f.id = m.file_id WHERE m.tag_id = t.id AND f.deleted_at IS NULL)",
        {"w": ws},
    ).fetchone()[0]
    return sorted(counted) == sorted(tallied) and wrong_collections == 0 and wrong_tags == 0


def reset(conn, ids: list[str]) -> None:
    """The selection as seeded again: live, its image rows and statuses back, no provisioning, events or removals."""
    with conn.transaction():
        conn.execute("DELETE FROM image_provisioning WHERE file_id = ANY(%s)", (ids,))
        conn.execute("DELETE FROM image WHERE file_id = ANY(%s)", (ids,))
        conn.execute("INSERT INTO image SELECT * FROM bench_image")
        conn.execute(
            "UPDATE file SET status = b.status, error_code = NULL, error_message = NULL, kept_image = NULL, "
            "deleted_at = NULL, purge_after = NULL FROM bench_file b WHERE file.id = b.id"
        )
        conn.execute("DELETE FROM event")
        conn.execute("DELETE FROM pending_removal")
    conn.execute("VACUUM ANALYZE file, image, image_provisioning, event, pending_removal, file_tally")


def export(ref: str) -> Path:
    """The code of a git ref in a temp dir (`git archive`: no worktree, nothing in the repository changes)."""
    target = Path(tempfile.mkdtemp(prefix=f"aeontel-bench-{ref.replace('/', '-')}-"))
    archive = subprocess.run(["git", "archive", ref], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sizes", default="1000,10000", help="selection sizes, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", default="main", help="the git ref to compare with this working tree")
    parser.add_argument("--before-sizes", help="the sizes timed for --before (default: --sizes)")
    parser.add_argument("--before-rounds", type=int, help="rounds for --before (default: --rounds)")
    parser.add_argument("--code", help=argparse.SUPPRESS)  # a child: time the code in this directory
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.code:
        result = child(Path(args.code), args.pg_url, args.rows, max(sizes), sizes, args.rounds)
        Path(args.out).write_text(json.dumps(result))
        return
    sys.path[:0] = [str(BENCH)]
    from stack import loadavg, log, machine_info

    info = {**machine_info(), "load_before": loadavg(), **{k: v for k, v in vars(args).items() if k != "pg_url"}}
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
    runs = {
        args.before: (export(args.before), args.before_sizes or args.sizes, args.before_rounds or args.rounds),
        f"this tree ({head.strip()})": (REPO, args.sizes, args.rounds),
    }
    results = {}
    for name, (code, sized, rounds) in runs.items():
        log(f"{name}: {args.rows:,} files, selections of {sized}, {rounds} rounds, load {loadavg()}")
        out = Path(tempfile.mkstemp(suffix=".json")[1])
        command = [sys.executable, __file__, "--code", str(code), "--out", str(out), "--pg-url", args.pg_url]
        command += ["--rows", str(args.rows), "--sizes", sized, "--rounds", str(rounds)]
        subprocess.run(command, check=True)
        results[name] = json.loads(out.read_text())
        out.unlink()
        if code != REPO:
            shutil.rmtree(code, ignore_errors=True)
    info["load_after"] = loadavg()
    OUT_JSON.parent.mkdir(exist_ok=True)
    OUT_JSON.write_text(json.dumps({"machine": info, **results}, indent=1))
    names = list(results)
    lines = [f"| files of {args.rows:,}, one transaction | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for size in sorted({int(size) for result in results.values() for size in result["seconds"]}):
        for case in ("delete", "restore"):
            cells = []
            for n in names:
                done = results[n]["seconds"].get(str(size))
                sent = results[n]["statements"].get(str(size))
                cells.append(
                    f"{statistics.median(done[case]):.2f} s ({statistics.median(sent[case]):,.0f} statements)"
                    if done
                    else "not run"
                )
            lines.append(f"| {size:,} files: bulk {case} | " + " | ".join(cells) + " |")
    print("\n".join([f"{info}", *lines]))


if __name__ == "__main__":
    main()
