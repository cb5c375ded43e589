"""The short load run: 20 clients for 10 s against gunicorn (4 workers), 2 worker processes, the stand-in,
a private Redis and SQLite: no errors, no lost uploads. `bench/load.py` is the 60 s, 50-client version."""

from __future__ import annotations

import loadgen


def test_short_load_run_has_no_errors_and_loses_no_upload():
    result = loadgen.run(duration=10, clients=20, drain_timeout=90)
    summary = result.summary()
    print(
        f"\nload: {summary['requests']} requests, {summary['requests_per_s']}/s, p50 {summary['p50_ms']} ms, "
        f"p95 {summary['p95_ms']} ms, {summary['uploads_answered_201']} uploads -> {summary['images']} images + "
        f"{summary['failed_with_reason']} failed with a reason, lost {summary['lost']}; "
        f"load average {summary['loadavg_before']} -> {summary['loadavg_after']}"
    )
    assert result.errors == [], result.errors[:10]
    assert summary["uploads_answered_201"] > 20 and summary["requests"] > 100
    assert result.lost == [], f"{len(result.lost)} uploads answered 201 became neither an image nor a failure"
    assert summary["images"] == summary["uploads_answered_201"]
