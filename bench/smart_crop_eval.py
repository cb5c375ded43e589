#!/usr/bin/env python3
"""Issue 25: how often does `gravity=auto` keep a known subject fully in frame, against the centre crop?

One command, from the repository root:

    .venv/bin/python bench/smart_crop_eval.py [--cases 200] [--seed 25]

It generates photos with a known subject box (a shape, a textured patch or a face-like blob on a plain, gradient
or textured background, anywhere in the frame), uploads them to a stand-in of its own (started through
app/devstack.py), asks the real delivery path for 1:1 and 16:9 crops with `gravity=auto` and with the centre,
finds where each crop was taken by matching the (lossless, unscaled) output against the original, and counts the
crops that hold the whole subject. It prints the rates and updates bench/RESULTS.md. tests/imagesd/
test_imagesd_smart_crop.py runs the same evaluation on a small set and asserts the rate.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageStat

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS_MD = BENCH / "RESULTS.md"
BEGIN, END = "<!-- bench:smart_crop_eval:begin -->", "<!-- bench:smart_crop_eval:end -->"
# (name, source size, crop size): crops are unscaled (fit=cover at the source's scale), so only the offset varies.
CROPS = (("1:1", (640, 400), (400, 400)), ("16:9", (640, 480), (640, 360)))
KINDS = ("shape", "texture", "face")
BACKGROUNDS = ("plain", "gradient", "texture")


@dataclass(frozen=True)
class Case:
    crop: str
    kind: str
    background: str
    size: tuple[int, int]
    crop_size: tuple[int, int]
    box: tuple[int, int, int, int]
    png: bytes


def _background(rng: random.Random, size: tuple[int, int], style: str) -> Image.Image:
    base = tuple(rng.randrange(60, 200) for _ in range(3))
    image = Image.new("RGB", size, base)
    if style == "gradient":
        draw = ImageDraw.Draw(image)
        for y in range(size[1]):
            shade = round(40 * y / size[1])
            draw.line([(0, y), (size[0], y)], fill=tuple(max(0, c - 20 + shade) for c in base))
    elif style == "texture":
        noise = Image.effect_noise(size, 12).convert("RGB")
        image = ImageChops.add(ImageChops.multiply(image, Image.new("RGB", size, (230, 230, 230))), noise, 2.5, -40)
    return image


def _subject(rng: random.Random, image: Image.Image, box: tuple[int, int, int, int], kind: str) -> None:
    draw = ImageDraw.Draw(image)
    colour = tuple(rng.randrange(0, 256) for _ in range(3))
    if kind == "shape":
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour, outline=(20, 20, 20), width=3)
        else:
            draw.rectangle(box, fill=colour, outline=(20, 20, 20), width=3)
    elif kind == "texture":
        width, height = box[2] - box[0], box[3] - box[1]
        patch = Image.effect_mandelbrot((width, height), (-2, -1.2, 0.8, 1.2), 60).convert("RGB")
        image.paste(ImageChops.multiply(patch, Image.new("RGB", patch.size, colour)).point(lambda v: v * 2), box[:2])
    else:
        draw.ellipse(box, fill=(224, 172, 140))
        width, height = box[2] - box[0], box[3] - box[1]
        for ex in (0.32, 0.68):
            cx, cy, r = box[0] + ex * width, box[1] + 0.4 * height, max(2, width // 12)
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(30, 20, 20))
        draw.arc(
            (box[0] + 0.3 * width, box[1] + 0.5 * height, box[2] - 0.3 * width, box[3] - 0.2 * height),
            20,
            160,
            fill=(120, 40, 40),
            width=max(2, width // 20),
        )


def make_cases(count: int, seed: int) -> list[Case]:
    """`count` generated photos per crop, each with the box its subject occupies."""
    rng, cases = random.Random(seed), []
    for crop, size, crop_size in CROPS:
        for index in range(count):
            kind, background = KINDS[index % len(KINDS)], BACKGROUNDS[(index // len(KINDS)) % len(BACKGROUNDS)]
            side = rng.randrange(50, min(crop_size) * 2 // 5)
            sw, sh = side, round(side * rng.uniform(0.8, 1.25))
            left, top = rng.randrange(0, size[0] - sw), rng.randrange(0, size[1] - sh)
            box = (left, top, left + sw, top + sh)
            image = _background(rng, size, background)
            _subject(rng, image, box, kind)
            out = io.BytesIO()
            image.save(out, "PNG")
            cases.append(Case(crop, kind, background, size, crop_size, box, out.getvalue()))
    return cases


def crop_offset(source: Image.Image, output: Image.Image) -> tuple[int, int]:
    """Where an unscaled crop came from: the offset whose source window differs least from the output."""
    best, best_diff = (0, 0), None
    for dx in range(source.width - output.width + 1):
        for dy in range(source.height - output.height + 1):
            window = source.crop((dx, dy, dx + output.width, dy + output.height))
            diff = sum(ImageStat.Stat(ImageChops.difference(window, output)).sum)
            if best_diff is None or diff < best_diff:
                best, best_diff = (dx, dy), diff
    return best


def holds(case: Case, offset: tuple[int, int]) -> bool:
    """Whether the crop at `offset` contains the subject's whole box (1 px of resampling slack)."""
    left, top = offset
    right, bottom = left + case.crop_size[0], top + case.crop_size[1]
    box = case.box
    return box[0] >= left - 1 and box[1] >= top - 1 and box[2] <= right + 1 and box[3] <= bottom + 1


def evaluate(standin, cases: list[Case]) -> dict[str, dict[str, float]]:
    """Per crop ratio, the share of cases whose subject stays fully in frame with gravity=auto and with the centre."""
    import requests

    counts: dict[str, dict[str, int]] = {}
    for case in cases:
        response = standin.upload(case.png, "subject.png")
        response.raise_for_status()
        image_id = response.json()["result"]["id"]
        source = Image.open(io.BytesIO(case.png)).convert("RGB")
        tally = counts.setdefault(case.crop, {"auto": 0, "center": 0, "cases": 0})
        tally["cases"] += 1
        for gravity in ("auto", "center"):
            options = f"w={case.crop_size[0]},h={case.crop_size[1]},fit=cover,gravity={gravity},format=png"
            delivered = requests.get(standin.delivery(image_id, options), timeout=60)
            delivered.raise_for_status()
            output = Image.open(io.BytesIO(delivered.content)).convert("RGB")
            assert output.size == case.crop_size, (options, output.size)
            tally[gravity] += holds(case, crop_offset(source, output))
    return {
        crop: {
            "auto": tally["auto"] / tally["cases"],
            "center": tally["center"] / tally["cases"],
            "cases": tally["cases"],
        }
        for crop, tally in counts.items()
    }


def _record(rates: dict, cases: int, seed: int, seconds: float) -> None:
    from stack import loadavg

    lines = [
        BEGIN,
        f"### Smart crops: gravity=auto vs centre (issue 25) — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"2-core shared dev machine, load average {loadavg()}; `bench/smart_crop_eval.py --cases {cases} "
        f"--seed {seed}` ({seconds:.0f} s). Share of generated photos whose known subject box stays fully in frame:",
        "",
        "| crop | photos | gravity=auto | centre |",
        "|---|---|---|---|",
    ]
    for crop, rate in rates.items():
        lines.append(f"| {crop} | {rate['cases']} | {rate['auto']:.1%} | {rate['center']:.1%} |")
    lines.append(END)
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else ""
    block = "\n".join(lines)
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS_MD.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=120, help="photos per crop ratio")
    parser.add_argument("--seed", type=int, default=25)
    args = parser.parse_args()
    sys.path[:0] = [str(REPO), str(REPO / "tests"), str(BENCH)]
    from imagesd_support import start_standin, stop_standin

    started = time.monotonic()
    standin = start_standin()
    try:
        rates = evaluate(standin, make_cases(args.cases, args.seed))
    finally:
        stop_standin(standin)
    seconds = time.monotonic() - started
    for crop, rate in rates.items():
        print(f"{crop}: gravity=auto {rate['auto']:.1%}, centre {rate['center']:.1%} of {rate['cases']} photos")
    _record(rates, args.cases, args.seed, seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
