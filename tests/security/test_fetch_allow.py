"""Upload-by-URL in the images stand-in fetches public addresses only, unless IMAGESD_FETCH_ALLOW permits others."""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from imagesd_support import ACCOUNT_ID, TOKEN, Origin, Route, png_bytes, start_standin, stop_standin

from app import devstack
from app.imagesd.errors import ApiError
from app.imagesd.fetch import FetchAllow, fetch, is_public
from app.imagesd.fetch import _connection as fetch_connection
from tests.ipv6_origin import V6Origin

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


@pytest.fixture(scope="module")
def v6_origin():
    server = V6Origin(body=png_bytes())
    yield server
    server.close()


@pytest.mark.parametrize(
    "url,host,port",
    [
        ("http://[::1]/a.png", "::1", 80),  # http.client read `::1`'s last group as the port: port 1
        ("https://[::1]/a.png", "::1", 443),
        ("http://[::0.0.0.1]/a.png", "::0.0.0.1", 80),  # "0.0.0.1" is no port: a 500
        ("http://[2001:db8::10]/a.png", "2001:db8::10", 80),
    ],
)
def test_an_ipv6_literal_without_a_port_targets_the_schemes_port(url, host, port):
    """The connection the fetch opens, built but not connected: the literal whole, the scheme's default port."""
    conn, target, _ = fetch_connection(url, 2, FetchAllow.parse("::1,2001:db8::/32"))
    assert (conn.host, conn.port, target) == (host, port, "/a.png")


@settings(max_examples=50, deadline=None)
@given(
    address=st.ip_addresses(v=6).filter(lambda a: a.ipv4_mapped is None and not a.is_unspecified),
    port=st.one_of(st.none(), st.integers(1, 65535)),
    https=st.booleans(),
)
def test_an_ipv6_literal_keeps_its_address_and_its_port_or_the_default(address, port, https):
    scheme = "https" if https else "http"
    url = f"{scheme}://[{address}]{'' if port is None else f':{port}'}/x"
    conn, _, _ = fetch_connection(url, 2, FetchAllow.parse("::/0"))
    assert (ipaddress.ip_address(conn.host), conn.port) == (address, port or (443 if https else 80))


def test_an_ipv6_literal_is_fetched_directly_and_by_redirect(v6_origin, origin):
    allow = FetchAllow.parse("127.0.0.0/8,::1")
    assert fetch(v6_origin.url("/direct.png"), allow=allow, **LIMITS).data == png_bytes()
    hop = origin.add("/to-v6", Route(302, headers={"Location": v6_origin.url("/redirected.png")}))
    assert fetch(hop, allow=allow, **LIMITS).data == png_bytes()
    expected = [("GET", "/direct.png", v6_origin.host), ("GET", "/redirected.png", v6_origin.host)]
    assert v6_origin.requests[-2:] == expected


@pytest.mark.parametrize("literal", ["::1", "::0.0.0.1"])
def test_the_standin_fetches_an_ipv6_literal(images_service, v6_origin, literal):
    """Through the API: the stand-in answers the image, not a 400 nor a 500."""
    url = v6_origin.url("/via-api-v6.png").replace("[::1]", f"[{literal}]")
    created = requests.post(
        f"{images_service.api}/v1", headers=images_service.auth, files={"url": (None, url)}, timeout=30
    )
    assert created.status_code == 200, created.text
    requests.delete(
        f"{images_service.api}/v1/{created.json()['result']['id']}", headers=images_service.auth, timeout=10
    )


def test_host_port_entries_allow_one_port_only(origin):
    """`127.0.0.1:<port>` (or the origin URL) lets that address and port through, and no other port on loopback."""
    url = origin.add("/one-port.png", Route(body=png_bytes()))
    port = int(url.split(":")[2].split("/")[0])
    for entry, named in (
        (f"127.0.0.1:{port}", url),
        (origin.url, url),
        (f"localhost:{port}", url.replace("127.0.0.1", "localhost")),
    ):
        assert fetch(named, allow=FetchAllow.parse(entry), **LIMITS).data == png_bytes()
    other = Origin()
    try:
        elsewhere = other.add("/other-port.png", Route(body=png_bytes()))
        hop = origin.add("/to-other-port", Route(302, headers={"Location": elsewhere}))
        for target in (elsewhere, hop):
            with pytest.raises(ApiError) as refused:
                fetch(target, allow=FetchAllow.parse(f"127.0.0.1:{port}"), **LIMITS)
            assert refused.value.code == 5400 and "127.0.0.1" in refused.value.message
    finally:
        other.close()


def test_the_procfile_stand_in_fetches_from_the_web_app_only(tmp_path, origin):
    """The Procfile's images line allows PUBLIC_URL's address alone: the web app's signed URLs are fetched; a
    redirect from it to another loopback port (Redis, say) and that port itself are refused."""
    web_url = origin.add("/storage/signed.png", Route(body=png_bytes()))
    redis_like = Origin()
    port = devstack.free_port()
    redis_url = redis_like.add("/anything.png", Route(body=png_bytes()))
    origin.add("/storage/redirect", Route(302, headers={"Location": redis_url}))
    env = dict(
        os.environ,
        PUBLIC_URL=origin.url,
        IMAGESD_FETCH_ALLOW="",
        IMAGESD_PORT=str(port),
        IMAGESD_DATA_DIR=str(tmp_path / "data"),
        IMAGESD_PUBLIC_URL=f"http://127.0.0.1:{port}",
        IMAGES_ACCOUNT_ID=ACCOUNT_ID,
        IMAGES_API_TOKEN=TOKEN,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    images = devstack.Process(
        "images", ["bash", "-c", f"exec {devstack.procfile_line('images')}"], env, tmp_path / "log"
    )
    api = f"http://127.0.0.1:{port}/client/v4/accounts/{ACCOUNT_ID}/images/v1"
    try:
        devstack.wait_until(
            lambda: devstack.http_ok(f"http://127.0.0.1:{port}/healthz"), 60, "the stand-in", check=images.check
        )

        def upload(url: str) -> requests.Response:
            return requests.post(
                api, headers={"Authorization": f"Bearer {TOKEN}"}, files={"url": (None, url)}, timeout=30
            )

        assert upload(web_url).status_code == 200
        for refused_url in (f"{origin.url}/storage/redirect", redis_url):
            refused = upload(refused_url)
            assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == 5400, refused.text
    finally:
        images.stop()
        redis_like.close()
    assert "Traceback" not in (tmp_path / "log").read_text()


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.ip_addresses(network="127.0.0.0/8"), st.just(ipaddress.ip_address("::1"))),
    st.integers(1, 65535),
    st.integers(1, 65535),
)
def test_a_host_port_entry_permits_that_port_and_no_other(address, port, other):
    text = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
    for entry in (text, f"http://{text}/"):
        allow = FetchAllow.parse(entry)
        assert allow.permits(str(address), address, port)
        assert allow.permits(str(address), address, other) is (other == port)
        assert not allow.permits(str(address), address)  # a check without a port never matches an endpoint
