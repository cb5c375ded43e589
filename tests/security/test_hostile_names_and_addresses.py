"""Names cannot lie about what they are, and private IPv4 addresses cannot hide inside IPv6 forms."""

from __future__ import annotations

import ipaddress
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.files import safe_display_name
from app.imagesd.errors import ApiError
from app.imagesd.fetch import FetchAllow, embedded_ipv4, fetch, is_public

BIDI_CONTROLS = {chr(c) for c in [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]}
LIMITS = dict(max_bytes=1024, connect_timeout=1, read_timeout=1, total_timeout=2)

PRIVATE_V4 = st.one_of(
    st.ip_addresses(network="10.0.0.0/8"),
    st.ip_addresses(network="127.0.0.0/8"),
    st.ip_addresses(network="172.16.0.0/12"),
    st.ip_addresses(network="192.168.0.0/16"),
    st.ip_addresses(network="169.254.0.0/16"),
    st.ip_addresses(network="100.64.0.0/10"),
    st.ip_addresses(network="0.0.0.0/8"),
)


def nat64(v4: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(v4))


def sixtofour(v4: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80) | 1)


def compatible(v4: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(int(v4))


def mapped(v4: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address((0xFFFF << 32) | int(v4))


FORMS = [nat64, sixtofour, compatible, mapped]


@settings(max_examples=150, deadline=None)
@given(v4=PRIVATE_V4, form=st.sampled_from(FORMS))
def test_a_private_ipv4_address_in_any_ipv6_form_is_not_public(v4, form):
    address = form(v4)
    if int(v4) <= 1 and form is compatible:
        return  # `::` and `::1` are the unspecified and loopback addresses themselves, refused as such
    assert embedded_ipv4(address) == v4 or form is compatible and int(v4) <= 1
    assert not is_public(address), f"{address} carries {v4}"


@settings(max_examples=60, deadline=None)
@given(v4=st.ip_addresses(v=4).filter(is_public), form=st.sampled_from(FORMS))
def test_a_public_ipv4_address_in_an_ipv6_form_stays_public(v4, form):
    assert is_public(form(v4))


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]:9/a.jpg",
        "http://[64:ff9b::10.0.0.1]/a.jpg",
        "http://[64:ff9b::169.254.169.254]/",
        "http://[2002:7f00:1::1]:9/a.jpg",
        "http://[2002:a9fe:a9fe::]/latest/meta-data/",
        "http://[::127.0.0.1]:9/a.jpg",
        "http://[::10.0.0.1]/a.jpg",
        "http://[::ffff:192.168.1.1]/a.jpg",
        "http://[64:ff9b:1::a00:1]/a.jpg",
        "http://[::ffff:0:a00:1]/a.jpg",
        "http://[::ffff:0:808:808]/a.jpg",
        "http://[fec0::1]/a.jpg",
    ],
)
def test_the_stand_in_refuses_embedded_private_addresses_before_connecting(url):
    with pytest.raises(ApiError) as refused:
        fetch(url, allow=FetchAllow(), **LIMITS)
    assert refused.value.status == 400 and refused.value.code == 5400


# Special-purpose ranges that Python's `is_global` (3.11) still calls global; each must be refused whatever the host
# part, including the ones that embed a public IPv4 address (a translator decides where they lead).
SPECIAL_PURPOSE = [
    "64:ff9b:1::/48",
    "::ffff:0:0:0/96",
    "fec0::/10",
    "100::/64",
    "100:0:0:1::/64",
    "2001:db8::/32",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
    "192.0.0.0/24",
    "192.88.99.0/24",
    "198.18.0.0/15",
    "240.0.0.0/4",
    "100.64.0.0/10",
    "224.0.0.0/4",
]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SPECIAL_PURPOSE).flatmap(lambda net: st.ip_addresses(network=net)))
def test_no_address_in_a_special_purpose_range_is_public(address):
    assert not is_public(address), address


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["64:ff9b:1::/48", "::ffff:0:0:0/96", "fec0::/10"]).flatmap(lambda n: st.ip_addresses(network=n))
)
def test_the_stand_in_refuses_the_reported_ranges_before_connecting(address):
    with pytest.raises(ApiError) as refused:
        fetch(f"http://[{address}]/a.jpg", allow=FetchAllow(), **LIMITS)
    assert refused.value.status == 400 and refused.value.code == 5400


def test_a_reversed_name_is_shown_as_written():
    assert safe_display_name("gpj.\u202eevil.jpg") == "gpj.evil.jpg"
    assert safe_display_name("\u2066report\u2069.pdf") == "report.pdf"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.one_of(st.characters(), st.sampled_from(sorted(BIDI_CONTROLS))), max_size=300))
def test_no_display_name_holds_a_control_or_bidirectional_control(raw):
    name = safe_display_name(raw)
    assert name and not BIDI_CONTROLS.intersection(name)
    assert not any(unicodedata.category(ch) == "Cc" for ch in name)
    assert "/" not in name and "\\" not in name
