"""The account pages' forms: registration's two passwords, the throttled login."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.test import RequestFactory

from accounts.forms import LoginForm, RegisterForm

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User

STRONG = "correct horse battery staple"


def test_register_form_refuses_two_different_passwords() -> None:
    form = RegisterForm(data={"username": "alice", "password1": STRONG, "password2": STRONG + "!"})

    assert not form.is_valid()
    assert form.errors == {"password2": ["The two passwords differ."]}
    assert "is-invalid" in form.fields["password2"].widget.attrs["class"]


def test_register_form_accepts_the_same_password_twice() -> None:
    form = RegisterForm(data={"username": "alice", "password1": STRONG, "password2": STRONG})

    assert form.is_valid(), form.errors


def test_register_form_refuses_a_username_with_spaces() -> None:
    form = RegisterForm(data={"username": "a b", "password1": STRONG, "password2": STRONG})

    assert not form.is_valid()
    assert "username" in form.errors


def login(username: str, password: str) -> LoginForm:
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="192.0.2.1")
    return LoginForm(data={"login": username, "password": password}, request=request)


@pytest.mark.django_db
def test_login_form_gives_the_user_for_the_right_password(user: User, password: str) -> None:
    form = login(user.username, password)

    assert form.is_valid(), form.errors
    assert form.user == user
    assert form.retry_after is None


@pytest.mark.django_db
def test_login_form_refuses_a_wrong_password(user: User) -> None:
    form = login(user.username, "wrong")

    assert not form.is_valid()
    assert form.non_field_errors().as_data()[0].code == "username_password_mismatch"


@pytest.mark.django_db
def test_login_form_says_in_minutes_how_long_a_pause_lasts(
    user: User, password: str, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_USER = 1
    settings.LOGIN_ATTEMPTS_WINDOW = 90
    assert not login(user.username, "wrong").is_valid()

    form = login(user.username, password)

    assert not form.is_valid()
    assert form.retry_after is not None
    assert 0 < form.retry_after <= 91
    assert form.non_field_errors() == ["Too many failed logins. Try again in 2 minutes."]


def test_login_form_without_a_password_checks_nothing() -> None:
    form = login("alice", "")

    assert not form.is_valid()
    assert "password" in form.errors
