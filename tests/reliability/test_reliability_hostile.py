"""Hostile input: every file of a generated corpus (and the shared damaged corpus) ends as a clear error or a
correct image, through the API and a real worker process, with the worker alive and its memory bounded."""

from __future__ import annotations

import threading
from pathlib import Path

import requests
from hostile_corpus import Case, build
from imagesd_support import ACCOUNT_HASH
from reliability_support import Process, distinct_jpeg, tail, wait_until, worker_process
from sqlalchemy import select

from app.domain.files import File
from app.domain.images import Image, Provisioning
from app.extensions import db

MEMORY_LIMIT_MB = 500  # the worker process tree
STANDIN_GROWTH_LIMIT_MB = 600  # growth of the stand-in's gunicorn master and two workers together (shared fixture)


class RssSampler(threading.Thread):
    """Peak resident memory of each watched process tree (summed over its members), sampled every 20 ms."""

    def __init__(self, trees: dict):
        super().__init__(daemon=True)
        self.trees = trees
        self.peaks = dict.fromkeys(trees, 0.0)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.02):
            for name, process in self.trees.items():
                self.peaks[name] = max(self.peaks[name], process.rss_mb())


def outcome(app, file_id: str):
    """('image', w, h) | ('error', message) | ('file', mime) | None while still on its way."""
    with app.app_context():
        try:
            file = db.session.get(File, file_id)
            image = db.session.get(Image, file_id)
            if image is not None:
                return ("image", image.width, image.height, image.cf_image_id)
            if file.status == "error":
                return ("error", file.error_code, file.error_message)
            if not file.mime_type.startswith("image/"):
                return ("file", file.mime_type)
            return None
        finally:
            db.session.remove()


def shared_cases(corpus: Path) -> list[Case]:
    return [
        Case(f"shared/{path.name}", path.read_bytes(), "either")
        for path in sorted(corpus.iterdir())
        if path.suffix.lower() in {".jpg", ".jpeg", ".heic", ".heif", ".png"}
    ]


def test_hostile_corpus_ends_in_clear_errors_or_correct_images(
    app, base_settings, tenant, live_server, images_service, corpus
):
    cases = build()
    cases += shared_cases(corpus)
    assert len(cases) >= 25 + 13
    log = Path(base_settings["instance_dir"]) / "hostile-worker.log"
    log.unlink(missing_ok=True)
    worker = worker_process(base_settings, log).start()
    standin = Process("imagesd", [], {}, images_service.log)
    standin.process = images_service.process
    standin_before = standin.rss_mb()
    sampler = RssSampler({"worker": worker, "imagesd": standin})
    sampler.start()
    results: dict[str, tuple] = {}
    try:
        uploaded: dict[str, str] = {}
        for case in cases:
            response = requests.post(
                f"{live_server.url}/api/files",
                headers=tenant.auth(),
                timeout=60,
                data={"project_id": tenant.project_id},
                files={"file": (Path(case.name).name, case.data, "image/png")},
            )
            if response.status_code == 201:
                uploaded[case.name] = response.json()["id"]
                continue
            assert response.status_code in (400, 413, 415, 422), (case.name, response.status_code, response.text)
            assert response.headers["Content-Type"].startswith("application/problem+json")
            results[case.name] = ("refused", response.status_code, response.json()["detail"])

        def settled():
            for name, file_id in uploaded.items():
                if name not in results:
                    found = outcome(app, file_id)
                    if found is not None:
                        results[name] = found
            return len(results) == len(cases)

        wait_until(
            settled,
            150,
            "every hostile file to settle: " + ", ".join(name for name in uploaded if name not in results),
            (log,),
        )
        assert worker.alive(), "the worker survived the corpus"
        # Still working: an ordinary photo after the hostile ones becomes an image.
        normal = requests.post(
            f"{live_server.url}/api/files",
            headers=tenant.auth(),
            timeout=30,
            data={"project_id": tenant.project_id},
            files={"file": ("ok.jpg", distinct_jpeg(7))},
        )
        wait_until(lambda: (outcome(app, normal.json()["id"]) or ("",))[0] == "image", 60, "an ordinary photo", (log,))
        assert worker.alive()
    finally:
        sampler.stop.set()
        sampler.join()
        worker.stop()

    width = max(len(name) for name in results)
    print(
        f"\nhostile corpus: {len(cases)} files; peak RSS worker {sampler.peaks['worker']:.0f} MB, "
        f"imagesd {sampler.peaks['imagesd']:.0f} MB ({standin_before:.0f} MB before)"
    )
    for case in cases:
        print(f"  {case.name:<{width}}  {results[case.name]}")

    problems = []
    for case in cases:
        result = results[case.name]
        kind = result[0]
        if kind == "image":
            _, w, h, cf_id = result
            if not (1 <= w <= 12_000 and 1 <= h <= 12_000):
                problems.append(f"{case.name}: image of insane size {w}x{h}")
            if case.size and (w, h) != case.size:
                problems.append(f"{case.name}: image {w}x{h}, expected {case.size}")
            delivered = requests.get(f"{images_service.url}/{ACCOUNT_HASH}/{cf_id}/thumbnail", timeout=60)
            if delivered.status_code != 200 or not delivered.headers["Content-Type"].startswith("image/"):
                problems.append(f"{case.name}: its thumbnail answered {delivered.status_code} {delivered.text[:200]}")
        elif kind in ("error", "refused"):
            message = result[2]
            if not message or len(message) < 15 or "Traceback" in message:
                problems.append(f"{case.name}: unreadable reason {message!r}")
            if any(word.lower() not in message.lower() for word in case.words):
                problems.append(f"{case.name}: reason {message!r} does not mention {case.words}")
        elif case.expect != "file":
            problems.append(f"{case.name}: ended as a plain file {result}, neither an image nor an error")
        if case.expect == "image" and kind != "image":
            problems.append(f"{case.name}: expected an image, got {result}")
        if case.expect == "error" and kind not in ("error", "refused"):
            problems.append(f"{case.name}: expected an error, got {result}")
    with app.app_context():
        stuck = db.session.scalars(
            select(Provisioning.file_id).where(Provisioning.state.in_(("queued", "running", "waiting")))
        )
        assert list(stuck) == [], "no provisioning left half-way"
        db.session.remove()
    assert not problems, "\n".join(problems)
    assert sampler.peaks["worker"] < MEMORY_LIMIT_MB, f"worker peak RSS {sampler.peaks['worker']:.0f} MB\n{tail(log)}"
    assert sampler.peaks["imagesd"] - standin_before < STANDIN_GROWTH_LIMIT_MB, (
        f"stand-in peak RSS {sampler.peaks['imagesd']:.0f} MB, {standin_before:.0f} MB before the corpus"
    )
