"""Brute force on logins and share passwords: paused per username, per address and per
share, with real (and parallel) requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone

from core.models import FailureWindow
from core.throttle import (
    purge_failure_windows,
    release_attempt,
    reserve_attempt,
    reserve_attempts,
    seconds_blocked,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.fixtures import Settings as DjangoSettings
    from pytest_django.live_server_helper import LiveServer

    from accounts.models import User
    from archives.models import Archive


class SlowHasher(PBKDF2PasswordHasher):
    """Slow enough that parallel guesses overlap their checks, as with a production
    hasher; faster than one so the suite stays quick."""

    iterations = 100_000


SLOW_HASHERS = [f"{__name__}.SlowHasher"]


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
        assert reserve_attempt("login-user", "bob", limit=2, window=60, now=now) is None

    assert seconds_blocked("login-user", "bob", limit=2, window=60, now=now) == 61
    assert seconds_blocked("login-user", "bob", limit=3, window=60, now=now) is None
    later = now + timedelta(seconds=61)
    assert seconds_blocked("login-user", "bob", limit=2, window=60, now=later) is None
    assert reserve_attempt("login-user", "bob", limit=2, window=60, now=later) is None
    assert FailureWindow.objects.get(scope="login-user", key="bob").failures == 1


@pytest.mark.django_db
def test_old_windows_are_purged() -> None:
    now = timezone.now()
    reserve_attempt("login-ip", "192.0.2.1", limit=5, window=60, now=now - timedelta(days=2))
    reserve_attempt("login-ip", "192.0.2.2", limit=5, window=60, now=now)

    assert purge_failure_windows(older_than=now - timedelta(days=1)) == 1

    assert list(FailureWindow.objects.values_list("key", flat=True)) == ["192.0.2.2"]


@pytest.mark.django_db
def test_a_reservation_past_the_limit_is_refused_until_one_is_given_back() -> None:
    now = timezone.now()
    for _ in range(3):
        assert reserve_attempt("share:1", "192.0.2.1", limit=3, window=60, now=now) is None

    assert reserve_attempt("share:1", "192.0.2.1", limit=3, window=60, now=now) == 61
    assert FailureWindow.objects.get(scope="share:1", key="192.0.2.1").failures == 3
    release_attempt("share:1", "192.0.2.1")
    assert reserve_attempt("share:1", "192.0.2.1", limit=3, window=60, now=now) is None
    # Another key has its own count.
    assert reserve_attempt("share:1", "192.0.2.2", limit=3, window=60, now=now) is None


@pytest.mark.django_db
def test_an_attempt_refused_by_one_count_is_given_back_to_the_counts_before_it() -> None:
    now = timezone.now()
    checks = [("code-user-ip", "192.0.2.1 7", 5, 60), ("code-user", "7", 2, 600)]
    assert reserve_attempts(checks, now=now) is None
    assert reserve_attempts(checks, now=now) is None
    # The account's count is used up: the address's is given back, the wait is the account's.
    assert reserve_attempts(checks, now=now) == 601
    counts = dict(FailureWindow.objects.values_list("scope", "failures"))
    assert counts == {"code-user-ip": 2, "code-user": 2}
    # The first count refusing takes nothing from the later ones.
    tight = [("code-user-ip", "192.0.2.1 7", 2, 60), ("code-user", "7", 9, 600)]
    assert reserve_attempts(tight, now=now) == 61
    assert dict(FailureWindow.objects.values_list("scope", "failures")) == counts


def guess_in_parallel(
    attempt: Callable[[str], int], *, guesses: int, right: str, at: int
) -> list[int]:
    """Send ``guesses`` attempts from a pool of 16 threads, the right password as number
    ``at`` and wrong ones otherwise; return their statuses in that order. A thread takes
    number ``at`` only after ``at - 16`` attempts have been answered."""
    passwords = [right if n == at else f"wrong{n}" for n in range(guesses)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(attempt, passwords))


@pytest.mark.django_db(transaction=True)
def test_parallel_share_guesses_check_at_most_the_limit(
    live_server: LiveServer, make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    settings.PASSWORD_HASHERS = SLOW_HASHERS
    settings.PASSWORD_ATTEMPTS_LIMIT = 5
    archive = make_archive(password="s3cret")
    url = f"{live_server.url}/api/shares/{archive.slug}/download"

    def attempt(password: str) -> int:
        return requests.get(url, headers={"X-Archive-Password": password}, timeout=60).status_code

    statuses = guess_in_parallel(attempt, guesses=60, right="s3cret", at=45)
    right = statuses[45]

    checked = [code for code in statuses if code != 429]
    assert len(checked) <= 5, sorted(statuses)
    assert right == 429
    assert FailureWindow.objects.get(key="127.0.0.1").failures == 5


@pytest.mark.django_db(transaction=True)
def test_parallel_token_requests_check_at_most_the_limit(
    live_server: LiveServer, user: User, password: str, settings: DjangoSettings
) -> None:
    settings.PASSWORD_HASHERS = SLOW_HASHERS
    settings.LOGIN_ATTEMPTS_PER_USER = 10
    user.set_password(password)
    user.save()

    def attempt(guess: str) -> int:
        return token_status(live_server.url, user.username, guess).status_code

    statuses = guess_in_parallel(attempt, guesses=40, right=password, at=35)
    right = statuses[35]

    assert len([code for code in statuses if code != 429]) <= 10, sorted(statuses)
    assert right == 429


@pytest.mark.django_db(transaction=True)
def test_parallel_login_page_posts_check_at_most_the_limit(
    live_server: LiveServer, user: User, password: str, settings: DjangoSettings
) -> None:
    settings.PASSWORD_HASHERS = SLOW_HASHERS
    settings.LOGIN_ATTEMPTS_PER_USER = 10
    user.set_password(password)
    user.save()
    url = f"{live_server.url}/accounts/login/"

    def attempt(guess: str) -> int:
        with requests.Session() as session:
            session.get(url, timeout=60)
            response = session.post(
                url,
                data={
                    "login": user.username,
                    "password": guess,
                    "csrfmiddlewaretoken": session.cookies["csrftoken"],
                },
                headers={"Referer": url},
                allow_redirects=False,
                timeout=60,
            )
        return response.status_code

    statuses = guess_in_parallel(attempt, guesses=40, right=password, at=35)
    right = statuses[35]

    assert len([code for code in statuses if code != 429]) <= 10, sorted(statuses)
    assert right == 429
