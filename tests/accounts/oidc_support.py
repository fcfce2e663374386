"""A real OpenID Connect provider for the sign-in tests (node's oidc-provider, run by
tests/accounts/oidc_provider.mjs), and the settings that make this site use it."""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from config.env import allauth_oidc_apps
from tests.conftest import BASE_DIR, free_port, start_process, stop_process

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytest_django.fixtures import Settings as DjangoSettings

SCRIPT = BASE_DIR / "tests" / "accounts" / "oidc_provider.mjs"
PROVIDER_ID = "test"
LABEL = "Test SSO"
CLIENT_ID = "awaiting-death"
CLIENT_SECRET = "a-client-secret-for-the-tests"
ACCOUNT_PASSWORD = "provider password"


def callback_path(provider_id: str = PROVIDER_ID) -> str:
    return f"/accounts/oidc/{provider_id}/login/callback/"


@dataclass
class IdentityProvider:
    issuer: str
    log: Path

    def requests(self) -> list[dict[str, str]]:
        """The requests it answered, in order: ``{"method", "path", "query"}``."""
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


def account(
    login: str, *, email: str | None, email_verified: bool = True, name: str = ""
) -> dict[str, Any]:
    """A test account of the provider, signing in with ``ACCOUNT_PASSWORD``."""
    claims: dict[str, Any] = {"preferred_username": login, "name": name or login.title()}
    if email is not None:
        claims.update(email=email, email_verified=email_verified)
    return {login: {"password": ACCOUNT_PASSWORD, "claims": claims}}


@contextmanager
def identity_provider(
    tmp_path: Path,
    *,
    site: str,
    accounts: dict[str, Any],
    tamper: str | None = None,
) -> Iterator[IdentityProvider]:
    """Run the provider on a free port of 127.0.0.1 with one client, ours, whose sign-in
    comes back to ``site`` (``http://testserver`` for Django's test client, the live
    server's address for Chromium)."""
    node = shutil.which("node")
    assert node is not None, "node runs the OpenID Connect provider of these tests"
    port = free_port()
    config = tmp_path / "oidc-provider.json"
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [site + callback_path()],
    }
    config.write_text(json.dumps({"clients": [client], "accounts": accounts, "tamper": tamper}))
    log = tmp_path / "oidc-provider.log"
    process = start_process(
        [node, str(SCRIPT), "--port", str(port), "--config", str(config)],
        env=dict(os.environ),
        log=log,
        ready=b"ready ",
    )
    try:
        yield IdentityProvider(f"http://127.0.0.1:{port}", log)
    finally:
        stop_process(process)


def use_provider(
    settings: DjangoSettings,
    provider: IdentityProvider,
    *,
    allowed_domains: list[str] | None = None,
) -> None:
    """Make the site offer ``provider`` (as ``OIDC_PROVIDERS`` would)."""
    apps = allauth_oidc_apps(
        [
            {
                "id": PROVIDER_ID,
                "label": LABEL,
                "issuer": provider.issuer,
                "client_id": CLIENT_ID,
                "secret": CLIENT_SECRET,
                "allowed_domains": allowed_domains or [],
            }
        ]
    )
    current = settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {**current, "APPS": apps}}
