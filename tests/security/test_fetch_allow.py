"""Upload-by-URL in the images stand-in fetches public addresses only, unless IMAGESD_FETCH_ALLOW permits others."""

from __future__ import annotations

import ipaddress

import pytest
import requests
from imagesd_support import Origin, Route, png_bytes, start_standin, stop_standin

from app.imagesd.errors import ApiError
from app.imagesd.fetch import FetchAllow, fetch, is_public

LIMITS = dict(max_bytes=1024 * 1024, connect_timeout=2, read_timeout=2, total_timeout=5)


@pytest.fixture(scope="module")
def origin():
    server = Origin()
    yield server
    server.close()


@pytest.mark.parametrize(
    "address, public",
    [
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("0.0.0.0", False),
        ("::", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("192.0.2.1", False),
        ("198.18.0.1", False),
        ("255.255.255.255", False),
    ],
)
def test_public_means_globally_routable_unicast(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/a.jpg",
        "http://localhost:9/a.jpg",
        "http://[::1]:9/a.jpg",
        "http://10.0.0.1/a.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:9/a.jpg",
        "http://[::ffff:127.0.0.1]:9/a.jpg",
        "http://100.64.0.1/a.jpg",
        "https://192.168.0.1/a.jpg",
        "http://2130706433/a.jpg",
        "http://0x7f000001/a.jpg",
    ],
)
def test_non_public_destinations_are_refused_before_connecting(url):
    with pytest.raises(ApiError) as refused:
        fetch(url, allow=FetchAllow(), **LIMITS)
    assert refused.value.status == 400 and refused.value.code == 5400
    assert "public addresses" in refused.value.message and "IMAGESD_FETCH_ALLOW" in refused.value.message


def test_the_allow_list_lets_loopback_through(origin):
    url = origin.add("/ok.png", Route(body=png_bytes()))
    with pytest.raises(ApiError, match="public addresses"):
        fetch(url, allow=FetchAllow(), **LIMITS)
    assert fetch(url, allow=FetchAllow.parse("127.0.0.0/8,::1"), **LIMITS).data == png_bytes()
    assert fetch(url, allow=FetchAllow.parse("127.0.0.1"), **LIMITS).data == png_bytes()
    with pytest.raises(ApiError, match="public addresses"):
        fetch(url, allow=FetchAllow.parse("10.0.0.0/8,::1"), **LIMITS)


def test_allowed_host_names(origin):
    url = origin.add("/host.png", Route(body=png_bytes())).replace("127.0.0.1", "localhost")
    # localhost may resolve to ::1 as well as 127.0.0.1; every address must pass, and the name allows all of them.
    assert fetch(url, allow=FetchAllow.parse("localhost"), **LIMITS).data == png_bytes()
    with pytest.raises(ApiError, match="public addresses"):
        fetch(url, allow=FetchAllow.parse("example.com"), **LIMITS)


def test_every_redirect_hop_is_checked_again(origin):
    final = origin.add("/final.png", Route(body=png_bytes()))
    port = final.split(":")[2].split("/")[0]
    origin.add("/to-metadata", Route(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
    origin.add("/to-other-loopback", Route(302, headers={"Location": f"http://127.0.0.2:{port}/final.png"}))
    origin.add("/to-final", Route(302, headers={"Location": "/final.png"}))
    only_this_host = FetchAllow.parse("127.0.0.1/32")
    assert fetch(f"{origin.url}/to-final", allow=only_this_host, **LIMITS).data == png_bytes()
    for path, where in (("/to-metadata", "169.254.169.254"), ("/to-other-loopback", "127.0.0.2")):
        with pytest.raises(ApiError) as refused:
            fetch(f"{origin.url}{path}", allow=only_this_host, **LIMITS)
        assert refused.value.status == 400 and where in refused.value.message


def test_malformed_allow_lists_are_refused():
    with pytest.raises(ValueError, match="IMAGESD_FETCH_ALLOW"):
        FetchAllow.parse("127.0.0.0/8, not a host!")


def test_the_standin_refuses_loopback_without_the_allow_list_and_takes_it_with_it(images_service, origin):
    """Through the API, as the product calls it: a clear 4xx with the reason; the embedded stack's allow-list works."""
    url = origin.add("/via-api.png", Route(body=png_bytes()))
    strict = start_standin(IMAGESD_FETCH_ALLOW="")
    try:
        refused = requests.post(f"{strict.api}/v1", headers=strict.auth, files={"url": (None, url)}, timeout=30)
        assert refused.status_code == 400
        error = refused.json()["errors"][0]
        assert error["code"] == 5400 and "127.0.0.1" in error["message"] and "public addresses" in error["message"]
        metadata = requests.post(
            f"{strict.api}/v1",
            headers=strict.auth,
            timeout=30,
            files={"url": (None, "http://169.254.169.254/latest/meta-data/iam")},
        )
        assert metadata.status_code == 400 and "169.254.169.254" in metadata.json()["errors"][0]["message"]
    finally:
        log = strict.log.read_text()
        stop_standin(strict)
    assert "Traceback" not in log
    allowed = requests.post(
        f"{images_service.api}/v1", headers=images_service.auth, files={"url": (None, url)}, timeout=30
    )
    assert allowed.status_code == 200, allowed.text
    requests.delete(
        f"{images_service.api}/v1/{allowed.json()['result']['id']}", headers=images_service.auth, timeout=10
    )
