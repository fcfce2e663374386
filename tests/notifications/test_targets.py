"""The allow rule of webhook targets, and connections pinned to the checked address."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import pytest

from notifications.targets import (
    ResolutionFailed,
    Target,
    TargetRefused,
    check_target,
    is_forbidden_address,
    open_connection,
)
from tests.notifications.receiver import Receiver, run_receiver

if TYPE_CHECKING:
    from collections.abc import Iterator

PUBLIC = "93.184.215.14"

REFUSED = [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://127.1.2.3:8080/hook", "loopback range"),
    ("http://[::1]/hook", "IPv6 loopback"),
    ("http://localhost:8000/hook", "a name resolving to loopback"),
    ("http://10.1.2.3/hook", "private 10/8"),
    ("http://172.16.0.1/hook", "private 172.16/12"),
    ("http://172.31.255.254/hook", "private 172.16/12, top"),
    ("http://192.168.1.10/hook", "private 192.168/16"),
    ("http://169.254.169.254/latest/meta-data", "link-local (cloud metadata)"),
    ("http://[fe80::1]/hook", "IPv6 link-local"),
    ("http://[fc00::1]/hook", "IPv6 ULA fc00::/7"),
    ("http://[fd12:3456::1]/hook", "IPv6 ULA fd00::/8"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://[ff02::1]/hook", "IPv6 multicast"),
    ("http://240.0.0.1/hook", "reserved"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://[::]/hook", "IPv6 unspecified"),
    ("http://100.64.0.1/hook", "shared address space"),
    ("http://[::ffff:127.0.0.1]/hook", "IPv4-mapped loopback"),
    ("http://[::ffff:10.0.0.1]/hook", "IPv4-mapped private"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED, ids=[why for _url, why in REFUSED])
def test_private_and_special_addresses_are_refused(url: str, why: str) -> None:
    with pytest.raises(TargetRefused, match="public addresses only"):
        check_target(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/hook", "http://localhost/hook", "http://10.1.2.3/", "http://[fc00::1]/"],
)
def test_private_addresses_pass_when_allowed(url: str) -> None:
    target = check_target(url, allow_private=True)

    assert is_forbidden_address(ipaddress.ip_address(target.address))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"ftp://{PUBLIC}/file", "Only http and https"),
        ("file:///etc/passwd", "Only http and https"),
        ("javascript:alert(1)", "Only http and https"),
        ("http:///hook", "no host"),
        ("http://[not-an-address/", "malformed"),
        (f"http://{PUBLIC}:99999/", "malformed"),
    ],
)
def test_urls_that_are_not_http_to_a_host_are_refused(url: str, message: str) -> None:
    with pytest.raises(TargetRefused, match=message):
        check_target(url, allow_private=True)


def test_a_name_that_does_not_resolve_is_refused_as_a_resolution_failure() -> None:
    with pytest.raises(ResolutionFailed, match="cannot be resolved"):
        check_target("https://no-such-host.invalid/hook", allow_private=True)


def test_a_public_address_is_allowed_with_its_path_port_and_credentials() -> None:
    target = check_target(f"https://bot:p%40ss@{PUBLIC}/in/hook?team=7", allow_private=False)

    assert target == Target(
        scheme="https",
        host=PUBLIC,
        port=443,
        path="/in/hook?team=7",
        address=PUBLIC,
        username="bot",
        password="p@ss",
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from run_receiver(Receiver())


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    receiver: Receiver,
) -> None:
    port = int(receiver.url.rsplit(":", 1)[1].split("/", 1)[0])
    # A name that resolves nowhere: only the pinned address can have been dialled.
    target = Target(
        scheme="http", host="hooks.example.invalid", port=port, path="/hook", address="127.0.0.1"
    )

    connection = open_connection(target, timeout=5)
    connection.request("POST", target.path, body=b"{}")
    assert connection.getresponse().status == 200
    connection.close()

    assert receiver.requests[0].headers["Host"] == f"hooks.example.invalid:{port}"
