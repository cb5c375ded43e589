"""Masters (issue 13): what deriving a master costs, in CPU, memory and end-to-end time.

    .venv/bin/python bench/master_bench.py [--rounds 5] [--uploads 10] [--skip cpu,memory,e2e]

1. CPU: a 24-megapixel camera-like JPEG of about 13 MB (over the 10 MB limit, so it needs a master). The
   normalization step (`app.domain.masters`: decode, sRGB, encode to fit) against a bare Pillow decode + JPEG
   encode (quality 92, 4:2:0) of the same file, interleaved in one process; process CPU time, medians.
   Goal: normalization ≤ 1.5× bare.
2. Memory: peak RSS of a fresh process normalizing the largest accepted input, an RGBA PNG at the decompression
   limit (13,376 × 13,376 = 178.9 megapixels), and the 24-megapixel JPEG. Goal: under 1.5 GB.
3. End to end: the embedded stack (bench/stack.py: redis, stand-in, gunicorn, one worker), the 13 MB JPEG
   uploaded N times (a distinct comment each time), upload start → `GET /api/images/<id>` answers 200; p50.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from PIL import Image  # noqa: E402
from stack import PYTHON, Stack, loadavg, log, machine_info, percentile  # noqa: E402

LARGEST_SIDE = 13_376  # 13,376² = 178,917,376 px, just under the decompression limit (2 × 89,478,485)


def make_camera_jpeg(path: Path) -> bytes:
    width, height = 6000, 4000
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    tiles = Image.frombytes("RGB", (600, 400), os.urandom(600 * 400 * 3)).resize((width, height), Image.BILINEAR)
    picture = Image.blend(Image.blend(base, tiles, 0.45), noise, 0.2)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=95)
    path.write_bytes(out.getvalue())
    return out.getvalue()


def bench_cpu(data: bytes, rounds: int, tmp: Path) -> dict:
    from app.adapters.storage import LocalStorage
    from app.domain import masters

    storage = LocalStorage(str(tmp / "store"), "bench", "http://127.0.0.1")
    bare, normalize, sizes = [], [], []
    for round_ in range(rounds + 1):
        started = time.process_time()
        image = Image.open(io.BytesIO(data))
        image.load()
        out = io.BytesIO()
        image.save(out, "JPEG", quality=92, subsampling=2)
        bare_cpu = time.process_time() - started
        started = time.process_time()
        master = masters.build(storage, "ws/bench", io.BytesIO(data), str(tmp))
        normalize_cpu = time.process_time() - started
        if round_:  # the first round warms caches and imports
            bare.append(bare_cpu)
            normalize.append(normalize_cpu)
            sizes.append((master.size, master.width, master.height, len(out.getvalue())))
        log(
            f"cpu round {round_}: bare {bare_cpu * 1000:.0f} ms, normalize {normalize_cpu * 1000:.0f} ms, "
            f"master {master.size:,} B {master.width}x{master.height}"
        )
    bare_ms, normalize_ms = statistics.median(bare) * 1000, statistics.median(normalize) * 1000
    return {
        "bare_ms": round(bare_ms, 1),
        "normalize_ms": round(normalize_ms, 1),
        "ratio": round(normalize_ms / bare_ms, 2),
        "master": sizes[-1],
        "rounds": rounds,
    }


CHILD = """
import io, sys, tempfile, time
sys.path.insert(0, {repo!r})
from app.adapters.storage import LocalStorage
from app.domain import masters
masters.return_freed_buffers()  # as the worker does at start
tmp = tempfile.mkdtemp()
started = time.monotonic()
with open({path!r}, "rb") as stream:
    master = masters.build(LocalStorage(tmp, "bench", "http://127.0.0.1"), "ws/big", stream, tmp)
# VmHWM (peak RSS of this process image), not ru_maxrss: Linux carries ru_maxrss over from the forking parent.
peak_kb = int(next(line for line in open("/proc/self/status") if line.startswith("VmHWM:")).split()[1])
print(master.size, master.width, master.height, master.format, round(time.monotonic() - started, 1), peak_kb)
"""


def peak_rss(path: Path) -> dict:
    result = subprocess.run(
        [PYTHON, "-c", CHILD.format(repo=str(REPO), path=str(path))], capture_output=True, text=True, timeout=900
    )
    if result.returncode:
        raise RuntimeError(result.stderr[-2000:])
    size, width, height, fmt, seconds, maxrss_kb = result.stdout.split()
    return {
        "input": path.name,
        "input_bytes": path.stat().st_size,
        "master": f"{width}x{height} {fmt} {int(size):,} B",
        "seconds": float(seconds),
        "peak_rss_mib": round(int(maxrss_kb) / 1024, 1),
    }


def bench_memory(tmp: Path, jpeg_path: Path) -> list[dict]:
    png = tmp / "largest-rgba.png"
    log(f"making a {LARGEST_SIDE}x{LARGEST_SIDE} RGBA PNG ...")
    gradient = Image.linear_gradient("L").resize((LARGEST_SIDE, LARGEST_SIDE))
    picture = Image.merge(
        "RGBA",
        (
            gradient,
            gradient.transpose(Image.Transpose.ROTATE_90),
            gradient,
            gradient.transpose(Image.Transpose.ROTATE_180),
        ),
    )
    del gradient
    picture.save(png, "PNG", compress_level=1)
    del picture
    results = []
    for path in (png, jpeg_path):
        results.append(peak_rss(path))
        log(f"memory: {results[-1]}")
    return results


def with_comment(jpeg: bytes, text: str) -> bytes:
    body = text.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(body) + 2).to_bytes(2, "big") + body + jpeg[2:]


def bench_e2e(data: bytes, uploads: int, tmp: Path) -> dict:
    import requests

    stack = Stack(tmp / "stack")
    try:
        stack.start_redis()
        stack.setup_data()
        stack.start_standin()
        stack.start_web()
        stack.start_workers(1, simple=True)
        auth = {"Authorization": f"Bearer {stack.ids['token']}"}
        times, sources = [], set()
        with requests.Session() as session:
            for n in range(uploads + 1):
                started = time.monotonic()
                response = session.post(
                    f"{stack.web_url}/api/files",
                    headers=auth,
                    timeout=120,
                    data={"project_id": stack.ids["project"]},
                    files={"file": (f"camera-{n}.jpg", with_comment(data, f"bench {n} {time.time()}"))},
                )
                response.raise_for_status()
                file_id = response.json()["id"]
                deadline = started + 120
                while time.monotonic() < deadline:
                    image = session.get(f"{stack.web_url}/api/images/{file_id}", headers=auth, timeout=30)
                    if image.status_code == 200:
                        sources.add(image.json()["source"])
                        break
                    state = session.get(f"{stack.web_url}/api/files/{file_id}", headers=auth, timeout=30).json()
                    if state["status"] == "error":
                        raise RuntimeError(f"upload {n} failed: {state['error']}")
                    time.sleep(0.02)
                else:
                    raise RuntimeError(f"upload {n}: no image after 120 s")
                elapsed = (time.monotonic() - started) * 1000
                if n:
                    times.append(elapsed)
                log(f"e2e upload {n}: {elapsed:.0f} ms")
        times.sort()
        return {
            "uploads": uploads,
            "p50_ms": round(percentile(times, 50), 1),
            "p95_ms": round(percentile(times, 95), 1),
            "min_ms": round(times[0], 1),
            "max_ms": round(times[-1], 1),
            "sources": sorted(sources),
        }
    finally:
        stack.stop_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--uploads", type=int, default=10)
    parser.add_argument("--skip", default="", help="comma-separated: cpu, memory, e2e")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    info = machine_info()
    tmp = Path(tempfile.mkdtemp(prefix="aeontel-master-bench-"))
    jpeg_path = tmp / "camera-24mp.jpg"
    data = make_camera_jpeg(jpeg_path)
    with Image.open(jpeg_path) as probe:
        log(f"camera JPEG: {probe.width}x{probe.height}, {len(data):,} bytes")
    results: dict = {"machine": info, "camera_jpeg_bytes": len(data)}
    if "cpu" not in skip:
        results["cpu"] = bench_cpu(data, args.rounds, tmp)
    if "memory" not in skip:
        results["memory"] = bench_memory(tmp, jpeg_path)
    if "e2e" not in skip:
        results["e2e"] = bench_e2e(data, args.uploads, tmp)
    results["loadavg_end"] = loadavg()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
