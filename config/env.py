"""Typed readers of the environment.

Every setting that may differ between machines is read here and nowhere else. A reader
returns the default when the variable is unset or empty, rejects a malformed value with
``ImproperlyConfigured`` naming the variable, and accepts ``NAME_FILE`` (a path whose
contents are the value) so secrets can come from mounted files.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

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
