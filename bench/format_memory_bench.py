"""Peak memory of deriving a master from the largest accepted input of each format (issue 20).

    .venv/bin/python bench/format_memory_bench.py [--only jpeg,png-rgba,...] [--out bench/format_memory.json]

Each input is made in a child process of its own (so the generator's memory is not counted), then `masters.build`
runs on it in a fresh child whose peak RSS (VmHWM) is read (bench/master_bench.py's `peak_rss`). "Largest accepted"
is the decompression limit (13,376 × 13,376 = 178.9 megapixels) where the format can be that large within the 100 MiB
upload limit, else the largest picture that fits the upload limit (BMP and PSD are stored raw), else, for WebP, AVIF
and HEIC, whose decoders hold the whole picture several times over, the largest a master is made of
(`masters.DECODE_BYTES_PER_PIXEL`: 25.9, 44 and 48.9 megapixels), and for TIFF the largest `masters._check_memory`
lets through (16-bit grey 10,640², RGB 10,000²); the `-refused` inputs check that larger ones are refused before
decoding. Goal: every peak ≤ 512 MB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from master_bench import peak_rss  # noqa: E402
from stack import PYTHON, loadavg, log, machine_info  # noqa: E402

GOAL_MB = 512
SIDE = 13_376  # at the decompression limit
RAW_SIDE = 5_900  # 5,900² × 3 bytes = 99.6 MiB: the largest raw RGB picture within the 100 MiB upload limit

# name: (file name, Python that writes the input to `path`). `blobs(w, h, mode)` is random colour interpolated from a
# coarse grid (photo-like, compresses as a photo does); `gradient(w, h, mode)` compresses well, for the lossless
# formats whose noisy files would be over the upload limit.
INPUTS = {
    "jpeg": ("largest.jpg", f"blobs({SIDE}, {SIDE}, 'RGB').save(path, 'JPEG', quality=90)"),
    "png-rgba": ("largest-rgba.png", f"gradient({SIDE}, {SIDE}, 'RGBA').save(path, 'PNG', compress_level=1)"),
    "tiff-16-bit": (
        "largest-16bit.tif",
        "gradient(10640, 10640, 'L').convert('I').point(lambda v: v * 257).convert('I;16')"
        ".save(path, 'TIFF', compression='tiff_deflate')",
    ),
    "tiff-16-bit-refused": (
        "refused-16bit.tif",
        f"gradient({SIDE}, {SIDE}, 'L').convert('I').point(lambda v: v * 257).convert('I;16')"
        ".save(path, 'TIFF', compression='tiff_deflate')",
    ),
    "tiff-rgb": ("largest-rgb.tif", "gradient(10000, 10000, 'RGB').save(path, 'TIFF', compression='tiff_deflate')"),
    "webp": ("largest.webp", "blobs(5080, 5080, 'RGB').save(path, 'WEBP', quality=80, method=0)"),
    "webp-refused": ("refused.webp", "blobs(10000, 10000, 'RGB').save(path, 'WEBP', quality=80, method=0)"),
    "gif-animation": (
        "largest-animation.gif",
        f"frame = gradient({SIDE}, {SIDE}, 'L').convert('P'); "
        "frame.save(path, 'GIF', save_all=True, append_images=[frame.transpose(Image.Transpose.ROTATE_180)])",
    ),
    "heic": ("largest.heic", "blobs(6990, 6990, 'RGB').save(path, 'HEIF', quality=80)"),
    "avif": ("largest.avif", "blobs(6630, 6630, 'RGB').save(path, 'AVIF', quality=80, speed=10)"),
    "bmp": ("largest.bmp", f"blobs({RAW_SIDE}, {RAW_SIDE}, 'RGB').save(path, 'BMP')"),
    "psd": ("largest.psd", f"write_psd(blobs({RAW_SIDE}, {RAW_SIDE}, 'RGB'), path)"),
}
UPLOAD_LIMIT = 100 * 1024 * 1024

MAKER = """
import struct, sys
sys.path.insert(0, {repo!r})
from PIL import Image
import pillow_heif, pillow_jxl
pillow_heif.register_heif_opener()
Image.MAX_IMAGE_PIXELS = None
import os
def blobs(width, height, mode):
    grid = Image.frombytes(mode, (64, 64), os.urandom(64 * 64 * len(mode)))
    return grid.resize((width, height), Image.Resampling.BILINEAR)
def gradient(width, height, mode):
    ramp = Image.linear_gradient("L").resize((width, height))
    bands = [ramp, ramp.transpose(Image.Transpose.ROTATE_90), ramp.transpose(Image.Transpose.ROTATE_180), ramp]
    return ramp if mode == "L" else Image.merge(mode, bands[: len(mode)])
def write_psd(image, path):
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, image.height, image.width, 8, 3)
    with open(path, "wb") as out:
        out.write(header + struct.pack(">IIIH", 0, 0, 0, 0))
        for band in image.split():
            out.write(band.tobytes())
path = {path!r}
{code}
"""


def make(name: str, tmp: Path) -> Path:
    file_name, code = INPUTS[name]
    path = tmp / file_name
    subprocess.run([PYTHON, "-c", MAKER.format(repo=str(REPO), path=str(path), code=code)], check=True, timeout=1800)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default=",".join(INPUTS))
    parser.add_argument("--out", default=str(BENCH / "format_memory.json"))
    args = parser.parse_args()
    results = {"machine": machine_info(), "load_before": loadavg(), "goal_mb": GOAL_MB, "inputs": []}
    with tempfile.TemporaryDirectory(prefix="format-memory-") as tmp:
        for name in args.only.split(","):
            try:
                path = make(name, Path(tmp))
            except subprocess.CalledProcessError as exc:
                results["inputs"].append({"format": name, "error": f"could not make the input: {exc}"[-300:]})
                continue
            log(f"{name}: {path.stat().st_size:,} bytes; building its master ...")
            try:
                result = {"format": name, **peak_rss(path)}
            except RuntimeError as exc:
                result = {"format": name, "input_bytes": path.stat().st_size, "error": str(exc).strip()[-240:]}
            result["peak_rss_mb"] = round(result.get("peak_rss_mib", 0) * 1.048576, 1)
            result["accepted"] = result["input_bytes"] <= UPLOAD_LIMIT
            result["pass"] = bool(result.get("peak_rss_mib")) and result["peak_rss_mb"] <= GOAL_MB
            log(json.dumps(result))
            results["inputs"].append(result)
            path.unlink()
    results["load_after"] = loadavg()
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
