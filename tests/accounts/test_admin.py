"""The admin's login: throttled by the same rule as the login page and the API."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from django.test import Client
    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User

pytestmark = pytest.mark.django_db


def admin_login(client: Client, username: str, password: str) -> int:
    response = client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}
    )
    return response.status_code


def test_admin_login_is_refused_while_the_username_is_throttled(
    client: Client, user: User, password: str, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_USER = 3
    user.is_staff = True
    user.save()
    for _ in range(3):
        assert admin_login(client, user.username, "wrong") == 200

    response = client.post(
        "/admin/login/?next=/admin/", {"username": user.username, "password": password}
    )

    assert response.status_code == 200
    assert "Too many failed logins" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_admin_login_lets_staff_in_and_keeps_others_out(
    client: Client, user: User, password: str
) -> None:
    assert admin_login(client, user.username, password) == 200
    assert client.get("/admin/").status_code == 302

    user.is_staff = True
    user.save()
    assert admin_login(client, user.username, password) == 302
    assert client.get("/admin/").status_code == 200
