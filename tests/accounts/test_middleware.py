"""``REQUIRE_TWO_FACTOR``: a signed-in user without a second factor reaches only the pages
that add one, and sign-out, until they have one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.urls import reverse

from tests.accounts.support import enrol_totp, sign_in

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _required(settings: DjangoSettings) -> None:
    settings.REQUIRE_TWO_FACTOR = True


@pytest.mark.parametrize(
    "name", ["archives:dashboard", "archives:upload", "accounts:keys", "inbox:requests"]
)
def test_other_pages_send_to_the_two_factor_page(user: User, password: str, name: str) -> None:
    client = sign_in(user, password)

    response = client.get(reverse(name), follow=True)

    assert response.redirect_chain == [(reverse("mfa_index"), 302)]
    page = response.content.decode()
    assert "This site requires two-factor authentication" in page
    assert "data-mfa-off" in page


@pytest.mark.parametrize("name", ["mfa_index", "mfa_add_webauthn", "account_reauthenticate"])
def test_the_enrolment_pages_open(user: User, password: str, name: str) -> None:
    client = sign_in(user, password)

    response = client.get(reverse(name))

    assert response.status_code in {200, 302}
    assert response.get("Location", "").split("?")[0] != reverse("mfa_index")


def test_sign_out_works(user: User, password: str) -> None:
    client = sign_in(user, password)

    client.post(reverse("accounts:logout"))

    assert client.get(reverse("archives:dashboard"))["Location"].startswith(
        reverse("accounts:login")
    )


def test_once_enrolled_every_page_opens(user: User, password: str) -> None:
    client = sign_in(user, password)
    enrol_totp(client, password)

    assert client.get(reverse("archives:dashboard")).status_code == 200
    assert client.get(reverse("accounts:keys")).status_code == 200


def test_visitors_and_the_setting_off_are_left_alone(
    user: User, password: str, settings: DjangoSettings
) -> None:
    client = sign_in(user, password)
    assert client.get(reverse("archives:dashboard"))["Location"] == reverse("mfa_index")
    settings.REQUIRE_TWO_FACTOR = False

    assert client.get(reverse("archives:dashboard")).status_code == 200
    client.logout()
    assert client.get(reverse("archives:home")).status_code == 200
