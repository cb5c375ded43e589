"""No public secret signs anything: production refuses a missing, short or known key; development makes its own."""

from __future__ import annotations

import math
import secrets
import stat
from pathlib import Path

import pytest
from flask.sessions import SecureCookieSessionInterface
from hypothesis import given, settings
from hypothesis import strategies as st
from procfile_support import procfile_process

from app.config import (
    KNOWN_DEV_SECRET_KEYS,
    MIN_SECRET_KEY_BITS,
    MIN_SECRET_KEY_BYTES,
    InsecureSettings,
    Settings,
    is_loopback_url,
)
from tests.reliability.reliability_support import free_port, tail, wait_http, wait_until

GOOD_KEY = "k" * 8 + "-a-production-key-that-is-long-enough-0123456789"
OLD_CONSTANT = "dev-only-secret-change-me"


def production(tmp_path: Path, **changes) -> Settings:
    return Settings(instance_dir=str(tmp_path), public_url="https://images.example.com", **changes)


@pytest.mark.parametrize(
    "key, problem",
    [
        ("", "is not set"),
        ("short-key", "shorter than 32 bytes"),
        (OLD_CONSTANT, "known development key"),
        ("change-me-to-a-long-random-string", "known development key"),
    ],
)
def test_a_production_setup_refuses_a_bad_key_and_says_how_to_make_one(tmp_path, key, problem):
    with pytest.raises(InsecureSettings) as refused:
        production(tmp_path, secret_key=key).ready()
    message = str(refused.value)
    assert problem in message and "secrets.token_urlsafe(48)" in message and "SECRET_KEY" in message


def test_production_is_also_what_aeontel_env_says_even_on_loopback(tmp_path):
    with pytest.raises(InsecureSettings):
        Settings(instance_dir=str(tmp_path), environment="production", secret_key="").ready()
    assert Settings(instance_dir=str(tmp_path), environment="production", secret_key=GOOD_KEY).ready()


def test_the_development_key_file_is_refused_in_production(tmp_path):
    dev_key = Settings(instance_dir=str(tmp_path)).ready().secret_key
    with pytest.raises(InsecureSettings, match="known development key"):
        production(tmp_path, secret_key=dev_key).ready()
    assert production(tmp_path, secret_key=GOOD_KEY).ready().secret_key == GOOD_KEY


def test_development_makes_a_random_key_once_and_keeps_it(tmp_path):
    first = Settings(instance_dir=str(tmp_path / "instance")).ready().secret_key
    path = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.encode()) >= 32 and first not in KNOWN_DEV_SECRET_KEYS
    assert Settings(instance_dir=str(tmp_path / "instance")).ready().secret_key == first
    other = Settings(instance_dir=str(tmp_path / "elsewhere")).ready().secret_key
    assert other != first


def test_a_session_cookie_signed_with_the_old_constant_is_refused(make_app, world, tmp_path):
    app = make_app(secret_key="", instance_dir=str(tmp_path / "instance"))
    assert app.secret_key == (tmp_path / "instance" / "secret_key").read_text().strip()
    editor = world.a.users["editor"]
    gallery = f"/w/{world.a.workspace_id}/p/{world.a.project_id}/content"

    def cookie(key: str) -> str:
        signer = SecureCookieSessionInterface().get_signing_serializer(
            type("A", (), {"secret_key": key, "config": app.config})()
        )
        return signer.dumps({"user_id": editor})

    forged = app.test_client()
    forged.set_cookie("session", cookie(OLD_CONSTANT))
    assert forged.get(gallery).status_code in (302, 303, 401)
    genuine = app.test_client()
    genuine.set_cookie("session", cookie(app.secret_key))
    assert genuine.get(gallery).status_code == 200  # the same cookie signed with the real key would be accepted


@pytest.mark.parametrize("process, key", [("web", "short-key"), ("web", OLD_CONSTANT), ("worker", "")])
def test_the_processes_refuse_to_start_with_a_bad_key(base_settings, tmp_path, process, key):
    settings = dict(base_settings, secret_key=key, public_url="https://images.example.com")
    log = tmp_path / f"{process}.log"
    started = procfile_process(process, settings, log, PORT=str(free_port())).start()
    try:
        wait_until(lambda: not started.alive(), 60, f"{process} to refuse to start", logs=(log,))
        assert started.process.returncode != 0
        assert "secrets.token_urlsafe(48)" in tail(log, 20000)
    finally:
        started.stop()


def test_the_web_process_starts_with_a_good_key(base_settings, tmp_path):
    port = free_port()
    settings = dict(base_settings, secret_key=GOOD_KEY, public_url="https://images.example.com")
    web = procfile_process("web", settings, tmp_path / "web.log", PORT=str(port)).start()
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", web, timeout=60)
    finally:
        web.stop()


@settings(max_examples=100, deadline=None)
@given(
    host=st.one_of(
        st.ip_addresses(network="127.0.0.0/8").map(str),
        st.just("[::1]"),
        st.just("localhost"),
        st.just("app.localhost"),
    ),
    port=st.integers(1, 65535),
    scheme=st.sampled_from(["http", "https"]),
)
def test_loopback_urls_are_development(host, port, scheme):
    assert is_loopback_url(f"{scheme}://{host}:{port}/")


@settings(max_examples=100, deadline=None)
@given(address=st.ip_addresses(v=4).filter(lambda a: not a.is_loopback), port=st.integers(1, 65535))
def test_any_other_address_is_production(address, port, tmp_path_factory):
    assert not is_loopback_url(f"https://{address}:{port}/")
    settings_ = Settings(instance_dir=str(tmp_path_factory.mktemp("i")), public_url=f"https://{address}:{port}")
    assert settings_.is_production
    with pytest.raises(InsecureSettings):
        settings_.ready()


@settings(max_examples=60, deadline=None)
@given(
    alphabet=st.text(min_size=1, max_size=4, alphabet=st.characters(codec="ascii", categories=["L", "N", "P"])),
    data=st.data(),
)
def test_production_refuses_a_key_that_cannot_hold_enough_entropy(tmp_path_factory, alphabet, data):
    """40 × "a" was accepted: a key of few distinct characters is refused unless it is long enough that even its
    alphabet could hold MIN_SECRET_KEY_BITS (length × log2 of the distinct characters)."""
    distinct = len(set(alphabet))
    longest = 200 if distinct == 1 else math.ceil(MIN_SECRET_KEY_BITS / math.log2(distinct)) - 1
    length = data.draw(st.integers(min_value=MIN_SECRET_KEY_BYTES, max_value=max(longest, MIN_SECRET_KEY_BYTES)))
    key = data.draw(st.text(alphabet=alphabet, min_size=length, max_size=length))
    with pytest.raises(InsecureSettings, match="too easy to guess"):
        production(tmp_path_factory.mktemp("key"), secret_key=key).ready()


@settings(max_examples=60, deadline=None)
@given(unit=st.text(min_size=1, max_size=12, alphabet=st.characters(codec="ascii", categories=["L", "N"])))
def test_production_refuses_a_key_that_repeats_a_short_unit(tmp_path_factory, unit):
    key = unit * (64 // len(unit) + 1)
    with pytest.raises(InsecureSettings, match="too easy to guess"):
        production(tmp_path_factory.mktemp("key"), secret_key=key).ready()


@settings(max_examples=60, deadline=None)
@given(make=st.sampled_from([secrets.token_urlsafe, secrets.token_hex]), size=st.integers(min_value=24, max_value=96))
def test_production_accepts_every_random_key_of_32_bytes_or_more(tmp_path_factory, make, size):
    key = make(size)
    assert production(tmp_path_factory.mktemp("key"), secret_key=key).ready().secret_key == key


def test_the_refusal_names_the_setting_that_made_the_setup_production(tmp_path):
    """With AEONTEL_ENV=production and a loopback URL the message used to call 127.0.0.1 "not a loopback address"."""
    with pytest.raises(InsecureSettings) as refused:
        Settings(
            instance_dir=str(tmp_path), environment="production", public_url="http://127.0.0.1:5000", secret_key=""
        ).ready()
    assert "(AEONTEL_ENV=production)" in str(refused.value) and "not a loopback" not in str(refused.value)
    with pytest.raises(InsecureSettings) as refused:
        production(tmp_path, secret_key="").ready()
    assert "(PUBLIC_URL https://images.example.com is not a loopback address)" in str(refused.value)
