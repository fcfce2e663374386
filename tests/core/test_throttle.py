"""Brute force on logins: paused per username and per address, with real requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import requests
from django.utils import timezone

from core.models import FailureWindow
from core.throttle import purge_failure_windows, record_failure, seconds_blocked

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings
    from pytest_django.live_server_helper import LiveServer

    from accounts.models import User


def token_status(server: str, username: str, password: str) -> requests.Response:
    return requests.post(
        f"{server}/api/auth/token/",
        json={"username": username, "password": password},
        timeout=30,
    )


@pytest.mark.django_db(transaction=True)
def test_token_endpoint_pauses_a_username_after_failures(
    live_server: LiveServer, user: User, password: str, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_USER = 3
    for _ in range(3):
        assert token_status(live_server.url, user.username, "wrong").status_code == 401

    refused = token_status(live_server.url, user.username, password)

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["detail"].startswith("Too many failed logins. Expected available in")
    # Another account from the same address still logs in.
    assert token_status(live_server.url, "someone-else", "x").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_token_endpoint_pauses_an_address_after_failures_on_many_names(
    live_server: LiveServer, user: User, password: str, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_IP = 8

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(lambda n: token_status(live_server.url, f"guess{n}", "x").status_code,
                     range(8))
        )  # fmt: skip

    assert statuses == [401] * 8
    assert FailureWindow.objects.get(scope="login-ip", key="127.0.0.1").failures == 8
    assert token_status(live_server.url, user.username, password).status_code == 429


@pytest.mark.django_db
def test_pause_ends_with_the_window(settings: DjangoSettings) -> None:
    now = timezone.now()
    for _ in range(2):
        record_failure("login-user", "bob", window=60, now=now)

    assert seconds_blocked("login-user", "bob", limit=2, window=60, now=now) == 61
    assert seconds_blocked("login-user", "bob", limit=3, window=60, now=now) is None
    later = now + timedelta(seconds=61)
    assert seconds_blocked("login-user", "bob", limit=2, window=60, now=later) is None
    record_failure("login-user", "bob", window=60, now=later)
    assert FailureWindow.objects.get(scope="login-user", key="bob").failures == 1


@pytest.mark.django_db
def test_old_windows_are_purged() -> None:
    now = timezone.now()
    record_failure("login-ip", "192.0.2.1", window=60, now=now - timedelta(days=2))
    record_failure("login-ip", "192.0.2.2", window=60, now=now)

    assert purge_failure_windows(older_than=now - timedelta(days=1)) == 1

    assert list(FailureWindow.objects.values_list("key", flat=True)) == ["192.0.2.2"]
