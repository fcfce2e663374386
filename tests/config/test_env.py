"""Settings come from the environment only, each listed in .env.example."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    allauth_oidc_apps,
    env_bool,
    env_int,
    env_networks,
    env_oidc_providers,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
READERS = re.compile(
    r"""(?:env_(?:str|bool|int|list|choice|networks|path|oidc_providers)\(\s*|environ\.get\(\s*)["']([A-Z_]+)["']"""
)


def test_every_variable_read_is_listed_in_env_example() -> None:
    listed = set(re.findall(r"^([A-Z_]+)=", (BASE_DIR / ".env.example").read_text(), re.M))
    read = set()
    for module in (BASE_DIR / "config").glob("*.py"):
        read.update(READERS.findall(module.read_text()))

    assert read
    assert read - listed == set()


def test_readers_reject_malformed_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_NUMBER", "12x")
    monkeypatch.setenv("SOME_FLAG", "perhaps")
    monkeypatch.setenv("SOME_NETWORKS", "10.0.0.0/8,not-a-net")

    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER must be a whole number"):
        env_int("SOME_NUMBER", 1)
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG", default=False)
    with pytest.raises(ImproperlyConfigured, match="not-a-net"):
        env_networks("SOME_NETWORKS")


def test_a_secret_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.delenv("SOME_SECRET", raising=False)
    monkeypatch.setenv("SOME_SECRET_FILE", str(secret))

    assert env_str("SOME_SECRET") == "from-a-file"


CORP = {
    "id": "corp",
    "label": "Corp SSO",
    "issuer": "https://login.corp.example/realms/staff/",
    "client_id": "awaiting-death",
    "secret": "s3cret",
    "allowed_domains": ["Corp.example", "@lab.corp.example"],
}


def test_oidc_providers_are_read_from_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    local = {"id": "dev", "label": "Dev", "issuer": "http://127.0.0.1:9000"}
    local |= {"client_id": "c", "secret": "s"}
    monkeypatch.setenv("SOME_PROVIDERS", json.dumps([CORP, local]))

    corp, dev = env_oidc_providers("SOME_PROVIDERS")

    assert corp["issuer"] == "https://login.corp.example/realms/staff"
    assert corp["allowed_domains"] == ["corp.example", "lab.corp.example"]
    assert dev["allowed_domains"] == []
    assert allauth_oidc_apps([corp])[0] == {
        "provider_id": "corp",
        "name": "Corp SSO",
        "client_id": "awaiting-death",
        "secret": "s3cret",
        "settings": {
            "server_url": "https://login.corp.example/realms/staff",
            "allowed_domains": ["corp.example", "lab.corp.example"],
        },
    }


def test_no_oidc_providers_is_an_empty_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOME_PROVIDERS", raising=False)

    assert env_oidc_providers("SOME_PROVIDERS") == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[{", "SOME_PROVIDERS is not JSON"),
        ('{"id": "corp"}', "must be a JSON list"),
        ("[1]", r"SOME_PROVIDERS\[0\] must be an object"),
        (json.dumps([{**CORP, "scope": "x"}]), r"\[0\]: unknown field\(s\) scope"),
        (json.dumps([{**CORP, "secret": ""}]), r"\[0\]\.secret must be a non-empty string"),
        (json.dumps([{k: v for k, v in CORP.items() if k != "label"}]), r"\[0\]\.label"),
        (json.dumps([{**CORP, "id": "Corp SSO"}]), r"\[0\]\.id must be lower-case"),
        (json.dumps([{**CORP, "issuer": "http://idp.example"}]), r"\[0\]\.issuer must be an https"),
        (json.dumps([{**CORP, "issuer": "https://idp.example/?x=1"}]), "no query"),
        (json.dumps([{**CORP, "allowed_domains": "corp.example"}]), "must be a list"),
        (json.dumps([{**CORP, "allowed_domains": ["not a domain"]}]), "is not a domain"),
        (json.dumps([CORP, CORP]), r"\[1\]\.id: 'corp' is given twice"),
    ],
)
def test_malformed_oidc_providers_are_refused_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("SOME_PROVIDERS", value)

    with pytest.raises(ImproperlyConfigured, match=message):
        env_oidc_providers("SOME_PROVIDERS")
