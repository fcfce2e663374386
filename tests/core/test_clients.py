"""Who the client is: the address behind trusted proxies, and the address the log keeps."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import pytest

from core.clients import anonymize_ip, client_ip

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("198.51.100.9", "", [], "198.51.100.9"),
        # A spoofed header from an untrusted address is ignored.
        ("198.51.100.9", "1.2.3.4", [], "198.51.100.9"),
        ("10.0.0.2", "203.0.113.7", ["10.0.0.0/8"], "203.0.113.7"),
        # The client's own header is left of what the trusted proxy appended.
        ("10.0.0.2", "1.2.3.4, 203.0.113.7", ["10.0.0.0/8"], "203.0.113.7"),
        ("10.0.0.2", "203.0.113.7, 10.0.0.3", ["10.0.0.0/8"], "203.0.113.7"),
        ("10.0.0.2", "not-an-ip", ["10.0.0.0/8"], "10.0.0.2"),
        ("10.0.0.2", "", ["10.0.0.0/8"], "10.0.0.2"),
        ("::1", "2001:db8::5", ["::1/128"], "2001:db8::5"),
    ],
)
def test_client_ip_trusts_forwarded_only_from_trusted_proxies(
    settings: DjangoSettings, remote: str, forwarded: str, trusted: list[str], expected: str
) -> None:
    settings.TRUSTED_PROXIES = [ipaddress.ip_network(net) for net in trusted]
    meta = {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}

    assert client_ip(meta) == expected


@pytest.mark.parametrize(
    ("address", "mode", "kept"),
    [
        ("203.0.113.77", "none", "203.0.113.77"),
        ("203.0.113.77", "network", "203.0.113.0"),
        ("2001:db8:abcd:12:1:2:3:4", "network", "2001:db8:abcd::"),
        ("not an address", "network", ""),
    ],
)
def test_anonymize_ip(address: str, mode: str, kept: str) -> None:
    assert anonymize_ip(address, mode=mode) == kept
