"""Outbound requests to addresses users give (upload by URL, webhook targets) reach public addresses only.

Shared by the product and the images stand-in (stdlib only, below both), so both refuse the same addresses: the host
is resolved once, every address it resolves to must be public or allowed by an allow-list setting, and the connection
goes to an address that was checked, so a second DNS answer cannot swap in a private one (rebinding).
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(ValueError):
    """The host resolves to an address that is not public and that no allow-list entry permits."""

    def __init__(self, host: str, address: IPAddress | None, reason: str):
        super().__init__(reason)
        self.host, self.address, self.reason = host, address, reason


@dataclass(frozen=True)
class AddressAllow:
    """Non-public destinations that may still be reached: networks (`127.0.0.0/8`, `::1`), host names, and single
    endpoints (`127.0.0.1:5000`, `[::1]:5000`, `localhost:5000`, or an origin such as `http://127.0.0.1:5000`)."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    hosts: frozenset[str] = frozenset()
    endpoints: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def parse(cls, text: str, setting: str = "the allow-list") -> "AddressAllow":
        networks, hosts, endpoints = [], set(), set()
        for item in filter(None, (part.strip() for part in (text or "").split(","))):
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
                continue
            except ValueError:
                pass
            endpoint = _endpoint(item)
            name = endpoint[0] if endpoint else item.rstrip(".").lower()
            if not _valid_host(name):
                raise ValueError(f"{setting} holds CIDRs, addresses, host names and host:port entries, not {item!r}")
            if endpoint:
                endpoints.add(endpoint)
            else:
                hosts.add(name)
        return cls(tuple(networks), frozenset(hosts), frozenset(endpoints))

    def permits(self, host: str, address: IPAddress, port: int | None = None) -> bool:
        name = host.strip("[]").rstrip(".").lower()
        if name in self.hosts:
            return True
        if port is not None and ((name, port) in self.endpoints or (str(address), port) in self.endpoints):
            return True
        return any(address.version == net.version and address in net for net in self.networks)


def _endpoint(item: str) -> tuple[str, int] | None:
    """`host:port`, `[v6]:port` or an http(s) origin as (host or address text, port); None for anything else."""
    if "://" in item:
        parts = urlsplit(item)
        if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
            return None
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError:
            return None
        return _host_key(parts.hostname), port
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^:\[\]]+):(\d{1,5})", item)
    if not match or int(match.group(2) or match.group(4)) > 65535:
        return None
    return _host_key(match.group(1) or match.group(3)), int(match.group(2) or match.group(4))


def _valid_host(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return all(label and label.replace("-", "").isalnum() for label in name.split("."))


def _host_key(host: str) -> str:
    """An address in its canonical text (so `[::0001]` matches `::1`), a name in lower case without the final dot."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.rstrip(".").lower()


NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# Special-purpose ranges (IANA's IPv4/IPv6 special-purpose registries, and deprecated ones) that the running
# Python's `is_global` may still call global: none of them is a public destination a URL may name.
NOT_PUBLIC = tuple(
    ipaddress.ip_network(net)
    for net in (
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215): reaches whatever the local translator reaches
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT, RFC 2765)
        "fec0::/10",  # site-local (deprecated by RFC 3879, still routed inside some sites)
        "100::/64",  # discard-only (RFC 6666)
        "100:0:0:1::/64",  # dummy IPv6 prefix (RFC 9780)
        "2001::/23",  # IETF protocol assignments (Teredo, ORCHID, benchmarking …)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 SIDs (RFC 9602)
        "fc00::/7",  # unique-local
        "fe80::/10",  # link-local
        "0.0.0.0/8",  # this network
        "100.64.0.0/10",  # shared address space (CGNAT)
        "192.0.0.0/24",  # IETF protocol assignments
        "192.88.99.0/24",  # deprecated 6to4 relay anycast (RFC 7526)
        "198.18.0.0/15",  # benchmarking
        "240.0.0.0/4",  # reserved
    )
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, NAT64, 6to4, IPv4-compatible, Teredo client), which it reaches."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64_WELL_KNOWN or (address in IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not private, loopback, link-local, shared (CGNAT), reserved, multicast or unspecified.

    An IPv6 form that carries an IPv4 address (`::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, `::a.b.c.d`,
    Teredo) is judged by the IPv4 address it reaches, so a private one cannot be dressed as IPv6.
    """
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
    if any(address.version == net.version and address in net for net in NOT_PUBLIC):
        return False
    return address.is_global and not address.is_multicast and not address.is_unspecified


def resolve_checked(host: str, port: int, allow: AddressAllow) -> list[IPAddress]:
    """Every address the host resolves to, after checking that each is public or allowed; any other refuses all.

    Raises AddressRefused (address None when the name does not resolve at all)."""
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise AddressRefused(host, None, f"{host} does not resolve") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos))
    for address in addresses:
        if not is_public(address) and not allow.permits(host, address, port):
            raise AddressRefused(
                host,
                address,
                f"{host} resolves to {address}, which is private, loopback, link-local or otherwise not public",
            )
    return addresses


def connect_pinned(conn: http.client.HTTPConnection) -> socket.socket:
    """A socket to one of the checked addresses (the Host header and TLS name stay the URL's host)."""
    last: OSError | None = None
    for address in conn.addresses:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(conn.timeout)
        try:
            sock.connect((str(address), conn.port))
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError("no address to connect to")


def _explicit_port(host: str, port: int | None, default: int) -> int | None:
    """http.client reads a bare IPv6 literal's last group as the port (`::1` → host `:`, port 1); give it the default."""
    return default if port is None and ":" in host else port


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects only to `addresses`, the ones resolve_checked let through."""

    addresses: list = []

    def __init__(self, host: str, port: int | None = None, **kwargs):
        super().__init__(host, _explicit_port(host, port, self.default_port), **kwargs)

    def connect(self) -> None:
        self.sock = connect_pinned(self)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The TLS twin of PinnedHTTPConnection; the certificate is checked against the URL's host name."""

    addresses: list = []

    def __init__(self, host: str, port: int | None = None, **kwargs):
        super().__init__(host, _explicit_port(host, port, self.default_port), **kwargs)

    def connect(self) -> None:
        self.sock = self._context.wrap_socket(connect_pinned(self), server_hostname=self.host)
