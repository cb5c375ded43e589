#!/usr/bin/env python3
"""Issue 22 (Organise): collections and tags on PostgreSQL at 10,000 and 1,000,000 images in one project.

One command, from the repository root:

    .venv/bin/python bench/collections_bench.py                       # --sizes 10000,1000000
    .venv/bin/python bench/collections_bench.py --sizes 10000,100000  # a quicker run

For each size it
  1. makes a throwaway PostgreSQL database (bench/list_bench.throwaway_database), builds the schema with the real
     migrations (`aeontel db upgrade`) and starts a private Redis with app/devstack.py (the outbox enqueues there);
  2. seeds through SQL only (`generate_series`, no upload path): N ready images in one project, 50 collections
     (every second image in one of them), 200 tags (every image carries one, every fourth a second), the counts
     written into the collection and tag rows, then ANALYZE;
  3. times in-process (Flask test client, `time.perf_counter()` around each request, --requests after a warm-up)
     the first page of `GET /api/images` with `collection=`, with `tag=`, and with both (p50/p95 server time);
  4. times `POST /api/collections/{id}/images` adding 10,000 selected images by ids (the gallery's "all that match"
     and the API's bulk selection send at most that many) and by query (`{"tag": [...]}`), each into a fresh
     collection, --adds times.

Goal (issue 22): adding 10,000 selected images answers in <= 2 s. The list pages are reported beside the 10,000-image
figure (the faceted-search branch owns their goals). Writes bench/out/collections_bench.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO)]

from list_bench import bench_env, db_upgrade, throwaway_database  # noqa: E402
from stack import loadavg, log, machine_info, percentile  # noqa: E402

from app import devstack  # noqa: E402  one launcher for the benchmark's processes

OUT = BENCH / "out" / "collections_bench.md"
ADD_GOAL_S = 2.0
SELECTED = 10_000
COLLECTIONS, TAGS = 50, 200


def seed(conn, workspace_id: str, project_id: str, n: int) -> float:
    """N images, 50 collections and 200 tags through SQL; returns the seconds it took."""
    started = time.perf_counter()
    fid = "'fil_' || lpad(i::text, 26, '0')"
    conn.exec_driver_sql(
        f"""INSERT INTO file (id, workspace_id, project_id, name, mime_type, size, sha256, storage_key, status,
                              created_at, updated_at, taken_at)
            SELECT {fid}, %(ws)s::text, %(prj)s::text, 'photo-' || i || '.jpg', 'image/jpeg', 100000 + mod(i::bigint * 7919, 9000000),
                   md5(i::text) || md5(i::text), %(ws)s::text || '/' || {fid}, 'ready',
                   timestamp '2020-01-01' + i * interval '1 second', timestamp '2020-01-01' + i * interval '1 second',
                   timestamp '2020-01-01' + i * interval '1 second'
            FROM generate_series(1, %(n)s::int) AS i""",
        {"ws": workspace_id, "prj": project_id, "n": n},
    )
    conn.exec_driver_sql(
        f"""INSERT INTO image (file_id, workspace_id, cf_image_id, width, height, size, format, exif,
                               require_signed_urls, decorative, created_at, source)
            SELECT {fid}, %(ws)s::text, {fid}, 4000, 3000, 100000 + mod(i::bigint * 7919, 9000000), 'jpeg', '{{}}', false, false,
                   timestamp '2020-01-01' + i * interval '1 second', 'original'
            FROM generate_series(1, %(n)s::int) AS i""",
        {"ws": workspace_id, "n": n},
    )
    conn.exec_driver_sql(
        """INSERT INTO collection (id, workspace_id, project_id, name, name_key, image_count, created_at, updated_at)
           SELECT 'col_' || lpad(c::text, 26, '0'), %(ws)s::text, %(prj)s::text, 'Collection ' || c, 'collection ' || c, 0,
                  now(), now()
           FROM generate_series(1, %(k)s::int) AS c""",
        {"ws": workspace_id, "prj": project_id, "k": COLLECTIONS},
    )
    conn.exec_driver_sql(
        f"""INSERT INTO collection_image (collection_id, file_id, added_at)
            SELECT 'col_' || lpad((mod(i, %(k)s) + 1)::text, 26, '0'), {fid}, now()
            FROM generate_series(2, %(n)s::int, 2) AS i""",
        {"k": COLLECTIONS, "n": n},
    )
    conn.exec_driver_sql(
        """INSERT INTO tag (id, workspace_id, key, name, use_count, created_at)
           SELECT 'tag_' || lpad(t::text, 26, '0'), %(ws)s::text, 'tag ' || t, 'Tag ' || t, 0, now()
           FROM generate_series(1, %(k)s::int) AS t""",
        {"ws": workspace_id, "k": TAGS},
    )
    conn.exec_driver_sql(
        f"""INSERT INTO image_tag (tag_id, file_id)
            SELECT 'tag_' || lpad((mod(i, %(k)s) + 1)::text, 26, '0'), {fid} FROM generate_series(1, %(n)s::int) AS i
            UNION ALL
            SELECT 'tag_' || lpad((mod(i * 7 + 3, %(k)s) + 1)::text, 26, '0'), {fid}
            FROM generate_series(4, %(n)s::int, 4) AS i WHERE mod(i * 7 + 3, %(k)s) <> mod(i, %(k)s)""",
        {"k": TAGS, "n": n},
    )
    conn.exec_driver_sql(
        """UPDATE collection SET image_count = (SELECT count(*) FROM collection_image m
                                                WHERE m.collection_id = collection.id)"""
    )
    conn.exec_driver_sql("UPDATE tag SET use_count = (SELECT count(*) FROM image_tag m WHERE m.tag_id = tag.id)")
    return time.perf_counter() - started


def timed(client, method: str, url: str, headers: dict, runs: int, **kwargs) -> list[float]:
    for _ in range(2):
        answer = client.open(url, method=method, headers=headers, **kwargs)
        assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    spent = []
    for _ in range(runs):
        t0 = time.perf_counter()
        answer = client.open(url, method=method, headers=headers, **kwargs)
        spent.append((time.perf_counter() - t0) * 1000)
        assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return sorted(spent)


def explain(app, workspace_id: str, project_id: str, collection: str, tag: str) -> str:
    """EXPLAIN ANALYZE of the first page with both filters, as the engine builds it (its select, order and limit)."""
    from sqlalchemy.dialects import postgresql

    from app.domain import queries
    from app.extensions import db

    with app.app_context():
        query = queries.parse(
            {"project_id": project_id, "collection": collection, "tag": [tag], "limit": 50},
            workspace_id=workspace_id,
            subject="images",
        )
        statement = queries._select(query).order_by(*queries._order(query)).limit(51)  # noqa: SLF001 - as run() does
        sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
        rows = db.session.execute(db.text("EXPLAIN (ANALYZE, BUFFERS) " + sql)).scalars().all()
        db.session.remove()
    return "\n".join(rows)


def run_size(n: int, pg_url: str, requests: int, adds: int) -> dict:
    from app import create_app
    from app.domain import accounts
    from app.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="collections-bench-"))
    redis = devstack.RedisServer(directory=tmp, log=tmp / "redis.log").start()
    try:
        with throwaway_database("postgresql", tmp, pg_url) as url:
            env = bench_env(tmp / "instance", url) | {"REDIS_URL": redis.url}
            db_upgrade(env)
            app = create_app(
                {
                    "database_url": url,
                    "redis_url": redis.url,
                    "secret_key": "collections-bench-" + uuid.uuid4().hex,
                    "instance_dir": str(tmp / "instance"),
                    "storage_root": str(tmp / "storage"),
                }
            )
            with app.app_context():
                workspace = accounts.create_workspace("Bench")
                project = accounts.create_project(workspace.id, "Library")
                _, token = accounts.create_token(workspace.id, "write")
                db.session.commit()
                ws, prj = workspace.id, project.id
                with db.engine.begin() as conn:
                    seconds = seed(conn, ws, prj, n)
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("ANALYZE")
                db.session.remove()
            log(f"{n:,} images seeded in {seconds:.1f} s")
            client = app.test_client()
            auth = {"Authorization": f"Bearer {token}"}
            col, tag = "col_" + "1".rjust(26, "0"), "Tag%201"
            base = f"/api/images?project_id={prj}&limit=50"
            pages = {
                "no filter": timed(client, "GET", base, auth, requests),
                "collection": timed(client, "GET", f"{base}&collection={col}", auth, requests),
                "tag": timed(client, "GET", f"{base}&tag={tag}", auth, requests),
                "collection + tag": timed(client, "GET", f"{base}&collection={col}&tag={tag}", auth, requests),
            }
            plan = explain(app, ws, prj, col, "tag 1")
            adding = {"10,000 ids": [], "query (tag)": []}
            ids = ["fil_" + str(i).rjust(26, "0") for i in range(1, n + 1, max(1, n // SELECTED))][:SELECTED]
            for round_ in range(adds):
                for what, body in (("10,000 ids", {"ids": ids}), ("query (tag)", {"query": {"tag": ["tag 3"]}})):
                    made = client.post(
                        "/api/collections", json={"projectId": prj, "name": f"{what} {round_}"}, headers=auth
                    )
                    path = f"/api/collections/{made.json['id']}/images"
                    t0 = time.perf_counter()
                    answer = client.post(path, json=body, headers=auth)
                    adding[what].append(time.perf_counter() - t0)
                    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
                    log(f"{what}: {answer.json['changed']:,} added in {adding[what][-1]:.2f} s")
            added_by_query = answer.json["changed"]
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            return {
                "n": n,
                "seed_s": seconds,
                "pages": pages,
                "adding": adding,
                "by_query": added_by_query,
                "plan": plan,
            }
    finally:
        redis.stop()


def report(results: list[dict], started: str, load_before: str, load_after: str) -> str:
    lines = [
        f"### Collections and tags (issue 22) — {started}",
        "",
        f"2-core shared dev machine, PostgreSQL, load average {load_before} before / {load_after} after; "
        f"`bench/collections_bench.py --sizes {','.join(str(r['n']) for r in results)}`. Server time in-process, "
        "ms p50 / p95 (first page of 50); adds in seconds (each into a fresh collection).",
        "",
        "| images | seeded (SQL) | no filter | collection= | tag= | collection= & tag= | add 10,000 by ids | "
        "add by query |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        cells = [f"{r['n']:,}", f"{r['seed_s']:.0f} s"]
        for values in r["pages"].values():
            cells.append(f"{percentile(values, 50):.1f} / {percentile(values, 95):.1f}")
        cells.append(" / ".join(f"{s:.2f}" for s in r["adding"]["10,000 ids"]))
        cells.append(f"{r['by_query']:,} in " + " / ".join(f"{s:.2f}" for s in r["adding"]["query (tag)"]))
        lines.append("| " + " | ".join(cells) + " |")
    for r in results:
        lines += [
            "",
            f"Plan of the `collection=` & `tag=` first page at {r['n']:,} images:",
            "",
            "```text",
            r["plan"],
            "```",
        ]
    worst = max(max(r["adding"]["10,000 ids"]) for r in results)
    lines += ["", f"Adding 10,000 selected images: worst {worst:.2f} s (goal ≤ {ADD_GOAL_S:.0f} s)."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--adds", type=int, default=3)
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = loadavg()
    log(f"machine {json.dumps(machine_info())}, load {load_before}")
    results = [run_size(int(size), args.pg_url, args.requests, args.adds) for size in args.sizes.split(",")]
    text = report(results, started, load_before, loadavg())
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(text)
    print(text)
    return 0 if all(max(r["adding"]["10,000 ids"]) <= ADD_GOAL_S for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
