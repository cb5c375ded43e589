"""Load on loopback: 50 clients for 60 s uploading, listing and opening the gallery against the whole stack.

    .venv/bin/python bench/load.py                      # 60 s, 50 clients, 4 gunicorn workers (one command)
    .venv/bin/python bench/load.py --duration 10 --clients 20

Starts its own private Redis, images stand-in, gunicorn web, two worker processes and a SQLite database in a
throwaway folder, stops them all at the end (also on failure or Ctrl-C), prints the figures as JSON and exits 1
on any error or lost upload. The generator and the stack live in tests/reliability/loadgen.py, which the short
version in the test suite (tests/reliability/test_reliability_load.py) uses too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "reliability")]
os.chdir(ROOT)

import loadgen  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "load.json"))
    args = parser.parse_args()
    result = loadgen.run(
        args.duration,
        args.clients,
        report=lambda message: print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True),
    )
    summary = result.summary() | {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "cpus": os.cpu_count()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0 if not result.errors and not result.lost else 1


if __name__ == "__main__":
    sys.exit(main())
