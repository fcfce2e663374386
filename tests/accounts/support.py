"""Signing in and enrolling a second factor through the pages themselves (allauth's sign-in
and allauth.mfa's enrolment), for the tests of two-factor rules, pages and API."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyotp
from django.test import Client
from django.urls import reverse

if TYPE_CHECKING:
    from accounts.models import User


def sign_in(user: User, password: str) -> Client:
    """A client signed in with the password through the sign-in page (allauth's flow
    records it, so the enrolment pages ask for no password again)."""
    client = Client()
    response = client.post(reverse("account_login"), {"login": user.username, "password": password})
    assert response.status_code == 302, response.content
    return client


def confirm_password(client: Client, password: str) -> None:
    """Type the password again, as allauth asks before a second factor is added or removed."""
    response = client.post(reverse("account_reauthenticate"), {"password": password})
    assert response.status_code == 302, response.content


def enrol_totp(client: Client, password: str) -> pyotp.TOTP:
    """Add an authenticator app on the enrolment page with the secret it shows; returns
    the app (its ``now()`` is the current code)."""
    confirm_password(client, password)
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200, (page.status_code, page.get("Location"))
    app = pyotp.TOTP(page.context["form"].secret)
    response = client.post(reverse("mfa_activate_totp"), {"code": app.now()})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_view_recovery_codes")
    return app


def recovery_codes(client: Client) -> list[str]:
    """The unused recovery codes, as the recovery codes page lists them."""
    page = client.get(reverse("mfa_view_recovery_codes"))
    assert page.status_code == 200
    return list(page.context["unused_codes"])
