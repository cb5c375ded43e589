"""The one launcher (app/devstack.py): side-by-side stacks keep to themselves and stop cleanly."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
import requests

from app import devstack
from imagesd_support import start_standin, stop_standin


def test_two_standins_side_by_side_each_have_their_own_control_socket(tmp_path):
    """Gunicorn 27's default control socket is one path per machine ($XDG_RUNTIME_DIR or ~/.gunicorn); with HOME
    and XDG_RUNTIME_DIR pointed at an empty folder, nothing may appear there."""
    home = tmp_path / "home"
    home.mkdir()
    first = start_standin(HOME=str(home), XDG_RUNTIME_DIR=str(home))
    try:
        second = start_standin(HOME=str(home), XDG_RUNTIME_DIR=str(home))
        try:
            for standin in (first, second):
                assert requests.get(f"{standin.url}/healthz", timeout=5).ok
                socket_path = standin.data_dir / "gunicorn.ctl"
                devstack.wait_until(socket_path.exists, 10, f"{socket_path} to appear")
                assert stat.S_ISSOCK(socket_path.stat().st_mode)
            assert list(home.iterdir()) == []
        finally:
            stop_standin(second)
        assert second.process.returncode == 0
        assert requests.get(f"{first.url}/healthz", timeout=5).ok  # the first never noticed the second
    finally:
        stop_standin(first)
    assert first.process.returncode == 0
    assert list(home.iterdir()) == []


def test_ensure_redis_uses_one_that_answers_and_starts_one_otherwise(tmp_path):
    url, started = devstack.ensure_redis(f"redis://127.0.0.1:{devstack.free_port()}/0", tmp_path / "a")
    try:
        assert started is not None and devstack.redis_answers(url)
        again, none = devstack.ensure_redis(url, tmp_path / "b")
        assert (again, none) == (url, None)
    finally:
        started.stop()
    assert not devstack.redis_answers(url)


def test_wait_until_returns_the_value_and_gives_up_at_its_deadline():
    flag = threading.Event()
    threading.Timer(0.05, flag.set).start()
    assert devstack.wait_until(flag.is_set, 10, "the flag") is True
    with pytest.raises(TimeoutError, match="never did not happen within 0.2s"):
        devstack.wait_until(lambda: False, 0.2, "never")

    def dead():
        raise RuntimeError("the process died")

    with pytest.raises(RuntimeError, match="died"):
        devstack.wait_until(lambda: False, 10, "anything", check=dead)


def test_a_process_group_stops_together(tmp_path):
    log = tmp_path / "sh.log"
    process = devstack.Process("shell", ["sh", "-c", "sleep 300 & echo started; wait"], log=log)
    devstack.wait_until(lambda: "started" in log.read_text(), 10, "the shell to start its child")
    children = process.children()
    assert children
    process.stop(timeout=5)
    assert process.poll() is not None
    devstack.wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children), 10, "the child to go")
