"""The site's django-allauth adapter: sign-in runs through allauth's flow, with our
throttled password check, our rule for ``next``, our client address, our messages."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import user_logged_in, user_signed_up
from django.contrib.messages import get_messages
from django.test import RequestFactory
from django.urls import reverse

from accounts.adapters import AccountAdapter, is_safe_redirect
from accounts.models import User
from accounts.services import LoginThrottled

if TYPE_CHECKING:
    from collections.abc import Iterator

    from django.test import Client
    from pytest_django.fixtures import Settings as DjangoSettings

GOOD_PASSWORD = "a long and unusual passphrase"


@pytest.fixture
def logins() -> Iterator[list[Any]]:
    """The users allauth's flow reported as logged in (its own signal)."""
    seen: list[Any] = []

    def receive(sender: object, **kwargs: Any) -> None:
        seen.append(kwargs["user"])

    user_logged_in.connect(receive)
    yield seen
    user_logged_in.disconnect(receive)


@pytest.mark.django_db
def test_the_login_page_logs_in_through_allauths_flow(
    client: Client, user: User, password: str, logins: list[Any]
) -> None:
    response = client.post(
        reverse("accounts:login"), {"login": user.username, "password": password}
    )

    assert response.status_code == 302
    assert logins == [user]
    # allauth's "Successfully signed in as ..." is not said; the page never said it.
    assert list(get_messages(response.wsgi_request)) == []


@pytest.mark.django_db
def test_registering_signs_up_and_logs_in_through_allauths_flow(
    client: Client, logins: list[Any]
) -> None:
    signed_up: list[Any] = []

    def receive(sender: object, **kwargs: Any) -> None:
        signed_up.append(kwargs["user"])

    user_signed_up.connect(receive)
    try:
        response = client.post(
            reverse("accounts:register"),
            {
                "username": "alice",
                "email": "alice@example.org",
                "password1": GOOD_PASSWORD,
                "password2": GOOD_PASSWORD,
            },
        )
    finally:
        user_signed_up.disconnect(receive)

    alice = User.objects.get(username="alice")
    assert response.status_code == 302
    assert signed_up == [alice] and logins == [alice]
    said = [str(message) for message in get_messages(response.wsgi_request)]
    assert said == ["Welcome, alice! Your account is ready."]
    address = EmailAddress.objects.get(user=alice)
    assert (address.email, address.primary, address.verified) == ("alice@example.org", True, False)


@pytest.mark.django_db
def test_the_adapters_password_check_is_the_throttled_one(
    user: User, password: str, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_USER = 1
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="192.0.2.9")
    adapter = AccountAdapter(request)

    assert adapter.authenticate(request, username=user.username, password="wrong") is None
    with pytest.raises(LoginThrottled):
        adapter.authenticate(request, username=user.username, password=password)


@pytest.mark.parametrize(
    ("target", "secure", "safe"),
    [
        ("/dashboard/", False, True),
        ("http://testserver/dashboard/", False, True),
        ("https://evil.example/", False, False),
        ("//evil.example/", False, False),
        ("http://testserver/dashboard/", True, False),
        ("", False, False),
    ],
)
def test_a_safe_redirect_stays_on_this_site(target: str, *, secure: bool, safe: bool) -> None:
    request = RequestFactory().get("/", secure=secure)

    assert is_safe_redirect(request, target) is safe


def test_allauths_limits_count_the_address_ours_count(settings: DjangoSettings) -> None:
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.3"
    )

    assert AccountAdapter(request).get_client_ip(request) == "203.0.113.7"
