"""`aeontel doctor` finds each kind of inconsistency made for real, changes nothing on a dry run, and fixes what is safe."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
import requests
from imagesd_support import ACCOUNT_HASH, start_standin, stop_standin
from security_support import png

from app.adapters.queue import BurstWorker


@pytest.fixture(scope="module")
def fresh_standin():
    """An images service of its own, so copies left by other tests are not mistaken for these."""
    server = start_standin()
    yield server
    log = server.log.read_text()
    stop_standin(server)
    assert "Traceback" not in log, log


@pytest.fixture
def stack(app, make_app, live_server, fresh_standin):
    application = make_app(
        images_api_base=f"{fresh_standin.url}/client/v4",
        images_delivery_base=fresh_standin.url,
        images_account_hash=ACCOUNT_HASH,
    )
    with application.app_context():
        from app.domain import accounts
        from app.extensions import db

        ws = accounts.create_workspace("Doctor")
        prj = accounts.create_project(ws.id, "Website")
        _, token = accounts.create_token(ws.id, "write")
        db.session.commit()
        ws_id, prj_id = ws.id, prj.id
        db.session.remove()
    yield application, ws_id, prj_id, {"Authorization": f"Bearer {token}"}
    for copy in _copies(fresh_standin):
        requests.delete(f"{fresh_standin.api}/v1/{copy['id']}", headers=fresh_standin.auth, timeout=10)


def _copies(standin) -> list[dict]:
    return requests.get(f"{standin.api}/v2", headers=standin.auth, params={"per_page": 1000}, timeout=10).json()[
        "result"
    ]["images"]


def _work(application, queues=None) -> None:
    from app.adapters.queue import QUEUE_NAMES

    with application.app_context():
        for _ in range(10):
            if not BurstWorker(list(queues or QUEUE_NAMES), connection=application.extensions["queue"].connection).work(
                burst=True, with_scheduler=False
            ):
                return


def _upload(application, prj, auth, data: bytes, name: str) -> str:
    response = application.test_client().post(
        "/api/files",
        headers=auth,
        content_type="multipart/form-data",
        data={"project_id": prj, "file": (io.BytesIO(data), name)},
    )
    assert response.status_code == 201, response.text
    return response.json["id"]


def _doctor(application, fix=False):
    from app.domain import doctor

    with application.app_context():
        report = doctor.run(fix=fix)
        from app.extensions import db

        db.session.remove()
        return report


def _kinds(report) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in report.findings:
        found.setdefault(finding.kind, set()).add(finding.subject)
    return found


def test_doctor_finds_and_fixes_each_inconsistency(stack, fresh_standin):
    application, ws, prj, auth = stack
    kept = _upload(application, prj, auth, png(color=(1, 2, 3)), "kept.png")
    lost_copy = _upload(application, prj, auth, png(color=(4, 5, 6)), "lost-copy.png")
    text = _upload(application, prj, auth, b"just some text, not an image", "notes.txt")
    _work(application)
    assert _doctor(application).findings == [], "a consistent stack has nothing to report"

    storage_root = application.extensions["storage"].root
    # 1. A file row whose bytes are gone.
    (storage_root / ws / text).unlink()
    # 2. A stored object no row names (and a partial one).
    (storage_root / ws / "fil_orphanobject0000000000000").write_bytes(b"orphan")
    (storage_root / ws / "fil_orphanpartial000000000000.partial").write_bytes(b"half")
    # 3. An image whose Images copy is gone.
    requests.delete(f"{fresh_standin.api}/v1/{lost_copy}", headers=fresh_standin.auth, timeout=10).raise_for_status()
    # 4. A copy made for a file that no longer has an image row (and none in flight).
    ghost = fresh_standin.upload(
        png(),
        "ghost.png",
        metadata=json.dumps({"fileId": "fil_ghost000000000000000000000", "workspaceId": ws}),
        creator="fil_ghost000000000000000000000",
    ).json()["result"]["id"]
    # 5. Provisioning whose job was lost long ago, with a copy an earlier attempt made (in flight: not an orphan).
    stuck = _upload(application, prj, auth, png(color=(7, 8, 9)), "stuck.png")
    _work(application, queues=("events",))  # file.ready → a provisioning row and its job on the images queue
    application.extensions["queue"].connection.flushdb()  # … which is lost
    with application.app_context():
        from app.domain.images import Provisioning
        from app.extensions import db

        row = db.session.get(Provisioning, stuck)
        assert row is not None and row.state == "queued"
        an_hour_ago = row.next_attempt_at - timedelta(hours=1)
        row.next_attempt_at, row.enqueued_at = an_hour_ago, an_hour_ago
        db.session.commit()
        db.session.remove()
    fresh_standin.upload(png(color=(7, 8, 9)), "stuck.png", id=stuck, creator=stuck)

    dry = _doctor(application)
    assert _kinds(dry) == {
        "missing_bytes": {text},
        "orphan_object": {f"{ws}/fil_orphanobject0000000000000", f"{ws}/fil_orphanpartial000000000000.partial"},
        "missing_copy": {lost_copy},
        "orphan_copy": {ghost},
        "stuck_provisioning": {stuck},
    }, dry.as_dict()
    assert not any(f.fixed for f in dry.findings)
    # A dry run changes nothing.
    assert (storage_root / ws / "fil_orphanobject0000000000000").exists()
    assert ghost in {c["id"] for c in _copies(fresh_standin)}
    assert _kinds(_doctor(application)) == _kinds(dry)

    fixed = _doctor(application, fix=True)
    assert {f.kind for f in fixed.findings if f.fixed} == {
        "missing_bytes",
        "orphan_object",
        "orphan_copy",
        "stuck_provisioning",
    }
    assert [f.kind for f in fixed.unresolved] == ["missing_copy"]
    assert not (storage_root / ws / "fil_orphanobject0000000000000").exists()
    assert not (storage_root / ws / "fil_orphanpartial000000000000.partial").exists()
    assert ghost not in {c["id"] for c in _copies(fresh_standin)}
    assert (storage_root / ws / kept).exists()
    client = application.test_client()
    notes = client.get(f"/api/files/{text}", headers=auth).json
    assert notes["status"] == "error"
    _work(application)  # the re-queued job provisions the stuck file, adopting the copy already made
    assert client.get(f"/api/images/{stuck}", headers=auth).status_code == 200
    assert client.get(f"/api/images/{kept}", headers=auth).status_code == 200
    # Afterwards only what needs a person is left.
    assert _kinds(_doctor(application)) == {"missing_copy": {lost_copy}}


def test_the_command_dry_run_and_fix_with_json(stack, fresh_standin, cli):
    application, ws, prj, auth = stack
    (application.extensions["storage"].root / ws).mkdir(parents=True, exist_ok=True)
    orphan = application.extensions["storage"].root / ws / "fil_clorphan000000000000000000"
    orphan.write_bytes(b"x")
    images = {"IMAGES_API_BASE": f"{fresh_standin.url}/client/v4", "IMAGES_DELIVERY_BASE": fresh_standin.url}

    def doctor(*args):
        return cli("doctor", *args, extra_env=images)

    text = doctor()
    assert text.exit_code == 1 and "orphan_object" in text.output and "dry run" in text.output
    assert orphan.exists()
    report = json.loads(doctor("--json").output)
    assert report["found"]["orphan_object"] == 1 and report["fix"] is False and report["unresolved"] == 1
    fixed = doctor("--fix", "--json")
    assert fixed.exit_code == 0, fixed.output
    assert json.loads(fixed.output)["fixed"] == 1 and not orphan.exists()
    clean = doctor()
    assert clean.exit_code == 0 and "0 found" in clean.output


def test_doctor_reports_account_drift_and_fix_applies_the_setup(app, make_app, cli):
    """A new account (flexible variants off, only `public`) breaks every tile; doctor says so and --fix sets it up."""
    bare = start_standin(setup=False)
    try:
        images = {
            "IMAGES_API_BASE": f"{bare.url}/client/v4",
            "IMAGES_DELIVERY_BASE": bare.url,
            "IMAGES_SIGNING_KEY": "not-a-key-of-this-account",
        }
        application = make_app(
            images_api_base=images["IMAGES_API_BASE"],
            images_delivery_base=bare.url,
            images_signing_key=images["IMAGES_SIGNING_KEY"],
        )
        with application.app_context():
            from app.domain import accounts
            from app.extensions import db

            ws = accounts.create_workspace("Private")
            ws.settings = {"private_images": True}
            db.session.commit()
            db.session.remove()
        report = json.loads(cli("doctor", "--json", extra_env=images).output)
        drift = {f["subject"] for f in report["findings"] if f["kind"] == "account_drift"}
        assert drift == {"config:flexible_variants", "variant_missing:thumbnail", "signing_key:IMAGES_SIGNING_KEY"}
        assert report["found"]["account_drift"] == 3 and report["unresolved"] == 3
        fixed = cli("doctor", "--fix", extra_env=images)
        assert fixed.exit_code == 1, "a wrong signing key needs a person"
        assert "applied the account setup" in fixed.output and "IMAGES_SIGNING_KEY" in fixed.output
        report = json.loads(cli("doctor", "--json", extra_env=dict(images, IMAGES_SIGNING_KEY="")).output)
        assert report["found"]["account_drift"] == 0 and report["unresolved"] == 0, report
    finally:
        stop_standin(bare)
