"""Registration, API tokens and the throttled check of credentials."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from accounts.models import User
from accounts.services import (
    LoginThrottled,
    UsernameTaken,
    authenticate_user,
    issue_token,
    register_user,
)

if TYPE_CHECKING:
    from datetime import datetime

    from pytest_django.fixtures import Settings as DjangoSettings

pytestmark = pytest.mark.django_db
STRONG = "correct horse battery staple"


def test_register_user_stores_a_hashed_password() -> None:
    created = register_user(username="alice", password=STRONG)

    stored = User.objects.get(pk=created.pk)
    assert stored.username == "alice"
    assert stored.password != STRONG
    assert stored.check_password(STRONG)


def test_register_user_refuses_a_weak_password_and_stores_nothing() -> None:
    with pytest.raises(ValidationError):
        register_user(username="alice", password="123")

    assert not User.objects.exists()


def test_register_user_refuses_a_taken_name_whatever_its_case(user: User) -> None:
    with pytest.raises(UsernameTaken):
        register_user(username=user.username.upper(), password=STRONG)


def test_register_user_refuses_a_name_taken_by_a_parallel_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def taken_meanwhile(self: User, *args: object, **kwargs: object) -> None:
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(User, "save", taken_meanwhile)

    with pytest.raises(UsernameTaken):
        register_user(username="alice", password=STRONG)


def test_issue_token_creates_once_then_returns_the_same(user: User) -> None:
    first = issue_token(user)

    assert len(first) == 40
    assert issue_token(user) == first


def check(
    username: str, password: str, *, client: str = "192.0.2.1", now: datetime | None = None
) -> User | None:
    return authenticate_user(
        None, username=username, password=password, client=client, now=now or timezone.now()
    )


def test_right_credentials_give_the_user_and_wrong_ones_none(user: User, password: str) -> None:
    assert check(user.username, password) == user
    assert check(user.username, "wrong") is None
    assert check("nobody", password) is None


def test_too_many_failures_for_a_username_pause_it_from_that_address_even_with_the_right_password(
    user: User, password: str, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_USER = 2
    now = timezone.now()
    for _ in range(2):
        assert check(user.username.upper(), "wrong", now=now) is None

    with pytest.raises(LoginThrottled) as paused:
        check(user.username, password, now=now)

    # Rounded up: the pause never ends before the client tries again.
    assert paused.value.retry_after == settings.LOGIN_ATTEMPTS_WINDOW + 1
    assert str(paused.value.retry_after) in str(paused.value)
    later = now + timedelta(seconds=settings.LOGIN_ATTEMPTS_WINDOW + 1)
    assert check(user.username, password, now=later) == user


def test_failures_from_other_addresses_do_not_lock_the_owner_out(
    user: User, password: str, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_USER = 10
    now = timezone.now()
    for n in range(30):
        assert check(user.username, "wrong", client=f"198.51.100.{n % 3}", now=now) is None
    with pytest.raises(LoginThrottled):
        check(user.username, password, client="198.51.100.0", now=now)

    assert check(user.username, password, client="192.0.2.1", now=now) == user


def test_the_slower_account_limit_pauses_a_username_from_every_address(
    user: User, password: str, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_ACCOUNT = 4
    settings.LOGIN_ACCOUNT_WINDOW = 3600
    now = timezone.now()
    for n in range(4):
        assert check(user.username, "wrong", client=f"198.51.100.{n}", now=now) is None

    with pytest.raises(LoginThrottled) as paused:
        check(user.username, password, client="192.0.2.1", now=now)

    assert paused.value.retry_after == 3601
    later = now + timedelta(seconds=3601)
    assert check(user.username, password, client="192.0.2.1", now=later) == user


def test_too_many_failures_from_an_address_pause_it_for_every_name(
    user: User, password: str, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_IP = 3
    now = timezone.now()
    for name in ("a", "b", "c"):
        assert check(name, "wrong", client="203.0.113.9", now=now) is None

    with pytest.raises(LoginThrottled):
        check(user.username, password, client="203.0.113.9", now=now)
    assert check(user.username, password, client="203.0.113.10", now=now) == user


def test_a_success_forgets_the_username_failures(
    user: User, password: str, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_USER = 2
    now = timezone.now()
    assert check(user.username, "wrong", now=now) is None
    assert check(user.username, password, now=now) == user

    assert check(user.username, "wrong", now=now) is None
    assert check(user.username, password, now=now) == user


def test_register_user_stores_the_canonical_name_and_it_logs_in_in_any_form() -> None:
    created = register_user(username="\uff45\uff56\uff45", password=STRONG)

    assert created.username == "eve"
    assert check("\uff45\uff56\uff45", STRONG) == created
    assert check("EVE", STRONG) == created


def test_register_user_refuses_a_name_that_only_looks_different(user: User) -> None:
    register_user(username="bob", password=STRONG)

    with pytest.raises(UsernameTaken):
        register_user(username="\uff42\uff4f\uff42", password=STRONG)
    assert User.objects.filter(username__in=["bob", "\uff42\uff4f\uff42"]).count() == 1
