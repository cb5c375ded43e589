#!/usr/bin/env python3
"""Issue 23: how well does the perceptual hash find near duplicates, and how rarely does it pair unrelated photos?

One command, from the repository root:

    .venv/bin/python bench/near_duplicates_eval.py [--threshold 10] [--no-write]

From the real photos in tests/corpus (and, for more unrelated pictures, separate regions of the larger ones), it
makes near duplicates the way people do — resized, recompressed as JPEG at several qualities, cropped by at most 5 %,
re-saved with rewritten EXIF, and some of these combined — and hashes every picture through the product's own path
(`app.domain.pictures.placeholder`, the decode provisioning does). A pair of one source's pictures should match
(`duplicates.is_near`: distance ≤ threshold, and one band within RADIUS bits, as the indexed lookup finds them);
a pair of different sources should not. It prints precision and recall at the threshold
(the product's `duplicates.THRESHOLD` unless told), the distance histogram, and updates bench/RESULTS.md.
tests/domain/test_near_duplicates_quality.py runs the same evaluation on a smaller set and asserts the goal.
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from app.domain.duplicates import RADIUS, THRESHOLD, is_near  # noqa: E402
from app.domain.pictures import hamming, placeholder  # noqa: E402

CORPUS = REPO / "tests" / "corpus"
RESULTS_MD = BENCH / "RESULTS.md"
BEGIN, END = "<!-- bench:near_duplicates_eval:begin -->", "<!-- bench:near_duplicates_eval:end -->"
# Distinct photos (orientation_landscape_6 and the portrait ones show the same scene as orientation_landscape_1 or
# each other once turned upright, so one of each scene is taken).
PHOTOS = (
    "gps_DSCN0010.jpg",
    "mobile_jolla.jpg",
    "corrupted.jpg",
    "heic_IMG_5195.HEIC",
    "heic_samplefilehub.heif",
    "orientation_landscape_1.jpg",
    "Canon_40D.jpg",
    "Nikon_D70.jpg",
)
# Larger photos also give four unrelated pictures each: their quarters, as separate sources.
QUARTERED_FROM = 1000  # px on the shorter side


@dataclass(frozen=True)
class Picture:
    source: str
    variant: str
    phash: int


def _jpeg(image: Image.Image, quality: int, exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality, **({"exif": exif} if exif else {}))
    return out.getvalue()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _resized(image: Image.Image, factor: float) -> Image.Image:
    size = (max(16, round(image.width * factor)), max(16, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _cropped(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = image.size
    return image.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))


def _new_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Another Camera Co."  # Make
    exif[0x0110] = "Re-export 2"  # Model
    exif[0x0131] = "Photo editor 9.1"  # Software
    exif[0x013B] = "Someone else"  # Artist
    exif[0x0132] = "2026:12:05 03:30:00"  # DateTime
    return exif.tobytes()


def variants(image: Image.Image, full: bool = True) -> dict[str, bytes]:
    """The near duplicates of one picture, as files: every one must be found from the original."""
    made = {
        "resize-50": _jpeg(_resized(image, 0.5), 90),
        "resize-25": _jpeg(_resized(image, 0.25), 90),
        "jpeg-q75": _jpeg(image, 75),
        "jpeg-q30": _jpeg(image, 30),
        "crop-5-right": _jpeg(_cropped(image, 0, 0, 0.05, 0), 90),
        "crop-2.5-around": _jpeg(_cropped(image, 0.025, 0.025, 0.025, 0.025), 90),
        "exif-rewrite": _jpeg(image, 92, exif=_new_exif()),
        "resize-60+jpeg-q50": _jpeg(_resized(image, 0.6), 50),
    }
    if full:
        made.update(
            {
                "resize-75": _jpeg(_resized(image, 0.75), 90),
                "jpeg-q95": _jpeg(image, 95),
                "jpeg-q50": _jpeg(image, 50),
                "png": _png(image),
                "crop-5-top": _jpeg(_cropped(image, 0, 0.05, 0, 0), 90),
                "crop-3-left-top": _jpeg(_cropped(image, 0.03, 0.03, 0, 0), 90),
                "crop-5+resize-50": _jpeg(_resized(_cropped(image, 0.05, 0, 0, 0), 0.5), 80),
            }
        )
    return made


def sources(full: bool = True) -> dict[str, Image.Image]:
    """Unrelated pictures: each photo, upright, and the quarters of the large ones."""
    found = {}
    for name in PHOTOS if full else PHOTOS[:5]:
        with Image.open(CORPUS / name) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
        image.thumbnail((1600, 1600))  # the pixels people export; keeps the run short
        found[name] = image
        if full and min(opened.size) >= QUARTERED_FROM:
            w, h = image.size
            for i, (x, y) in enumerate(((0, 0), (w // 2, 0), (0, h // 2), (w // 2, h // 2))):
                found[f"{name}#q{i}"] = image.crop((x, y, x + w // 2, y + h // 2))
    return found


def _hash(data: bytes) -> int:
    return placeholder(io.BytesIO(data)).phash


def pictures(full: bool = True) -> list[Picture]:
    """Every original (as a JPEG at quality 95, as an upload would be) and its variants, hashed as provisioning does."""
    found = []
    for name, image in sources(full).items():
        found.append(Picture(name, "original", _hash(_jpeg(image, 95))))
        found += [Picture(name, variant, _hash(data)) for variant, data in variants(image, full).items()]
    return found


def evaluate(found: list[Picture], threshold: int = THRESHOLD) -> dict:
    """Precision and recall over every pair: same source = a near duplicate, different sources = unrelated."""
    tp = fp = fn = tn = 0
    positives, negatives = Counter(), Counter()
    for a, b in itertools.combinations(found, 2):
        distance = hamming(a.phash, b.phash)
        same = a.source == b.source
        (positives if same else negatives)[distance] += 1
        matched = is_near(a.phash, b.phash, threshold)
        tp += same and matched
        fn += same and not matched
        fp += (not same) and matched
        tn += (not same) and not matched
    return {
        "threshold": threshold,
        "pictures": len(found),
        "sources": len({p.source for p in found}),
        "positive_pairs": tp + fn,
        "negative_pairs": fp + tn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "positives": positives,
        "negatives": negatives,
    }


def _table(found: list[Picture]) -> list[str]:
    lines = ["| threshold (bits) | precision | recall | false pairs | missed pairs |", "|---|---|---|---|---|"]
    for threshold in (4, 8, 10, 12, 14):
        r = evaluate(found, threshold)
        mark = " **(chosen)**" if threshold == THRESHOLD else ""
        lines.append(f"| {threshold}{mark} | {r['precision']:.4f} | {r['recall']:.4f} | {r['fp']} | {r['fn']} |")
    return lines


def _write(result: dict, found: list[Picture], seconds: float) -> None:
    positives = dict(sorted(result["positives"].items()))
    closest = dict(sorted(result["negatives"].items())[:3])
    block = [
        BEGIN,
        f"### Near-duplicate quality (issue 23) — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"`bench/near_duplicates_eval.py`: {result['sources']} unrelated sources from tests/corpus (the photos and "
        f"the quarters of the large ones), {result['pictures']} pictures (each source and its resizes, JPEG "
        f"recompressions at q95/75/50/30, crops of at most 5 %, an EXIF rewrite and combinations), "
        f"{result['positive_pairs']} near-duplicate pairs and {result['negative_pairs']} unrelated pairs; hashes "
        f"through `pictures.placeholder` (provisioning's decode); {seconds:.1f} s.",
        "",
        f"At the product's rule (at most {result['threshold']} of 64 bits apart, one 16-bit band within {RADIUS} "
        f"bits — what the indexed lookup finds): **precision {result['precision']:.4f}, "
        f"recall {result['recall']:.4f}** (goal: ≥ 0.99 precision, ≥ 0.95 recall). Near-duplicate pairs by distance "
        f"(bits: pairs): {positives}; the closest unrelated pairs: {closest}.",
        "",
        *_table(found),
        END,
    ]
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else ""
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + "\n".join(block) + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n" + "\n".join(block) + "\n"
    RESULTS_MD.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threshold", type=int, default=THRESHOLD)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    started = time.monotonic()
    found = pictures(full=True)
    result = evaluate(found, args.threshold)
    seconds = time.monotonic() - started
    print(f"{result['pictures']} pictures from {result['sources']} sources in {seconds:.1f} s")
    print(f"positive pairs {result['positive_pairs']}, negative pairs {result['negative_pairs']}")
    print(f"threshold {args.threshold}: precision {result['precision']:.4f} recall {result['recall']:.4f}")
    print("positive distances:", sorted(result["positives"].items()))
    print("closest negative distances:", sorted(result["negatives"].items())[:8])
    print("\n".join(_table(found)))
    if not args.no_write and args.threshold == THRESHOLD:
        _write(result, found, seconds)


if __name__ == "__main__":
    main()
