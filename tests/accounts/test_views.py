"""The account pages through Django's test client."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse

from accounts.keys import hash_key
from accounts.models import ApiKey, User
from tests.accounts.support import sign_in
from tests.factories import ApiKeyFactory

if TYPE_CHECKING:
    from django.test import Client
    from pytest_django.fixtures import Settings as DjangoSettings

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "a long and unusual passphrase"


def test_register_page_has_labelled_fields(client: Client) -> None:
    response = client.get(reverse("accounts:register"))
    body = response.content.decode()
    assert response.status_code == 200
    for field in ("username", "password1", "password2"):
        assert f'for="id_{field}"' in body


def test_register_logs_in_and_follows_next(client: Client) -> None:
    response = client.post(
        reverse("accounts:register") + "?next=/dashboard/",
        {"username": "alice", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert User.objects.filter(username="alice").exists()
    assert client.get("/dashboard/").status_code == 200


def test_register_ignores_next_to_another_site(client: Client) -> None:
    response = client.post(
        reverse("accounts:register"),
        {
            "username": "bob",
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD,
            "next": "https://evil.example/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("archives:upload")


def test_register_with_weak_password_says_why(client: Client) -> None:
    response = client.post(
        reverse("accounts:register"),
        {"username": "carol", "password1": "123", "password2": "123"},
    )
    assert response.status_code == 400
    assert "too short" in response.content.decode()
    assert not User.objects.filter(username="carol").exists()


def test_register_with_mismatched_passwords_says_so(client: Client) -> None:
    response = client.post(
        reverse("accounts:register"),
        {"username": "dave", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD + "x"},
    )
    assert response.status_code == 400
    assert "The two passwords differ." in response.content.decode()


def test_register_with_taken_username_says_so(client: Client, user: User) -> None:
    response = client.post(
        reverse("accounts:register"),
        {"username": user.username, "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    assert response.status_code == 400
    assert "taken" in response.content.decode()


def test_login_follows_next(client: Client, user: User, password: str) -> None:
    response = client.post(
        reverse("accounts:login"),
        {"login": user.username, "password": password, "next": "/dashboard/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


def test_login_ignores_next_to_another_site(client: Client, user: User, password: str) -> None:
    response = client.post(
        reverse("accounts:login"),
        {"login": user.username, "password": password, "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_login_with_wrong_password_shows_error(client: Client, user: User) -> None:
    response = client.post(reverse("accounts:login"), {"login": user.username, "password": "nope"})
    assert response.status_code == 200
    assert "alert-danger" in response.content.decode()


def test_changing_the_password_signs_out_the_other_sessions_only(user: User, password: str) -> None:
    other = sign_in(user, password)
    client = sign_in(user, password)

    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": password, "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )

    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200
    assert other.get("/dashboard/").status_code == 302


def test_logout_asks_on_get_and_logs_out_on_post(client: Client, user: User) -> None:
    client.force_login(user)
    assert client.get(reverse("accounts:logout")).status_code == 200
    assert client.get("/dashboard/").status_code == 200
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_login_is_throttled_after_many_failures_with_429(
    client: Client, user: User, password: str, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_USER = 2
    for _ in range(2):
        client.post(reverse("accounts:login"), {"login": user.username, "password": "no"})
    response = client.post(
        reverse("accounts:login"), {"login": user.username, "password": password}
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many failed logins" in response.content.decode()


def test_allauths_own_limits_answer_429_in_the_site_look(client: Client, user: User) -> None:
    client.force_login(user)
    answers = [
        client.post("/accounts/reauthenticate/", {"password": "wrong"}).status_code
        for _ in range(11)
    ]

    refused = client.post("/accounts/reauthenticate/", {"password": "wrong"})

    assert answers[:10] == [200] * 10
    assert refused.status_code == 429
    assert "Too many attempts" in refused.content.decode()
    assert "navbar" in refused.content.decode()


def test_a_wide_name_registers_as_its_canonical_form_and_logs_in_on_the_page(
    client: Client,
) -> None:
    registered = client.post(
        reverse("accounts:register"),
        {"username": "\uff45\uff56\uff45", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    assert registered.status_code == 302
    assert User.objects.get().username == "eve"
    client.logout()

    logged_in = client.post(
        reverse("accounts:login"), {"login": "\uff45\uff56\uff45", "password": GOOD_PASSWORD}
    )

    assert logged_in.status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_a_name_that_only_looks_like_a_taken_one_is_refused_on_the_page(
    client: Client, user: User
) -> None:
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in user.username)
    response = client.post(
        reverse("accounts:register"),
        {"username": wide, "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )

    assert "This username is taken" in response.content.decode()
    assert User.objects.count() == 1


def test_the_keys_page_needs_a_login(client: Client) -> None:
    response = client.get(reverse("accounts:keys"))

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_a_new_key_is_shown_once_then_listed_by_its_prefix(client: Client, user: User) -> None:
    client.force_login(user)

    made = client.post(
        reverse("accounts:keys"),
        {"name": "nightly backup", "scopes": ["archives:read"], "lifetime": "30"},
    )
    again = client.get(reverse("accounts:keys"))

    api_key = ApiKey.objects.get(user=user)
    body = made.content.decode()
    key = re.search(r'id="new-key" value="(adk_[^"]+)"', body)
    assert made.status_code == 200
    assert key is not None and hash_key(key.group(1)) == api_key.key_hash
    assert "no-store" in made["Cache-Control"]
    assert api_key.scopes == ["archives:read"]
    assert api_key.expires_at is not None
    listed = again.content.decode()
    assert key.group(1) not in listed
    assert "nightly backup" in listed and api_key.prefix in listed


def test_a_key_needs_a_scope(client: Client, user: User) -> None:
    client.force_login(user)

    response = client.post(reverse("accounts:keys"), {"name": "k", "lifetime": ""})

    assert response.status_code == 400
    assert not ApiKey.objects.exists()


def test_revoking_a_key_from_the_page(client: Client, user: User, other_user: User) -> None:
    mine = ApiKeyFactory(user=user)
    theirs = ApiKeyFactory(user=other_user)
    client.force_login(user)

    response = client.post(reverse("accounts:revoke-key", args=[mine.pk]))
    refused = client.post(reverse("accounts:revoke-key", args=[theirs.pk]))

    assert response.status_code == 302
    assert ApiKey.objects.get(pk=mine.pk).revoked_at is not None
    assert refused.status_code == 404
    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None
    assert client.get(reverse("accounts:revoke-key", args=[mine.pk])).status_code == 405


def test_with_password_login_off_the_pages_offer_only_providers_and_refuse_posts(
    client: Client, user: User, password: str, settings: DjangoSettings
) -> None:
    settings.PASSWORD_LOGIN = False
    settings.MFA_PASSKEY_LOGIN_ENABLED = False  # as config/settings.py derives it

    page = client.get(reverse("accounts:login"))
    login = client.post(reverse("accounts:login"), {"login": user.username, "password": password})
    register_page = client.get(reverse("accounts:register"))
    register = client.post(
        reverse("accounts:register"),
        {"username": "zed", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )

    assert page.status_code == 200
    assert 'name="password"' not in page.content.decode()
    assert "passkey" not in page.content.decode()
    assert "No way to sign in is set up" in page.content.decode()
    assert login.status_code == 403
    assert "Passwords do not sign in here" in login.content.decode()
    assert not login.wsgi_request.user.is_authenticated
    assert register_page.status_code == 200
    assert 'name="password1"' not in register_page.content.decode()
    assert register.status_code == 403
    assert not User.objects.filter(username="zed").exists()


def test_with_password_login_off_the_admin_takes_no_password(
    client: Client, settings: DjangoSettings
) -> None:
    User.objects.create_superuser(username="root", password=GOOD_PASSWORD)
    settings.PASSWORD_LOGIN = False

    response = client.post(reverse("admin:login"), {"username": "root", "password": GOOD_PASSWORD})

    assert response.status_code == 200
    assert "Passwords do not sign in here" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
