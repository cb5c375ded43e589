"""The one launcher (app/devstack.py): side-by-side stacks keep to themselves and stop cleanly."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
import requests
from imagesd_support import start_standin, stop_standin

from app import devstack

# Its subject is not the database: the PostgreSQL pass does not run it again (scripts/test.sh).
pytestmark = pytest.mark.one_database


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


def test_a_folder_too_deep_for_a_unix_socket_gets_no_control_socket(tmp_path):
    assert devstack.gunicorn_control_args(tmp_path / "web") == [
        "--control-socket",
        str(tmp_path / "web" / "gunicorn.ctl"),
    ]
    deep = tmp_path / ("d" * 120)
    assert devstack.gunicorn_control_args(deep) == ["--no-control-socket"]


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


def test_make_dev_runs_the_whole_stack_and_ctrl_c_stops_all_of_it(tmp_path):
    """`scripts/dev.sh` (what `make dev` runs) on other ports, in a throwaway instance, with no Redis answering:
    migrations, the demo banner with the real address, then web, worker, images and a private Redis until SIGINT."""
    import os
    import signal
    import subprocess

    port, images_port, redis_port = devstack.free_port(), devstack.free_port(), devstack.free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("IMAGES", "REDIS", "DATABASE", "STORAGE", "PUBLIC", "S3_", "TEST_"))
    }
    env.update(
        AEONTEL_INSTANCE_DIR=str(tmp_path / "instance"),
        PORT=str(port),
        IMAGESD_PORT=str(images_port),
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        HOME=str(tmp_path),
        XDG_RUNTIME_DIR=str(tmp_path),
    )
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        dev = subprocess.Popen(
            ["bash", "scripts/dev.sh"],
            cwd=devstack.ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        devstack.wait_until(
            lambda: "Ctrl-C stops everything" in log.read_text(),
            120,
            "make dev to be up",
            interval=0.2,
            check=lambda: dev.poll() is None or pytest.fail(log.read_text()),
        )
        said = log.read_text()
        assert f"-F file=@photo.jpg http://127.0.0.1:{port}/api/files" in said
        assert f"started a private redis-server at redis://127.0.0.1:{redis_port}/0" in said
        assert devstack.http_ok(f"http://127.0.0.1:{port}/healthz")
        assert devstack.http_ok(f"http://127.0.0.1:{images_port}/healthz")
        assert devstack.redis_answers(f"redis://127.0.0.1:{redis_port}/0")
        sockets = {p.name for p in (tmp_path / "instance").rglob("*.ctl")}
        assert sockets == {"gunicorn.ctl", f"gunicorn-web-{port}.ctl"}  # the stand-in's and the Procfile web line's
        assert not (tmp_path / ".gunicorn").exists()
        os.killpg(dev.pid, signal.SIGINT)
        assert dev.wait(60) == 0
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait(10)
    for port_ in (port, images_port, redis_port):
        devstack.wait_until(lambda: not devstack.port_answers(port_), 15, f"port {port_} to close")  # noqa: B023
