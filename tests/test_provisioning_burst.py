"""A burst of uploads provisions through batch tokens, so Cloudflare's global API limit never blocks the account."""

from __future__ import annotations

import sqlite3
import time

import pytest
from imagesd_support import ACCOUNT_HASH, start_standin, stop_standin
from sqlalchemy import func, select
from test_provisioning_e2e import distinct_jpeg, upload

from app.adapters.queue import BurstWorker
from app.domain.images import Image, Provisioning
from app.extensions import db

LIMIT = 50
BURST = 150  # three times the limit


@pytest.fixture
def limited_images():
    """A stand-in that allows 50 API calls per token per 5 minutes, then blocks the token as Cloudflare does."""
    server = start_standin(IMAGESD_RATE_LIMIT=f"{LIMIT}/300")
    yield server
    stop_standin(server)


def test_a_burst_three_times_the_limit_provisions_without_a_block(make_app, tenant, live_server, limited_images):
    limited = make_app(
        images_api_base=f"{limited_images.url}/client/v4",
        images_delivery_base=limited_images.url,
        images_account_hash=ACCOUNT_HASH,
    )
    ids = [upload(live_server, tenant, distinct_jpeg(n), f"{n}.jpg") for n in range(BURST)]
    deadline = time.monotonic() + 120
    with limited.app_context():
        connection = limited.extensions["queue"].connection
        done = 0
        while time.monotonic() < deadline and done < BURST:
            BurstWorker(["events", "images", "default"], connection=connection).work(burst=True)
            db.session.expire_all()
            done = db.session.scalar(select(func.count()).select_from(Image).where(Image.file_id.in_(ids)))
        attempts = db.session.scalar(select(func.sum(Provisioning.attempts)).where(Provisioning.file_id.in_(ids)))
        assert done == BURST and attempts == BURST, "every file provisioned on its first attempt: no 429"
    with sqlite3.connect(limited_images.data_dir / "imagesd.sqlite3") as conn:
        used, blocked_until = conn.execute("SELECT used, blocked_until FROM rate_limit").fetchone()
    assert blocked_until == 0 and used < 10, f"{used} API calls: the setup and one batch token, the rest batched"


def test_without_batch_tokens_the_limit_blocks_the_account(make_app, tenant, live_server, limited_images):
    """The control: the same client with the batch host off spends the global limit and gets the token blocked."""
    unbatched = make_app(
        images_api_base=f"{limited_images.url}/client/v4",
        images_delivery_base=limited_images.url,
        images_account_hash=ACCOUNT_HASH,
        images_batch_base="off",
    )
    ids = [upload(live_server, tenant, distinct_jpeg(n), f"{n}.jpg") for n in range(LIMIT + 5)]
    with unbatched.app_context():
        BurstWorker(["events", "images", "default"], connection=unbatched.extensions["queue"].connection).work(
            burst=True
        )
        db.session.expire_all()
        waiting = db.session.scalars(
            select(Provisioning).where(Provisioning.file_id.in_(ids), Provisioning.state.in_(("queued", "waiting")))
        ).all()
        assert waiting and all(
            "971" in (row.last_error or "") or "requests per" in (row.last_error or "") for row in waiting
        ), [row.last_error for row in waiting][:3]
    with sqlite3.connect(limited_images.data_dir / "imagesd.sqlite3") as conn:
        assert conn.execute("SELECT blocked_until FROM rate_limit").fetchone()[0] > time.time()
