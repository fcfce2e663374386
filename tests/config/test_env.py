"""Settings come from the environment only, each listed in .env.example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_networks, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
READERS = re.compile(
    r"""(?:env_(?:str|bool|int|list|choice|networks|path)\(\s*|environ\.get\(\s*)["']([A-Z_]+)["']"""
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
