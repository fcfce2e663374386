"""The admin: its login, throttled by the same rule as the login page and the API; the
users with their usage, quota override and deactivation; the audit trail; API keys."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.accounts.support import enrol_totp, sign_in
from tests.factories import ApiKeyFactory, AuditEntryFactory

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.test import Client
    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User
    from archives.models import Archive

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


def test_admin_login_sends_an_account_with_two_factor_to_the_site_login(
    client: Client, user: User, password: str
) -> None:
    user.is_staff = True
    user.save()
    enrol_totp(sign_in(user, password), password)

    response = client.post(
        "/admin/login/?next=/admin/", {"username": user.username, "password": password}
    )

    assert response.status_code == 200
    assert "This account has two-factor authentication" in response.content.decode()
    assert client.get("/admin/").status_code == 302


@pytest.fixture
def staff(client: Client, user: User) -> Client:
    user.is_staff = True
    user.is_superuser = True
    user.save()
    client.force_login(user)
    return client


def test_the_user_list_shows_usage_and_the_quota(
    staff: Client,
    user: User,
    other_user: User,
    make_archive: Callable[..., Archive],
    settings: DjangoSettings,
) -> None:
    settings.USER_QUOTA_BYTES = 10 * 1024**3
    make_archive({"a.bin": b"a" * 2048}, owner=other_user, build=False)
    other_user.quota_bytes = 5 * 1024**2
    other_user.save()

    body = staff.get("/admin/accounts/user/").content.decode()

    theirs, mine = row_cells(body, other_user.username), row_cells(body, user.username)
    assert theirs[-3:] == ["2.0 KB", "1", "5.0 MB (override)"]
    assert mine[-3:] == ["0 bytes", "0", "10.0 GB"]


def row_cells(body: str, username: str) -> list[str]:
    """The text of the cells of the user list's row of ``username``."""
    row = next(row for row in body.split("<tr") if f">{username}</a>" in row)
    return [" ".join(cell.split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_staff_set_the_override_on_the_user_page(staff: Client, other_user: User) -> None:
    page = staff.get(f"/admin/accounts/user/{other_user.pk}/change/").content.decode()

    assert 'name="quota_bytes"' in page


def test_deactivating_users_stops_them_and_their_shares(
    staff: Client, other_user: User, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(owner=other_user)
    download = f"/api/shares/{archive.slug}/download"
    assert staff.head(download).status_code == 200

    response = staff.post(
        "/admin/accounts/user/",
        {"action": "deactivate", "_selected_action": [other_user.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "1 users deactivated." in response.content.decode()
    other_user.refresh_from_db()
    assert other_user.is_active is False
    refused = staff.get(download)
    assert refused.status_code == 410
    assert refused.json()["reason"] == "expired"
    # What a visitor of the link sees says so too.
    assert staff.get(f"/api/shares/{archive.slug}/").json()["status"] == "expired"
    page = staff.get(f"/s/{archive.slug}/")
    assert "data-download-button" not in page.content.decode()


def test_the_audit_trail_is_in_the_admin(
    staff: Client, user: User, make_archive: Callable[..., Archive]
) -> None:
    AuditEntryFactory(archive_name="holiday", actor=user, action="update", field="name")

    body = staff.get("/admin/archives/auditentry/").content.decode()

    assert "holiday" in body and "update" in body


def test_api_keys_are_listed_without_their_key(staff: Client, user: User) -> None:
    api_key = ApiKeyFactory(user=user, name="deploy")

    body = staff.get("/admin/accounts/apikey/").content.decode()

    assert "deploy" in body and api_key.prefix in body
