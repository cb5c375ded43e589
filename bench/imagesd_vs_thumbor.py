#!/usr/bin/env python3
"""Issue 3 performance benchmark: the images stand-in (app/imagesd) against thumbor 7.8 and the bare Pillow engine.

One command, from the repository root:

    .venv/bin/python bench/imagesd_vs_thumbor.py

In one run on this machine it
  1. times the bare engine in-process (Pillow draft() -> cover crop-resize 400x300 -> WebP) in 1 and 2 processes;
  2. runs thumbor 7.8 (bench/.thumbor-venv, created on first use) with --processes=2, file loader, no storage,
     no result storage, /unsafe/400x300/filters:format(webp)/<image>, WebP quality matched to the stand-in's;
  3. runs the stand-in with 2 workers on a temporary data dir, uploads the image through its API and measures
     uncached and cached width=400,height=300,fit=cover,format=webp, sampling its peak RSS under uncached load;
  4. checks that both servers return 400x300 WebP of comparable size, prints a table and updates bench/RESULTS.md.

The same load generator (wrk, one thread, same connections, same duration, bench/imagesd_wrk_paths.lua,
`Connection: close` so that both processes of each server get work) drives every server run. Every process started here is stopped before the script returns.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
IMAGE = (REPO / "tests" / "corpus" / "mobile_jolla.jpg").resolve()
THUMBOR_VENV = BENCH / ".thumbor-venv"
THUMBOR_VERSION = "7.8.0"
LUA = BENCH / "imagesd_wrk_paths.lua"
RESULTS_MD = BENCH / "RESULTS.md"
OUT_DIR = BENCH / "out"  # gitignored; raw JSON of the last run
TW, TH = 400, 300
STANDIN_OPTIONS = "width=400,height=300,fit=cover,format=webp"
DEFAULT_QUALITY = 85  # Cloudflare's documented default; only used if the stand-in's own default cannot be probed
BEGIN, END = "<!-- bench:imagesd_vs_thumbor:begin -->", "<!-- bench:imagesd_vs_thumbor:end -->"

sys.path.insert(0, str(REPO))
from app import devstack  # noqa: E402  one launcher for the benchmark's processes

# --------------------------------------------------------------------------------------------- helpers


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(cmd: str) -> str:
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as exc:  # noqa: BLE001 - informational only
        return f"? ({exc})"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 30.0, headers: dict | None = None):
    import requests

    return requests.get(url, timeout=timeout, headers=headers or {})


def wait_http(url: str, proc: subprocess.Popen, timeout: float, ok=lambda r: r.status_code == 200) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            r = http_get(url, timeout=2)
            if ok(r):
                return
            last = f"HTTP {r.status_code}"
        except Exception as exc:  # noqa: BLE001
            last = repr(exc)
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout}s (last: {last})")


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def proc_kb(pid: int, path: str, key: str) -> int:
    try:
        with open(f"/proc/{pid}/{path}") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class RssSampler(threading.Thread):
    """Samples the summed VmRSS (and Pss) of a process and all its descendants every `interval` seconds."""

    def __init__(self, root_pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.root, self.interval = root_pid, interval
        self.stop_event = threading.Event()
        self.peak_rss_kb = self.peak_pss_kb = self.samples = self.peak_procs = 0

    def run(self) -> None:
        n = 0
        while not self.stop_event.is_set():
            pids = process_tree(self.root)
            rss = sum(proc_kb(p, "status", "VmRSS:") for p in pids)
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.peak_procs = max(self.peak_procs, len(pids))
            if n % 5 == 0:  # smaps_rollup is dearer; every 5th sample
                self.peak_pss_kb = max(self.peak_pss_kb, sum(proc_kb(p, "smaps_rollup", "Pss:") for p in pids))
            n += 1
            self.samples = n
            self.stop_event.wait(self.interval)

    def finish(self) -> "RssSampler":
        self.stop_event.set()
        self.join(5)
        return self


def tree_rss_mb(root: int) -> float:
    return sum(proc_kb(p, "status", "VmRSS:") for p in process_tree(root)) / 1024


class Server(devstack.Process):
    """A server process started by app/devstack.py, in its own session so that it and every child (forks, workers)
    stop together; `proc` (None once stopped), `stop()` and `tail(n)` in lines are the names used here."""

    def __init__(self, name: str, cmd: list[str], env: dict, cwd: Path, log_path: Path):
        super().__init__(name, cmd, env, log_path, cwd=cwd, die_with_parent=False)
        self.log_path = log_path
        self.proc: subprocess.Popen | None = self.popen

    def stop(self) -> None:
        if self.proc is None:
            return
        strays = process_tree(self.proc.pid)[1:]
        super().stop(timeout=10.0)
        for pid in strays:  # descendants that left the process group, if any
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        self.proc = None

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# --------------------------------------------------------------------------------------------- bare engine


def engine_once(data: bytes, quality: int, method: int, resample: int) -> bytes:
    """The bare pipeline: shrink-on-load to the smallest JPEG scale >= the cover size, crop-resize, WebP."""
    from PIL import Image

    im = Image.open(io.BytesIO(data))
    w, h = im.size
    scale = max(TW / w, TH / h)
    im.draft("RGB", (math.ceil(w * scale), math.ceil(h * scale)))
    if im.mode != "RGB":
        im = im.convert("RGB")
    w, h = im.size
    scale = max(TW / w, TH / h)
    cw, ch = TW / scale, TH / scale
    left, top = (w - cw) / 2, (h - ch) / 2
    out = im.resize((TW, TH), resample, box=(left, top, left + cw, top + ch))
    buf = io.BytesIO()
    out.save(buf, "WEBP", quality=quality, method=method)
    return buf.getvalue()


def engine_loop(data: bytes, quality: int, method: int, resample: int, seconds: float, start_at: float | None = None):
    for _ in range(3):
        engine_once(data, quality, method, resample)
    if start_at is not None:
        while time.time() < start_at:
            time.sleep(0.001)
    times = []
    c0 = time.process_time()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        t = time.perf_counter()
        engine_once(data, quality, method, resample)
        times.append(time.perf_counter() - t)
    return len(times), time.perf_counter() - t0, times, time.process_time() - c0


def _engine_worker(args):
    n, elapsed, _times, cpu = engine_loop(*args)
    return n, elapsed, cpu


def bench_engine_1p(data: bytes, quality: int, method: int, resample: int, seconds: float) -> dict:
    n, elapsed, times, cpu = engine_loop(data, quality, method, resample, seconds)
    return {
        "cpu_ms_per_image": round(cpu / n * 1000, 2),
        "images": n,
        "seconds": round(elapsed, 2),
        "ms_mean": round(statistics.fmean(times) * 1000, 2),
        "ms_median": round(statistics.median(times) * 1000, 2),
        "ms_p90": round(sorted(times)[int(len(times) * 0.9)] * 1000, 2),
        "rate_1p": round(n / elapsed, 1),
        "out_bytes": len(engine_once(data, quality, method, resample)),
    }


def bench_engine_2p(data: bytes, quality: int, method: int, resample: int, seconds: float) -> dict:
    start_at = time.time() + 1.5  # both processes warm up, then start together
    cpu = CpuMeter()
    with mp.get_context("fork").Pool(2, initializer=signal.signal, initargs=(signal.SIGTERM, signal.SIG_DFL)) as pool:
        parts = pool.map(_engine_worker, [(data, quality, method, resample, seconds, start_at)] * 2)
    return {
        "images": sum(p[0] for p in parts),
        "seconds": round(max(p[1] for p in parts), 2),
        "rate": round(sum(p[0] / p[1] for p in parts), 1),
        "cpu": cpu.done(),
        "cpu_ms_per_image": round(sum(p[2] for p in parts) / sum(p[0] for p in parts) * 1000, 2),
    }


# --------------------------------------------------------------------------------------------- noise meter

CLK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def _machine_jiffies() -> tuple[int, int]:
    with open("/proc/stat") as f:
        vals = list(map(int, f.readline().split()[1:9]))
    return sum(vals) - vals[3] - vals[4], sum(vals)  # busy, total


def _tree_jiffies(root: int | None) -> int:
    if root is None:
        return 0
    total = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields_ = f.read().rsplit(")", 1)[1].split()
            total += int(fields_[11]) + int(fields_[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


class CpuMeter:
    """How busy the whole machine was during a run, and how much of that was the server and the load generator;
    the rest ('other') is noise from other processes sharing the machine. Percentages of all CPUs."""

    def __init__(self, server_pid: int | None = None, include_self: bool = False):
        import resource

        self.pid, self.include_self = server_pid, include_self
        self.own0 = time.process_time()
        self.m0 = _machine_jiffies()
        self.s0 = _tree_jiffies(server_pid)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.c0 = ru.ru_utime + ru.ru_stime

    def done(self) -> dict:
        import resource

        busy1, total1 = _machine_jiffies()
        busy, total = busy1 - self.m0[0], max(1, total1 - self.m0[1])
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        children = (ru.ru_utime + ru.ru_stime - self.c0) * CLK  # wrk (or the engine pool), reaped children
        if self.include_self:  # the in-process engine
            children += (time.process_time() - self.own0) * CLK
        server = _tree_jiffies(self.pid) - self.s0
        pct = lambda j: round(100 * j / total, 1)  # noqa: E731
        return {
            "machine_busy_pct": pct(busy),
            "server_pct": pct(server),
            "loadgen_or_pool_pct": pct(children),
            "other_pct": pct(max(0, busy - server - children)),
            "server_cpu_s": round(server / CLK, 2),
        }


# --------------------------------------------------------------------------------------------- load generator


@dataclass
class LoadResult:
    label: str
    requests: int = 0
    seconds: float = 0.0
    non_2xx: int = 0
    socket_errors: dict = field(default_factory=dict)
    rate: float = 0.0  # good (2xx) responses per second
    latency: dict = field(default_factory=dict)
    paths_wrapped: int = 0
    cpu: dict = field(default_factory=dict)
    raw: str = ""

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())


def run_wrk(
    base: str,
    paths: list[str],
    seconds: int,
    connections: int,
    label: str,
    workdir: Path,
    server_pid: int | None = None,
) -> LoadResult:
    path_file = workdir / f"paths-{re.sub(r'[^a-z0-9]+', '-', label.lower())}.txt"
    path_file.write_text("\n".join(paths) + "\n")
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA),
        base,
        "--",
        str(path_file),
        "close",
    ]
    cpu = CpuMeter(server_pid)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    cpu = cpu.done()
    raw = out.stdout + out.stderr
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{raw}")
    r = LoadResult(label=label, raw=raw, cpu=cpu)
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", raw)
    if not m:
        raise RuntimeError(f"cannot parse wrk output:\n{raw}")
    r.requests = int(m.group(1))
    r.seconds = float(m.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[m.group(3)]
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", raw):
        r.non_2xx = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", raw):
        r.socket_errors = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    for pct, val, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", raw, re.M):
        r.latency[f"p{pct}_ms"] = round(float(val) * {"us": 1e-3, "ms": 1, "s": 1000}[unit], 2)
    if m := re.search(r"paths_wrapped (\d+)", raw):
        r.paths_wrapped = int(m.group(1))
    r.rate = round((r.requests - r.non_2xx) / r.seconds, 1) if r.seconds else 0.0
    return r


# --------------------------------------------------------------------------------------------- thumbor


def ensure_thumbor() -> tuple[Path | None, str]:
    exe = THUMBOR_VENV / "bin" / "thumbor"
    py = THUMBOR_VENV / "bin" / "python"
    if exe.exists():
        ver = sh(f"{py} -c 'import thumbor; print(thumbor.__version__)'")
        if ver == THUMBOR_VERSION:
            return exe, ""
    log(f"creating {THUMBOR_VENV.relative_to(REPO)} and installing thumbor=={THUMBOR_VERSION}")
    steps = [
        ["python3", "-m", "venv", str(THUMBOR_VENV)],
        [str(THUMBOR_VENV / "bin" / "pip"), "install", "-q", f"thumbor=={THUMBOR_VERSION}"],
    ]
    for cmd in steps:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if p.returncode != 0:
            return None, f"`{' '.join(cmd)}` failed ({p.returncode}): {(p.stderr or p.stdout).strip()[-1500:]}"
    return exe, ""


def thumbor_conf(root: Path, quality: int) -> str:
    return "\n".join(
        [
            "LOADER = 'thumbor.loaders.file_loader'",
            f"FILE_LOADER_ROOT_PATH = {str(root)!r}",
            "STORAGE = 'thumbor.storages.no_storage'",  # no original-image storage
            "RESULT_STORAGE = 'thumbor.result_storages.no_storage'",  # no result cache: every request renders
            f"QUALITY = {quality}",
            f"WEBP_QUALITY = {quality}",
            "ALLOW_UNSAFE_URL = True",
            "AUTO_WEBP = False",
            "",
        ]
    )


# --------------------------------------------------------------------------------------------- stand-in


def standin_settings():
    from app.config import Settings

    s = Settings.from_env()  # the same environment the stand-in is started with
    return s.images_account_id, s.images_account_hash, s.images_api_token


def find_cache_off_setting() -> tuple[str, str] | None:
    """Look in the stand-in's settings/docs for an environment switch that disables the derivative cache."""
    texts = []
    for p in list((REPO / "app" / "imagesd").glob("*.py")) + [REPO / "docs" / "imagesd.md"]:
        try:
            texts.append(p.read_text(errors="replace"))
        except OSError:
            pass
    names = sorted({n for t in texts for n in re.findall(r"\bIMAGESD_[A-Z0-9_]*CACHE[A-Z0-9_]*\b", t)})
    names = [n for n in names if not re.search(r"DIR|PATH|ROOT|SIZE|BYTES|MAX|TTL|AGE|CONTROL", n[len("IMAGESD_") :])]
    return (names[0], "off") if names else None


def start_standin(port: int, data_dir: Path, workdir: Path, extra_env: dict, tag: str) -> Server:
    env = dict(os.environ)
    env.update(
        {
            "IMAGESD_DATA_DIR": str(data_dir),
            "IMAGESD_PORT": str(port),
            "IMAGESD_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "AEONTEL_INSTANCE_DIR": str(workdir / "instance"),
        }
    )
    env.update(extra_env)
    cmd = [sys.executable, "-m", "app.imagesd.cli", "serve", "--port", str(port), "--workers", "2"]
    return Server(f"imagesd-{tag}", cmd, env, REPO, workdir / f"imagesd-{tag}.log")


def upload(base: str, account_id: str, token: str, data: bytes, name: str = "mobile_jolla.jpg") -> str:
    import requests

    r = requests.post(
        f"{base}/client/v4/accounts/{account_id}/images/v1",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": (name, data, "image/jpeg")},
        timeout=60,
    )
    body = r.json()
    if r.status_code != 200 or not body.get("success"):
        raise RuntimeError(f"upload failed: HTTP {r.status_code} {body}")
    return body["result"]["id"]


def jpeg_copy(data: bytes, i: int) -> bytes:
    """The same JPEG with a COM segment after SOI: different bytes (so a different sha256), identical pixels."""
    assert data[:2] == b"\xff\xd8"
    comment = b"bench copy %08d" % i
    return data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + data[2:]


def probe_default_quality(base: str, path: str) -> tuple[int | None, int]:
    """The stand-in's default WebP quality: the `quality=q` whose output is byte-identical to no quality at all."""
    default = http_get(base + path).content
    for q in [85, 80, 75, 82, 90, 70, 95, 60, 100] + list(range(1, 101)):
        if http_get(f"{base}{path},quality={q}").content == default:
            return q, len(default)
    return None, len(default)


def seq_latency_ms(url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = http_get(url)
        r.raise_for_status()
        out.append((time.perf_counter() - t) * 1000)
    return out


def decode(content: bytes) -> dict:
    from PIL import Image

    im = Image.open(io.BytesIO(content))
    im.load()
    return {
        "format": im.format,
        "size": list(im.size),
        "bytes": len(content),
        "mode": im.mode,
        "exif": bool(im.info.get("exif")),
    }


def describe(o: dict | None) -> str:
    if not o:
        return "n/a"
    return f"{o['format']} {o['size'][0]}x{o['size'][1]} {o['mode']}, {o['bytes']} bytes, {'EXIF' if o['exif'] else 'no EXIF'}"


# --------------------------------------------------------------------------------------------- report


def machine_info() -> dict:
    mem_kb = 0
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
    except (OSError, StopIteration):
        pass
    return {
        "date": sh("date -u"),
        "nproc": sh("nproc"),
        "cpu": sh("lscpu | grep 'Model name' | sed 's/Model name:[[:space:]]*//'"),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": sh("uname -r"),
        "loadavg_start": sh("cut -d' ' -f1-3 /proc/loadavg"),
    }


def versions(thumbor_py: Path | None) -> dict:
    from PIL import Image, features

    v = {
        "python": sys.version.split()[0],
        "pillow": Image.__version__,
        "libwebp": features.version("webp"),
        "libjpeg-turbo": features.version("jpg"),
        "gunicorn": sh(f"{sys.executable} -c 'import gunicorn; print(gunicorn.__version__)'"),
        "flask": sh(f"{sys.executable} -c 'import importlib.metadata as m; print(m.version(\"flask\"))'"),
        "wrk": sh("wrk -v 2>&1 | head -1 | cut -d' ' -f2"),
        "repo_commit": sh(f"git -C {REPO} rev-parse --short HEAD"),
        "imagesd_dirty": sh(f"git -C {REPO} status --porcelain -- app/imagesd | wc -l")
        + " changed files in app/imagesd",
    }
    if thumbor_py:
        v["thumbor"] = sh(f"{thumbor_py} -c 'import thumbor; print(thumbor.__version__)'")
        v["thumbor_pillow"] = sh(f"{thumbor_py} -c 'import PIL; print(PIL.__version__)'")
        v["thumbor_libwebp"] = sh(f"{thumbor_py} -c 'from PIL import features; print(features.version(\"webp\"))'")
    return v


def combine(runs: list[LoadResult]) -> dict:
    """Several equal-length runs of one server: totals, the overall rate and each round's figures."""
    good = sum(r.requests - r.non_2xx for r in runs)
    secs = sum(r.seconds for r in runs)
    rounds = [{k: v for k, v in r.__dict__.items() if k != "raw"} | {"errors": r.errors} for r in runs]
    cpu_keys = runs[0].cpu.keys() if runs and runs[0].cpu else []
    return {
        "rate": round(good / secs, 1) if secs else 0.0,
        "requests": sum(r.requests for r in runs),
        "seconds": round(secs, 2),
        "errors": sum(r.errors for r in runs),
        "paths_wrapped": sum(r.paths_wrapped for r in runs),
        "latency": {
            "p50_ms": round(statistics.median(r.latency.get("p50_ms", 0) for r in runs), 1),
            "p99_ms": round(max(r.latency.get("p99_ms", 0) for r in runs), 1),
        },
        "round_rates": [r.rate for r in runs],
        "cpu": {k: round(statistics.fmean(r.cpu[k] for r in runs), 1) for k in cpu_keys},
        "server_cpu_ms_per_request": round(sum(r.cpu.get("server_cpu_s", 0) for r in runs) / max(1, good) * 1000, 2),
        "rounds": rounds,
    }


def goal(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def render(res: dict) -> str:
    m, v, e, cfg = res["machine"], res["versions"], res["engine"], res["config"]
    th, un, ca, rss, out = (
        res.get("thumbor"),
        res.get("standin_uncached"),
        res.get("standin_cached"),
        res.get("rss", {}),
        res.get("output", {}),
    )
    lines = [
        BEGIN,
        "## Latest run (written by `bench/imagesd_vs_thumbor.py`)",
        "",
        f"- Date: {m['date']}",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, Linux {m['kernel']}; load average "
        f"{m['loadavg_start']} at start, {m.get('loadavg_end', '?')} at end. The machine is shared with other "
        "engineers' test runs: the `other` CPU column shows how much of it they took during each run.",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- Image: `tests/corpus/mobile_jolla.jpg` ({cfg['image_size'][0]}x{cfg['image_size'][1]}, "
        f"{cfg['image_bytes']} bytes), output 400x300 WebP quality {cfg['quality']} ({cfg['quality_source']}).",
        f"- Load generator (same for every server run): `wrk {cfg['wrk']}, loopback. Thumbor and the stand-in "
        f"were measured in {cfg['rounds']} alternating rounds of {cfg['duration']} s each (bare engine 2-process, "
        "thumbor, stand-in per round), so that background load hits both alike; rates are totals over the rounds.",
        "- Bare engine: Pillow `draft()` to the smallest JPEG scale >= the cover size, LANCZOS crop-resize to 400x300, "
        f"WebP quality {cfg['quality']} method {cfg['webp_method_bare']} ({cfg['webp_method_source']}), "
        "from the JPEG bytes in memory.",
        "- Thumbor: `--processes=2`, `LOADER=file_loader` on a temp dir, `STORAGE=no_storage`, "
        f"`RESULT_STORAGE=no_storage`, `QUALITY=WEBP_QUALITY={cfg['quality']}`, "
        "URL `/unsafe/400x300/filters:format(webp)/mobile_jolla.jpg`.",
        "- Stand-in: `python -m app.imagesd.cli serve --port N --workers 2` (gunicorn, its defaults), temp data dir, "
        f"uploads through `POST /client/v4/accounts/<id>/images/v1`, URL `/<hash>/<id>/{STANDIN_OPTIONS}`. "
        f"Uncached: {cfg['uncached_mode']}.",
        "",
        "| Measurement | Rate | Per round | Latency p50 / p99 | Errors | CPU ms per image/request | "
        "CPU busy: server / wrk / other (% of all CPUs) |",
        "|---|---|---|---|---|---|---|",
        f"| Bare engine, 1 process | {e['rate_1p']} images/s ({e['ms_mean']} ms/image mean, {e['ms_median']} median) "
        f"| - | - | - | {e['cpu_ms_per_image']} | other {e.get('cpu_1p', {}).get('other_pct', '?')}% |",
        f"| Bare engine, 2 processes | {e['rate_2p']} images/s | {', '.join(str(x) for x in e['rate_2p_rounds'])} "
        f"| - | - | {e.get('cpu_ms_per_image_2p', '?')} | other {e.get('cpu_2p', {}).get('other_pct', '?')}% |",
    ]

    def row(name, r, unit="req/s"):
        if not r:
            return f"| {name} | not measured | | | | | |"
        c = r.get("cpu", {})
        return (
            f"| {name} | **{r['rate']} {unit}** ({r['requests']} in {r['seconds']:.0f} s) "
            f"| {', '.join(str(x) for x in r['round_rates'])} | {r['latency']['p50_ms']} / {r['latency']['p99_ms']} ms "
            f"| {r['errors']} | {r.get('server_cpu_ms_per_request', '?')} "
            f"| {c.get('server_pct', '?')}% / {c.get('loadgen_or_pool_pct', '?')}% / {c.get('other_pct', '?')}% |"
        )

    lines += [
        row("thumbor 7.8, uncached", th),
        row("Stand-in, uncached", un),
        row("Stand-in, cached (same URL)", ca),
        "",
        f"- Stand-in peak RSS under uncached load, summed over gunicorn master + workers from `/proc/*/status`: "
        f"**{rss.get('peak_rss_mb', '?')} MB** ({rss.get('procs', '?')} processes; PSS {rss.get('peak_pss_mb', '?')} MB; "
        f"idle {rss.get('idle_rss_mb', '?')} MB; under cached load {rss.get('peak_rss_cached_mb', '?')} MB).",
        f"- Output check (decoded with Pillow): stand-in {describe(out.get('standin'))}; thumbor {describe(out.get('thumbor'))}; "
        f"bare engine {e['out_bytes']} bytes; stand-in vs thumbor size difference {out.get('diff_pct', '?')}%.",
        "",
        "| Goal | Target | Measured | Result |",
        "|---|---|---|---|",
    ]
    for item in res["goals"]:
        lines.append(f"| {item['goal']} | {item['target']} | {item['measured']} | {goal(item['ok'])} |")
    if res.get("notes"):
        lines += ["", "Notes:"] + [f"- {n}" for n in res["notes"]]
    lines += [END]
    return "\n".join(lines)


def write_results_md(block: str) -> None:
    header = (
        "# Benchmark results\n\n"
        "Issue 3 performance goals for the images stand-in (`app/imagesd`). "
        "Run with `.venv/bin/python bench/imagesd_vs_thumbor.py`; see `bench/README.md`.\n\n"
    )
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else header
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS_MD.write_text(text)


# --------------------------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10, help="seconds per load run (default 10)")
    ap.add_argument(
        "--rounds", type=int, default=4, help="alternating rounds of engine(2p)/thumbor/stand-in uncached (default 4)"
    )
    ap.add_argument("--connections", type=int, default=4, help="wrk connections, same for every server (default 4)")
    ap.add_argument("--engine-seconds", type=float, default=8, help="seconds per bare-engine measurement (default 8)")
    ap.add_argument(
        "--webp-method",
        type=int,
        default=None,
        help="WebP method for the bare engine (default: the one that reproduces the stand-in's bytes)",
    )
    ap.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    ap.add_argument(
        "--copies",
        action="store_true",
        help="measure uncached with byte-distinct uploaded copies even if a cache-off setting exists",
    )
    args = ap.parse_args()

    from PIL import Image

    if not IMAGE.exists():
        print(f"missing benchmark image {IMAGE}", file=sys.stderr)
        return 2
    if not shutil.which("wrk"):
        print("wrk is not installed: as root run `apt-get update && apt-get install -y wrk`", file=sys.stderr)
        return 2

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)

    data = IMAGE.read_bytes()
    with Image.open(IMAGE) as im:
        image_size = im.size
    resample = Image.Resampling.LANCZOS
    account_id, account_hash, token = standin_settings()
    workdir = Path(tempfile.mkdtemp(prefix="imagesd-bench-"))
    servers: list[Server] = []
    res: dict = {"machine": machine_info(), "notes": []}
    notes = res["notes"]
    wrk_desc = (
        f"-t1 -c{args.connections} -d{args.duration}s --timeout 10s --latency -s bench/{LUA.name} URL -- "
        "PATHS close` (`Connection: close` on every request: with persistent connections one thumbor "
        "process accepted all 4 and the other stayed idle, measured 321 vs 0 CPU ticks; closing spreads "
        "the load over both processes/workers of either server)"
    )

    def start(tag: str, extra: dict) -> tuple[Server, str]:
        port = free_port()
        srv = start_standin(port, data_dir, workdir, extra, tag)
        servers.append(srv)
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/client/v4/accounts/{account_id}/images/v1", srv.proc, 60, ok=lambda r: r.status_code < 500)
        from app.domain.images_account import apply_account_setup

        apply_account_setup(f"{base}/client/v4", account_id, token)  # a new account refuses flexible variants
        return srv, base

    def stop(srv: Server) -> None:
        srv.stop()
        servers.remove(srv)

    try:
        thumbor_exe, thumbor_err = ensure_thumbor()
        if thumbor_err:
            notes.append(f"thumbor could not be installed: {thumbor_err}")
            log(notes[-1])
        res["versions"] = versions(THUMBOR_VENV / "bin" / "python" if thumbor_exe else None)

        # --- stand-in: start, upload, find its default quality -------------------------------------------
        data_dir = workdir / "imagesd-data"
        data_dir.mkdir()
        cache_off = None if args.copies else find_cache_off_setting()
        standin, sbase = start("main", {})
        log(f"stand-in: up on {sbase} (cache-off setting found: {cache_off})")
        image_id = upload(sbase, account_id, token, data)
        path = f"/{account_hash}/{image_id}/{STANDIN_OPTIONS}"
        quality, _ = probe_default_quality(sbase, path)
        if quality is None:
            quality = DEFAULT_QUALITY
            qsrc = f"stand-in default not found by probing; quality={quality} set explicitly in its URL"
            path += f",quality={quality}"
        else:
            qsrc = "the stand-in's default, found by probing for the byte-identical `quality=`; thumbor set to it"
        log(f"stand-in: WebP quality {quality} ({qsrc})")
        standin_body = http_get(sbase + path).content
        method = args.webp_method
        if method is None:  # mirror the stand-in's encoder effort: the method whose bytes equal the stand-in's
            method = next(
                (m for m in (4, 3, 2, 5, 1, 0, 6) if engine_once(data, quality, m, resample) == standin_body), None
            )
            msrc = "byte-identical to the stand-in's output" if method is not None else None
            if method is None:
                method, msrc = 4, "Pillow's default; no method reproduced the stand-in's bytes exactly"
                notes.append(
                    f"The bare engine's output is not byte-identical to the stand-in's for any WebP method; "
                    f"method {method} used."
                )
        else:
            msrc = "set on the command line"
        log(f"bare engine: WebP method {method} ({msrc})")

        # --- bare engine, 1 process (servers idle) -----------------------------------------------------------
        log(f"bare engine: {args.engine_seconds:.0f} s in 1 process")
        cpu = CpuMeter(include_self=True)
        e = bench_engine_1p(data, quality, method, resample, args.engine_seconds)
        e["cpu_1p"] = cpu.done()
        res["engine"] = e
        log(f"bare engine: {e['ms_mean']} ms/image, {e['rate_1p']} images/s in 1 process")
        res["config"] = {
            "duration": args.duration,
            "rounds": args.rounds,
            "connections": args.connections,
            "quality": quality,
            "quality_source": qsrc,
            "wrk": wrk_desc,
            "image_size": list(image_size),
            "image_bytes": len(data),
            "webp_method_bare": method,
            "webp_method_source": msrc,
            "resample_bare": "LANCZOS",
        }

        # --- uncached stand-in URLs ---------------------------------------------------------------------------
        uncached_srv, ubase = standin, sbase
        rounds_paths: list[list[str]] = []
        mode = ""
        if cache_off:
            uncached_srv, ubase = start("cache-off", {cache_off[0]: cache_off[1]})
            lat = seq_latency_ms(ubase + path, 6)
            repeat = statistics.median(lat[1:])
            if repeat >= 0.5 * e["ms_median"]:
                mode = f"cache disabled with `{cache_off[0]}={cache_off[1]}`, the same URL every request"
                rounds_paths = [[path]] * args.rounds
            else:
                notes.append(
                    f"`{cache_off[0]}={cache_off[1]}` did not disable the cache (repeat request "
                    f"{repeat:.1f} ms vs engine {e['ms_median']} ms); used byte-distinct copies instead"
                )
                log(notes[-1])
                stop(uncached_srv)
                uncached_srv, ubase = standin, sbase
        if not rounds_paths:
            if cache_off is None:
                notes.append(
                    "The stand-in has no cache-disable setting (looked for `IMAGESD_*CACHE*` in app/imagesd/ "
                    "and docs/imagesd.md) and keys derivatives by the original's sha256, so identical copies "
                    "would share one cache entry. Uncached was therefore measured with byte-distinct copies: "
                    "the same JPEG plus a unique 19-byte COM segment after SOI (identical pixels and decode "
                    "work), each uploaded through the API and requested once (cache on, every request a miss "
                    "that renders and writes its derivative)."
                )
            per_round = int(max(2 * e["rate_1p"], 40) * args.duration * 1.6) + 20
            n = per_round * args.rounds
            log(f"stand-in: uploading {n} byte-distinct copies so that every request renders a new derivative")
            from concurrent.futures import ThreadPoolExecutor

            t0 = time.monotonic()
            with ThreadPoolExecutor(2) as pool:
                ids = list(
                    pool.map(lambda i: upload(sbase, account_id, token, jpeg_copy(data, i), f"copy{i}.jpg"), range(n))
                )
            log(f"stand-in: {n} uploads in {time.monotonic() - t0:.0f} s")
            suffix = path.split(STANDIN_OPTIONS, 1)[1]
            all_paths = [f"/{account_hash}/{i}/{STANDIN_OPTIONS}{suffix}" for i in ids]
            rounds_paths = [all_paths[k * per_round : (k + 1) * per_round] for k in range(args.rounds)]
            mode = (
                f"cache on; {n} byte-distinct copies ({per_round} per round), each URL requested once "
                "(the wrk script reports `paths_wrapped`, which must be 0)"
            )
        res["config"]["uncached_mode"] = mode
        # --- thumbor ------------------------------------------------------------------------------------------
        thumbor_body = th = None
        if thumbor_exe:
            troot = workdir / "thumbor-images"
            troot.mkdir()
            shutil.copyfile(IMAGE, troot / IMAGE.name)
            conf = workdir / "thumbor.conf"
            conf.write_text(thumbor_conf(troot, quality))
            tport = free_port()
            tbase = f"http://127.0.0.1:{tport}"
            th = Server(
                "thumbor",
                [
                    str(thumbor_exe),
                    f"--port={tport}",
                    "--ip=127.0.0.1",
                    f"--conf={conf}",
                    "--processes=2",
                    "--log-level=error",
                ],
                dict(os.environ),
                workdir,
                workdir / "thumbor.log",
            )
            servers.append(th)
            wait_http(f"{tbase}/healthcheck", th.proc, 60)
            log(f"thumbor: up on {tbase} with --processes=2")
            tpath = f"/unsafe/{TW}x{TH}/filters:format(webp)/{IMAGE.name}"
            r = http_get(tbase + tpath)
            r.raise_for_status()
            thumbor_body = r.content
            run_wrk(tbase, [tpath], 3, args.connections, "thumbor warmup", workdir)

        # warm both stand-in workers on uncached work outside the measured lists (other quality values)
        warm = [f"{path},quality={q}" for q in range(40, 80)] if "quality=" not in path else [path]
        run_wrk(ubase, warm, 3, args.connections, "stand-in warmup", workdir)

        # --- alternating rounds -------------------------------------------------------------------------------
        e2, t_runs, u_runs, samplers = [], [], [], []
        idle = tree_rss_mb(uncached_srv.proc.pid)
        for k in range(args.rounds):
            log(f"round {k + 1}/{args.rounds}: bare engine in 2 processes, {args.engine_seconds:.0f} s")
            e2.append(bench_engine_2p(data, quality, method, resample, args.engine_seconds))
            log(f"round {k + 1}: bare engine 2 processes {e2[-1]['rate']} images/s (cpu {e2[-1]['cpu']})")
            if th:
                t = run_wrk(
                    tbase, [tpath], args.duration, args.connections, f"thumbor round {k + 1}", workdir, th.proc.pid
                )
                t_runs.append(t)
                log(f"round {k + 1}: thumbor {t.rate} req/s, errors {t.errors} (cpu {t.cpu})")
            sampler = RssSampler(uncached_srv.proc.pid)
            sampler.start()
            u = run_wrk(
                ubase,
                rounds_paths[k],
                args.duration,
                args.connections,
                f"stand-in uncached round {k + 1}",
                workdir,
                uncached_srv.proc.pid,
            )
            samplers.append(sampler.finish())
            u_runs.append(u)
            log(
                f"round {k + 1}: stand-in uncached {u.rate} req/s, errors {u.errors}, wrapped {u.paths_wrapped}, "
                f"peak RSS {sampler.peak_rss_kb / 1024:.1f} MB (cpu {u.cpu})"
            )
        e["rate_2p_rounds"] = [x["rate"] for x in e2]
        e["rate_2p"] = round(statistics.fmean(e["rate_2p_rounds"]), 1)
        e["cpu_2p"] = {
            k: round(statistics.fmean(x["cpu"][k] for x in e2), 1) for k in ("machine_busy_pct", "other_pct")
        }
        e["cpu_ms_per_image_2p"] = round(
            sum(x["cpu_ms_per_image"] * x["images"] for x in e2) / sum(x["images"] for x in e2), 2
        )
        res["thumbor"] = combine(t_runs) if t_runs else None
        res["standin_uncached"] = uc = combine(u_runs)
        if len(rounds_paths[0]) > 1 and uc["paths_wrapped"]:
            notes.append(f"the uncached URL lists wrapped {uc['paths_wrapped']} times: some requests were cached")
        res["rss"] = {
            "peak_rss_mb": round(max(s_.peak_rss_kb for s_ in samplers) / 1024, 1),
            "peak_pss_mb": round(max(s_.peak_pss_kb for s_ in samplers) / 1024, 1),
            "idle_rss_mb": round(idle, 1),
            "procs": max(s_.peak_procs for s_ in samplers),
            "samples": sum(s_.samples for s_ in samplers),
        }
        if th:
            stop(th)
        if uncached_srv is not standin:
            stop(uncached_srv)

        # --- stand-in cached ------------------------------------------------------------------------------------
        for _ in range(3):
            http_get(sbase + path).raise_for_status()
        cached_lat = seq_latency_ms(sbase + path, 5)
        run_wrk(sbase, [path], 2, args.connections, "stand-in cached warmup", workdir)
        sampler = RssSampler(standin.proc.pid)
        sampler.start()
        log(f"stand-in: measuring cached {args.duration} s")
        c = run_wrk(sbase, [path], args.duration, args.connections, "stand-in cached", workdir, standin.proc.pid)
        sampler.finish()
        res["standin_cached"] = ca = combine([c])
        res["rss"]["peak_rss_cached_mb"] = round(sampler.peak_rss_kb / 1024, 1)
        log(
            f"stand-in cached: {c.rate} req/s (one request alone: {min(cached_lat):.1f} ms), errors {c.errors} "
            f"(cpu {c.cpu})"
        )
        stop(standin)

        # --- output check and goals -----------------------------------------------------------------------------
        out = {"standin": decode(standin_body)}
        if thumbor_body is not None:
            out["thumbor"] = decode(thumbor_body)
            a, b = out["standin"]["bytes"], out["thumbor"]["bytes"]
            out["diff_pct"] = round(abs(a - b) / min(a, b) * 100, 1)
        res["output"] = out
        match_ok = (
            None
            if thumbor_body is None
            else all(o["format"] == "WEBP" and o["size"] == [TW, TH] for o in (out["standin"], out["thumbor"]))
            and out["diff_pct"] <= 15
        )
        th_rate = (res.get("thumbor") or {}).get("rate")
        u_rate, c_rate = uc["rate"], ca["rate"]
        goals = [
            {
                "goal": "Matched output (both 400x300 WebP, sizes within 15%)",
                "target": "yes",
                "measured": f"{out['standin']['format']} {out['standin']['size']} {out['standin']['bytes']} B vs "
                f"{out.get('thumbor', {}).get('format')} {out.get('thumbor', {}).get('size')} "
                f"{out.get('thumbor', {}).get('bytes')} B: {out.get('diff_pct', '?')}% apart",
                "ok": match_ok,
            },
            {
                "goal": "Uncached stand-in vs thumbor",
                "target": ">= 1.30x",
                "measured": f"{u_rate / th_rate:.2f}x ({u_rate} vs {th_rate} req/s)" if th_rate else "n/a",
                "ok": (u_rate >= 1.3 * th_rate) if th_rate else None,
            },
            {
                "goal": "Uncached stand-in vs bare engine in-process on both cores (2-process rate)",
                "target": ">= 85%",
                "measured": f"{u_rate / e['rate_2p'] * 100:.0f}% ({u_rate} vs {e['rate_2p']} images/s)",
                "ok": u_rate >= 0.85 * e["rate_2p"],
            },
            {
                "goal": "Cached vs uncached",
                "target": ">= 15x",
                "measured": f"{c_rate / u_rate:.1f}x ({c_rate} vs {u_rate} req/s)" if u_rate else "n/a",
                "ok": (c_rate >= 15 * u_rate) if u_rate else None,
            },
            {
                "goal": "Stand-in peak RSS under uncached load",
                "target": "<= 300 MB",
                "measured": f"{res['rss']['peak_rss_mb']} MB",
                "ok": res["rss"]["peak_rss_mb"] <= 300,
            },
        ]
        res["goals"] = goals
        notes.append(
            f"For reference: the uncached stand-in reached {u_rate / (2 * e['rate_1p']) * 100:.0f}% of twice "
            f"the single-process engine rate ({2 * e['rate_1p']:.1f}/s)."
        )
        u_cpu = uc["server_cpu_ms_per_request"]
        cost = (
            f"Steadier view (CPU time per image or request: other processes sway it by about ±10%, req/s by 2-4x): bare "
            f"engine {e['cpu_ms_per_image']} ms, stand-in uncached {u_cpu} ms per request "
            f"({(u_cpu / e['cpu_ms_per_image'] - 1) * 100:+.0f}% over the engine)"
        )
        if res.get("thumbor"):
            t_cpu = res["thumbor"]["server_cpu_ms_per_request"]
            cost += (
                f", thumbor {t_cpu} ms ({(t_cpu / e['cpu_ms_per_image'] - 1) * 100:+.0f}%); by CPU cost the "
                f"stand-in's capacity is {t_cpu / u_cpu:.2f}x thumbor's and {e['cpu_ms_per_image'] / u_cpu * 100:.0f}% "
                "of the engine's"
            )
        cost += (
            f". Cached: {ca['server_cpu_ms_per_request']} ms CPU per request, "
            f"{u_cpu / max(ca['server_cpu_ms_per_request'], 0.001):.0f}x cheaper than uncached"
        )
        notes.append(cost + ".")
        for label, r in (("thumbor", res.get("thumbor")), ("stand-in uncached", uc), ("stand-in cached", ca)):
            if r and r["errors"]:
                notes.append(f"{label}: {r['errors']} errors (non-2xx or socket errors), see bench/out/ JSON")
        res["machine"]["loadavg_end"] = sh("cut -d' ' -f1-3 /proc/loadavg")

        # --- print & write ----------------------------------------------------------------------------------------
        print()
        rows = [
            ("bare engine, 1 process (ms/image)", e["ms_mean"]),
            ("bare engine, 1 process (images/s)", e["rate_1p"]),
            ("bare engine, 2 processes (images/s)", e["rate_2p"]),
            ("thumbor 7.8 --processes=2, uncached (req/s)", th_rate if th_rate else "n/a"),
            ("stand-in 2 workers, uncached (req/s)", u_rate),
            ("stand-in 2 workers, cached (req/s)", c_rate),
            ("stand-in peak RSS, uncached load (MB)", res["rss"]["peak_rss_mb"]),
            (
                "CPU ms/image: engine / thumbor / stand-in",
                f"{e['cpu_ms_per_image']} / {(res.get('thumbor') or {}).get('server_cpu_ms_per_request', '-')} / "
                f"{uc['server_cpu_ms_per_request']}",
            ),
            (
                "output bytes stand-in / thumbor",
                f"{out['standin']['bytes']} / {out.get('thumbor', {}).get('bytes', '-')}",
            ),
        ]
        print(f"{'measurement':<46} {'result':>16}")
        print("-" * 63)
        for name, val in rows:
            print(f"{name:<46} {val!s:>16}")
        print()
        for item in goals:
            print(f"{goal(item['ok']):<5} {item['goal']}: {item['measured']} (target {item['target']})")
        for n_ in notes:
            print(f"note: {n_}")
        OUT_DIR.mkdir(exist_ok=True)
        (OUT_DIR / "imagesd_vs_thumbor.json").write_text(json.dumps(res, indent=2, default=str))
        if not args.no_write:
            write_results_md(render(res))
            log(f"updated {RESULTS_MD.relative_to(REPO)}")
        return 0 if all(g["ok"] is not False for g in goals) else 1
    except BaseException:
        for s_ in servers:
            log(f"--- last lines of {s_.log_path}:\n{s_.tail()}")
        raise
    finally:
        for s_ in list(servers):
            s_.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
