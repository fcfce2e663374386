"""Where a webhook may point: the allow rule, and a connection to the address it checked.

The rule runs when a webhook is saved and again before every delivery, against what the
name resolves to at that moment; the delivery then connects to that very address (the
name still goes in the Host header and TLS SNI), so a DNS answer that changes between
the check and the connection (DNS rebinding) cannot reach an address the rule refused.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The URL may not receive webhooks; the message says why, for the owner."""


class ResolutionFailed(TargetRefused):
    """The host name did not resolve: refused when saving, retried when delivering (DNS
    failures are often passing)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    # Path and query, as sent in the request line.
    path: str
    # The checked address the delivery connects to.
    address: str
    username: str | None = None
    password: str | None = None


def is_forbidden_address(address: IPAddress) -> bool:
    """True for loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local,
    multicast, reserved and unspecified addresses, and for anything else not globally
    routable (shared 100.64/10, documentation ranges). An IPv4-mapped IPv6 address is
    judged as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolutionFailed(f"The host {host} cannot be resolved.") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        # Drop an IPv6 zone ("fe80::1%eth0"): the address alone decides.
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ResolutionFailed(f"The host {host} cannot be resolved.")
    return addresses


def check_target(url: str, *, allow_private: bool) -> Target:
    """The allow rule. Returns the target with the address to connect to; raises
    ``TargetRefused`` when the URL is not http(s), has no host, does not resolve, or any
    address it resolves to is forbidden (see ``is_forbidden_address``) while
    ``allow_private`` is false."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused("The URL is malformed.") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise TargetRefused("Only http and https URLs can receive webhooks.")
    host = parts.hostname
    if not host:
        raise TargetRefused("The URL has no host.")
    port = port or DEFAULT_PORTS[scheme]
    addresses = _resolve(host, port)
    if not allow_private:
        for address in addresses:
            if is_forbidden_address(address):
                raise TargetRefused(
                    f"The host {host} is at {address}, a loopback, private or reserved "
                    "address; webhooks go to public addresses only."
                )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(
        scheme=scheme,
        host=host,
        port=port,
        path=path,
        address=str(addresses[0]),
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to ``address``, with ``host`` in the Host header."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to ``address``, with ``host`` in SNI, the certificate check and Host."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


def open_connection(target: Target, *, timeout: float) -> http.client.HTTPConnection:
    """A connection to the address the rule checked, not to a fresh lookup of the name."""
    if target.scheme == "https":
        return _PinnedHTTPSConnection(
            target.host, target.port, address=target.address, timeout=timeout
        )
    return _PinnedHTTPConnection(target.host, target.port, address=target.address, timeout=timeout)
