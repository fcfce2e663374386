"""Typed readers of the environment.

Every setting that may differ between machines is read here and nowhere else. A reader
returns the default when the variable is unset or empty, rejects a malformed value with
``ImproperlyConfigured`` naming the variable, and accepts ``NAME_FILE`` (a path whose
contents are the value) so secrets can come from mounted files.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

# The checkout: where var/ lies unless VAR_DIR says otherwise.
BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    """Return the variable as text, or its ``NAME_FILE`` contents, or ``default``."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {exc}") from exc
    return default


def env_bool(name: str, *, default: bool) -> bool:
    value = env_str(name).lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no, got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = env_str(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from exc
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """Return a comma-separated variable as a list of stripped, non-empty items."""
    value = env_str(name)
    if not value:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_networks(
    name: str,
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Return a comma-separated list of networks (``10.0.0.0/8``, ``127.0.0.1``)."""
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for item in env_list(name):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {item!r} is not a network") from exc
    return networks


def env_path(name: str, default: Path) -> Path:
    value = env_str(name)
    return Path(value).resolve() if value else default


def var_dir() -> Path:
    """The folder of the embedded default's state (``VAR_DIR``, else ``var/``)."""
    return env_path("VAR_DIR", BASE_DIR / "var")


def secret_key_file() -> Path:
    """Where the secret key generated for a machine without ``SECRET_KEY`` is kept."""
    return var_dir() / "secret_key"


class OidcProvider(TypedDict):
    """One OpenID Connect provider users may sign in with."""

    id: str
    label: str
    issuer: str
    client_id: str
    secret: str
    allowed_domains: list[str]


_OIDC_REQUIRED = ("id", "label", "issuer", "client_id", "secret")
_OIDC_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def env_oidc_providers(name: str) -> list[OidcProvider]:
    """Return the providers of a JSON list of objects, each with ``id`` (lower-case
    letters, digits, ``-`` and ``_``: it names the provider in its URLs), ``label`` (on
    the button), ``issuer`` (https; http only on this machine), ``client_id``,
    ``secret`` and optionally ``allowed_domains`` (a list; empty: any). Anything else,
    a missing or empty field or an id given twice is refused, naming the variable, the
    provider's place and the field."""
    value = env_str(name)
    if not value:
        return []
    try:
        items = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{name} is not JSON: {exc}") from exc
    if not isinstance(items, list):
        raise ImproperlyConfigured(f"{name} must be a JSON list of providers")
    providers: list[OidcProvider] = []
    for index, item in enumerate(items):
        provider = _oidc_provider(item, where=f"{name}[{index}]")
        if any(seen["id"] == provider["id"] for seen in providers):
            raise ImproperlyConfigured(f"{name}[{index}].id: {provider['id']!r} is given twice")
        providers.append(provider)
    return providers


def _oidc_provider(item: Any, *, where: str) -> OidcProvider:
    if not isinstance(item, dict):
        raise ImproperlyConfigured(f"{where} must be an object")
    unknown = sorted(set(item) - {*_OIDC_REQUIRED, "allowed_domains"})
    if unknown:
        raise ImproperlyConfigured(f"{where}: unknown field(s) {', '.join(unknown)}")
    for field in _OIDC_REQUIRED:
        if not isinstance(item.get(field), str) or not item[field].strip():
            raise ImproperlyConfigured(f"{where}.{field} must be a non-empty string")
    if not _OIDC_ID.fullmatch(item["id"]):
        raise ImproperlyConfigured(
            f"{where}.id must be lower-case letters, digits, - and _ (at most 40), "
            f"got {item['id']!r}"
        )
    issuer = item["issuer"].strip().rstrip("/")
    parts = urlsplit(issuer)
    is_local = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if not (parts.scheme == "https" or is_local) or not parts.hostname:
        raise ImproperlyConfigured(
            f"{where}.issuer must be an https URL (http only on this machine), got {issuer!r}"
        )
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{where}.issuer must have no query or fragment")
    domains = item.get("allowed_domains", [])
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        raise ImproperlyConfigured(f"{where}.allowed_domains must be a list of domains")
    allowed = [domain.strip().lstrip("@").lower() for domain in domains]
    for domain in allowed:
        if not _DOMAIN.fullmatch(domain):
            raise ImproperlyConfigured(f"{where}.allowed_domains: {domain!r} is not a domain")
    return {
        "id": item["id"],
        "label": item["label"].strip(),
        "issuer": issuer,
        "client_id": item["client_id"].strip(),
        "secret": item["secret"],
        "allowed_domains": allowed,
    }


def allauth_oidc_apps(providers: list[OidcProvider]) -> list[dict[str, Any]]:
    """The providers as django-allauth's openid_connect provider takes its apps
    (``SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"]``); ``allowed_domains`` rides
    in each app's settings, where ``accounts.adapters`` reads it."""
    return [
        {
            "provider_id": provider["id"],
            "name": provider["label"],
            "client_id": provider["client_id"],
            "secret": provider["secret"],
            "settings": {
                "server_url": provider["issuer"],
                "allowed_domains": provider["allowed_domains"],
            },
        }
        for provider in providers
    ]
