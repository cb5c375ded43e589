"""`aeontel file upload` sends large files resumably (tus): through a link that drops it finishes with the same
sha256, and an upload cut short for good is resumed, not restarted, by running the same command again."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from app.client import ApiConnectionError, Client, ResumeState, resume_state_path
from app.devstack import CuttingProxy

CHUNK = 256 * 1024


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(10 * CHUNK + 4321))
    return path


def test_file_upload_goes_through_a_dropping_link(aeontel, live_server, tenant, big_file):
    proxy = CuttingProxy(live_server.port, 3 * CHUNK + 1000)
    try:
        result = aeontel(
            "file",
            "upload",
            str(big_file),
            "--project",
            tenant.project_id,
            "--json",
            env={"AEONTEL_API_URL": proxy.url, "AEONTEL_TUS_CHUNK": str(CHUNK)},
        )
    finally:
        proxy.close()
    assert result.exit_code == 0, result.output
    file = json.loads(result.output.splitlines()[-1])["file"]
    assert file["sha256"] == hashlib.sha256(big_file.read_bytes()).hexdigest()
    assert proxy.cuts >= 2
    assert proxy.forwarded - big_file.stat().st_size - proxy.connections * 1024 <= proxy.cuts * CHUNK


def test_a_rerun_resumes_where_the_upload_stopped(live_server, tenant, big_file, cli_env, monkeypatch, aeontel):
    monkeypatch.setenv("AEONTEL_CONFIG", cli_env["AEONTEL_CONFIG"])
    monkeypatch.setenv("AEONTEL_TUS_CHUNK", str(CHUNK))
    size = big_file.stat().st_size
    proxy = CuttingProxy(live_server.port, size // 2)
    try:
        with pytest.raises(ApiConnectionError) as stopped:
            Client(proxy.url, tenant.write_token, max_retries=0).upload_file(big_file, tenant.project_id)
        assert stopped.value.code == "upload_interrupted"
        assert "run the same command again" in str(stopped.value)
        state = ResumeState(resume_state_path())
        assert state.get(state.key(proxy.url, big_file)) is not None
        proxy.steady()
        before, connections = proxy.forwarded, proxy.connections
        result = aeontel(
            "file",
            "upload",
            str(big_file),
            "--project",
            tenant.project_id,
            "--json",
            env={"AEONTEL_API_URL": proxy.url},
        )
    finally:
        proxy.close()
    assert result.exit_code == 0, result.output
    file = json.loads(result.output.splitlines()[-1])["file"]
    assert file["sha256"] == hashlib.sha256(big_file.read_bytes()).hexdigest()
    # The rerun sent what the server lacked (about half), not the whole file again.
    second = proxy.forwarded - before - (proxy.connections - connections) * 1024
    assert second <= size - size // 2 + CHUNK, (second, size)
    assert state.get(state.key(proxy.url, big_file)) is None
