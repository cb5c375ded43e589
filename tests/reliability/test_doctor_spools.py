"""`aeontel doctor` finds the upload spool a killed web process left behind, and `--fix` removes it."""

from __future__ import annotations

from datetime import timedelta

from procfile_support import procfile_process
from reliability_support import free_port, wait_http, wait_until
from slow_client_support import SlowUpload, spools


def _doctor(application, fix: bool):
    from app.domain import doctor
    from app.extensions import db

    with application.app_context():
        report = doctor.run(fix=fix, spool_idle=timedelta(0))
        db.session.remove()
        return report


def test_a_spool_left_by_a_killed_web_process_is_found_and_removed(make_app, base_settings, tenant, tmp_path):
    spool_dir = tmp_path / "uploads"
    port = free_port()
    web = procfile_process(
        "web", dict(base_settings, upload_tmp_dir=str(spool_dir)), tmp_path / "web.log", PORT=str(port)
    ).start()
    upload = None
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", web, timeout=60)
        upload = SlowUpload(port, tenant.write_token, tenant.project_id)  # 70 kB in, then nothing more
        wait_until(lambda: spools(spool_dir), 30, "the upload's spool")
        web.kill()  # SIGKILL: no teardown runs, the spool stays
    finally:
        if upload:
            upload.close()
        web.stop()
    [left] = spools(spool_dir)
    # A spool some process still has open is an upload in progress: never reported.
    live = spool_dir / "upload-live.part"
    with live.open("wb") as held:
        held.write(b"x")
        app = make_app(upload_tmp_dir=str(spool_dir))
        dry = _doctor(app, fix=False)
        found = {f.subject for f in dry.findings if f.kind == "stale_spool"}
        assert found == {left.name} and left.exists()
        fixed = _doctor(app, fix=True)
        assert [f.subject for f in fixed.findings if f.kind == "stale_spool" and f.fixed] == [left.name]
        assert not left.exists() and live.exists()
    assert not [f for f in _doctor(app, fix=False).findings if f.kind == "stale_spool" and f.subject == left.name]
