"""Pending removals and the backoff every retried row uses: rows written with the delete, retried until done."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.domain import durable, removals
from app.domain.common import utcnow
from app.domain.files import File
from app.domain.images import Image
from app.domain.removals import IMAGES_COPY, STORED_OBJECT, PendingRemoval
from app.extensions import db
from tests.factories import upload_over_http as upload
from tests.services import free_port


@settings(max_examples=300, deadline=None)
@given(
    failures=st.integers(min_value=-5, max_value=10_000),
    base=st.floats(min_value=0.01, max_value=60),
    cap=st.floats(min_value=0.01, max_value=3600),
    rand=st.floats(min_value=0, max_value=1),
)
def test_backoff_stays_within_half_and_all_of_the_capped_exponential(failures, base, cap, rand):
    base = min(base, cap)
    ceiling = min(cap, base * 2.0 ** (max(failures, 1) - 1)) if failures < 1000 else cap
    wait = durable.delay(failures, base, cap, rand)
    assert 0 < wait <= cap * (1 + 1e-9)
    assert ceiling / 2 * (1 - 1e-9) <= wait <= ceiling * (1 + 1e-9)


@given(failures=st.integers(min_value=1, max_value=200))
def test_backoff_never_shrinks_as_failures_grow(failures):
    assert durable.delay(failures, 1.0, 30.0, 1.0) <= durable.delay(failures + 1, 1.0, 30.0, 1.0)


@pytest.fixture
def image_id(live_server, tenant, run_jobs, app, corpus):
    file_id = upload(live_server, tenant, (corpus / "Canon_40D.jpg").read_bytes(), "canon.jpg")
    run_jobs()
    with app.app_context():
        assert db.session.get(Image, file_id) is not None
    return file_id


def test_a_delete_writes_both_removals_in_its_own_transaction(app, tenant, image_id):
    from app.domain import image_edits

    with app.app_context():
        storage_key = db.session.get(File, image_id).storage_key
        image_edits.delete_image(tenant.workspace_id, image_id, permanent=True)
        pending = {(row.kind, row.target) for row in db.session.scalars(select(PendingRemoval))}
        assert pending == {(IMAGES_COPY, image_id), (STORED_OBJECT, storage_key)}
        db.session.remove()


def test_a_refused_removal_waits_with_backoff_and_is_never_dropped_then_goes(
    app, make_app, tenant, image_id, images_service
):
    from app.domain import image_edits

    down = make_app(
        images_api_base=f"http://127.0.0.1:{free_port()}/client/v4", retry_base_seconds=1, retry_cap_seconds=4
    )
    with down.app_context():
        image_edits.delete_image(tenant.workspace_id, image_id, permanent=True)
        copy = db.session.scalar(select(PendingRemoval).where(PendingRemoval.kind == IMAGES_COPY))
        for attempt in range(1, 13):  # far past any fixed budget
            db.session.execute(
                db.update(PendingRemoval).where(PendingRemoval.id == copy.id).values(next_attempt_at=utcnow())
            )
            db.session.commit()
            assert removals.perform(copy.id) == "retry"
            row = db.session.get(PendingRemoval, copy.id)
            assert row.attempts == attempt and "could not be reached" in row.last_error
            assert timedelta(seconds=0.4) < row.next_attempt_at - utcnow() <= timedelta(seconds=4)
            assert row.lease_until is None
        assert removals.perform(copy.id) == "not-due", "a row that is not due is left alone"
        db.session.remove()
    url = f"{images_service.url}/{app.config['IMAGES_ACCOUNT_HASH']}/{image_id}/public"
    assert requests.get(url, timeout=10).status_code == 200, "still delivered while the removal waits"
    with app.app_context():
        db.session.execute(db.update(PendingRemoval).values(next_attempt_at=utcnow()))
        db.session.commit()
        assert removals.work_due() == 2
        assert db.session.scalars(select(PendingRemoval)).all() == []
        db.session.remove()
    assert requests.get(url, timeout=10).status_code == 404


def test_only_one_claimer_wins_a_removal(app, tenant, image_id):
    from app.domain import image_edits

    with app.app_context():
        image_edits.delete_image(tenant.workspace_id, image_id, permanent=True)
        removal_id = db.session.scalar(select(PendingRemoval.id).where(PendingRemoval.kind == IMAGES_COPY))
        assert removals.RETRIED.claim(removal_id, lease=removals.LEASE) is True
        assert removals.RETRIED.claim(removal_id, lease=removals.LEASE) is False, "a leased row is not claimed twice"
        assert removals.perform(removal_id) == "not-due"
        db.session.remove()


def test_doctor_reports_a_deleted_image_still_delivered_and_fix_removes_it(app, tenant, image_id, images_service):
    from app.domain import doctor, image_edits

    with app.app_context():
        image_edits.delete_image(tenant.workspace_id, image_id, permanent=True)
        db.session.execute(
            db.update(PendingRemoval).values(
                next_attempt_at=utcnow() + timedelta(hours=1), created_at=utcnow() - timedelta(hours=2)
            )
        )
        db.session.commit()
        found = doctor.run().as_dict()
        kinds = {(f["kind"], f["subject"]) for f in found["findings"]}
        assert ("deleted_copy_delivered", image_id) in kinds
        assert any(kind == "overdue_removal" for kind, _ in kinds), "the stored bytes' removal is overdue too"
        assert ("orphan_copy", image_id) not in kinds, "a copy with a pending removal is not an orphan"
        fixed = doctor.run(fix=True).as_dict()
        ours = [f for f in fixed["findings"] if f["kind"] in ("deleted_copy_delivered", "overdue_removal")]
        assert len(ours) == 2 and all(f["fixed"] for f in ours), ours
        assert db.session.scalars(select(PendingRemoval)).all() == []
        again = doctor.run().as_dict()["found"]
        assert again["deleted_copy_delivered"] == 0 and again["overdue_removal"] == 0
        db.session.remove()
    url = f"{images_service.url}/{app.config['IMAGES_ACCOUNT_HASH']}/{image_id}/public"
    assert requests.get(url, timeout=10).status_code == 404
