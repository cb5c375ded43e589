"""The fault switch (IMAGESD_FAULTS) for reliability tests, and the command that serves the stand-in."""

from __future__ import annotations

import cloudflare
import pytest
import requests
from click.testing import CliRunner
from imagesd_support import ACCOUNT_ID, TOKEN, start_standin, stop_standin

from app.imagesd import parse_faults
from app.imagesd.cli import images


@pytest.fixture(scope="module")
def faulty():
    server = start_standin(IMAGESD_FAULTS="503:2,429:1", IMAGESD_FAULT_RETRY_AFTER="3")
    yield server
    stop_standin(server)


def test_first_calls_fail_then_the_api_recovers(faulty):
    from cloudflare import Cloudflare

    # Separate connections, so both gunicorn workers take part: the count is shared through the data folder.
    # The account calls (keys, variants, config) are never failed: the account setup must not spend the plan.
    assert requests.get(f"{faulty.api}/v1/keys", headers=faulty.auth, timeout=10).status_code == 200
    answers = [requests.get(f"{faulty.api}/v2", headers=faulty.auth, timeout=10) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [503, 503, 429]
    assert all(answer.headers["Retry-After"] == "3" for answer in answers)
    assert [answer.json()["errors"][0]["code"] for answer in answers] == [5503, 5503, 5429]
    assert "IMAGESD_FAULTS" in answers[0].json()["errors"][0]["message"]
    with Cloudflare(api_token=TOKEN, base_url=f"{faulty.url}/client/v4", max_retries=0) as client:
        assert client.images.v2.list(account_id=ACCOUNT_ID).images == []


def test_sdk_sees_transient_errors_as_its_own_exceptions():
    from cloudflare import Cloudflare

    server = start_standin(IMAGESD_FAULTS="503:1,429:1")
    try:
        with Cloudflare(api_token=TOKEN, base_url=f"{server.url}/client/v4", max_retries=0) as client:
            with pytest.raises(cloudflare.InternalServerError) as unavailable:
                client.images.v2.list(account_id=ACCOUNT_ID)
            assert unavailable.value.status_code == 503
            with pytest.raises(cloudflare.RateLimitError) as limited:
                client.images.v2.list(account_id=ACCOUNT_ID)
            assert limited.value.response.headers["Retry-After"] == "1"
            assert client.images.v2.list(account_id=ACCOUNT_ID).images == []
    finally:
        stop_standin(server)


def test_fault_plan_parsing():
    assert parse_faults("503:2,429:1") == [(503, 2), (429, 1)]
    assert parse_faults("") == []
    with pytest.raises(ValueError, match="503:2,429:1"):
        parse_faults("500:1")


def test_images_command_group():
    result = CliRunner().invoke(images, ["serve", "--help"])
    assert result.exit_code == 0
    for flag in ("--host", "--port", "--workers"):
        assert flag in result.output
