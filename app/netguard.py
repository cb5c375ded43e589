"""Outbound requests to addresses users give (upload by URL, webhook targets) reach public addresses only.

Shared by the product and the images stand-in (stdlib only, below both), so both refuse the same addresses: the host
is resolved once, every address it resolves to must be public or allowed by an allow-list setting, and the connection
goes to an address that was checked, so a second DNS answer cannot swap in a private one (rebinding).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(ValueError):
    """The host resolves to an address that is not public and that no allow-list entry permits."""

    def __init__(self, host: str, address: IPAddress | None, reason: str):
        super().__init__(reason)
        self.host, self.address, self.reason = host, address, reason


@dataclass(frozen=True)
class AddressAllow:
    """Non-public destinations that may still be reached: networks (`127.0.0.0/8`, `::1`) and host names."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str, setting: str = "the allow-list") -> "AddressAllow":
        networks, hosts = [], set()
        for item in filter(None, (part.strip() for part in (text or "").split(","))):
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                if not all(label and label.replace("-", "").isalnum() for label in item.rstrip(".").split(".")):
                    raise ValueError(f"{setting} holds CIDRs, addresses and host names, not {item!r}") from None
                hosts.add(item.rstrip(".").lower())
        return cls(tuple(networks), frozenset(hosts))

    def permits(self, host: str, address: IPAddress) -> bool:
        if host.rstrip(".").lower() in self.hosts:
            return True
        return any(address.version == net.version and address in net for net in self.networks)


NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


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
        if not is_public(address) and not allow.permits(host, address):
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


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects only to `addresses`, the ones resolve_checked let through."""

    addresses: list = []

    def connect(self) -> None:
        self.sock = connect_pinned(self)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The TLS twin of PinnedHTTPConnection; the certificate is checked against the URL's host name."""

    addresses: list = []

    def connect(self) -> None:
        self.sock = self._context.wrap_socket(connect_pinned(self), server_hostname=self.host)
