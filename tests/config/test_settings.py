"""The production settings: checked by Django's deploy checks, strict by default."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _production_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "VAR_DIR": str(tmp_path),
        "ALLOWED_HOSTS": "share.example.org",
    }


def test_production_settings_pass_check_deploy(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    del env["SECRET_KEY"]

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_sets_hsts_and_secure_cookies(tmp_path: Path) -> None:
    script = (
        "from django.conf import settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_SSL_REDIRECT)"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=BASE_DIR,
        env={**_production_env(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.split() == ["31536000", "True", "True", "True"]


def _cache_in_process(env: dict[str, str], code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.core.cache import "
         f"cache; from django.conf import settings; {code}"],
        cwd=BASE_DIR, env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout.strip()


def test_the_cache_is_shared_by_the_processes_of_the_embedded_default(tmp_path: Path) -> None:
    """allauth's rate limits live in the cache: two processes of `make run` see one."""
    env = {**os.environ, "DJANGO_ENV": "development", "VAR_DIR": str(tmp_path)}
    for name in ("CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL", "DATABASE_URL"):
        env.pop(name, None)

    _cache_in_process(env, "cache.set('seen', 'by the first', 60)")
    read = _cache_in_process(env, "print(settings.CACHES['default']['BACKEND'], cache.get('seen'))")

    assert read == "django.core.cache.backends.filebased.FileBasedCache by the first"


@pytest.mark.server
def test_the_cache_is_the_brokers_redis_when_there_is_one(tmp_path: Path) -> None:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    env = {**os.environ, "DJANGO_ENV": "development", "VAR_DIR": str(tmp_path),
           "CELERY_BROKER_URL": url}  # fmt: skip
    env.pop("CACHE_URL", None)
    key = f"seen-{secrets.token_hex(4)}"

    _cache_in_process(env, f"cache.set('{key}', 'by the first', 60)")
    read = _cache_in_process(
        env,
        f"print(settings.CACHES['default']['LOCATION'], cache.get('{key}')); cache.delete('{key}')",
    )

    assert read == f"{url} by the first"


def _settings_of(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    shown = (
        "from django.conf import settings as s; "
        "print(s.PASSWORD_LOGIN, s.MFA_PASSKEY_LOGIN_ENABLED, "
        "[a['provider_id'] for a in s.SOCIALACCOUNT_PROVIDERS['openid_connect']['APPS']])"
    )
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", shown],
        cwd=BASE_DIR,
        env={**os.environ, "VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_oidc_providers_and_password_login_come_from_the_environment(tmp_path: Path) -> None:
    providers = (
        '[{"id": "corp", "label": "Corp", "issuer": "https://idp.example", '
        '"client_id": "c", "secret": "s"}]'
    )

    result = _settings_of(tmp_path, OIDC_PROVIDERS=providers, PASSWORD_LOGIN="false")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False False ['corp']"


def test_a_malformed_oidc_provider_stops_the_start_naming_the_field(tmp_path: Path) -> None:
    providers = '[{"id": "corp", "label": "Corp", "issuer": "http://idp.example"}]'

    result = _settings_of(tmp_path, OIDC_PROVIDERS=providers)

    assert result.returncode != 0
    assert "OIDC_PROVIDERS[0].client_id must be a non-empty string" in result.stderr
