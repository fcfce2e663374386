"""Who the client of a request is, when proxies stand in between."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from collections.abc import Mapping


def client_ip(meta: Mapping[str, object]) -> str:
    """The client's address: ``REMOTE_ADDR``, or from ``X-Forwarded-For`` when the request
    came through a proxy in ``TRUSTED_PROXIES``.

    The forwarded chain is read from the right, skipping trusted proxies, so a client
    cannot choose its address by sending the header itself.
    """
    remote = str(meta.get("REMOTE_ADDR") or "")
    if not _is_trusted(remote):
        return remote
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR") or "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            return remote
        if not _is_trusted(address):
            return address
    return remote


def _is_trusted(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in settings.TRUSTED_PROXIES)


def anonymize_ip(address: str, *, mode: str) -> str:
    """``address`` as the download log keeps it: whole (``none``), or with its host part
    zeroed (``network``: the /24 of IPv4, the /48 of IPv6)."""
    if mode == "none" or not address:
        return address
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return ""
    prefix = 24 if parsed.version == 4 else 48
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False).network_address)
