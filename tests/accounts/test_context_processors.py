"""Every page knows whether passwords sign in: the navbar offers Register only then."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.urls import reverse

if TYPE_CHECKING:
    from django.test import Client
    from pytest_django.fixtures import Settings as DjangoSettings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("password_login", [True, False])
def test_the_navbar_offers_register_only_where_passwords_sign_in(
    client: Client, settings: DjangoSettings, *, password_login: bool
) -> None:
    settings.PASSWORD_LOGIN = password_login

    body = client.get(reverse("archives:home")).content.decode()

    assert (f'href="{reverse("accounts:register")}"' in body) is password_login
    assert f'href="{reverse("accounts:login")}"' in body
