"""``Authorization: Bearer <key>``: who a key is, when it stops, and its throttle."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey
from tests.factories import ApiKeyFactory

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User
    from archives.models import Archive

pytestmark = pytest.mark.django_db


def bearer(key: str) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {key}")


def key_of(api_key: ApiKey) -> str:
    return f"adk_test-{api_key.name}"


def test_a_key_authenticates_as_its_owner(user: User, make_archive: Callable[..., Archive]) -> None:
    archive = make_archive()
    api_key = ApiKeyFactory(user=user)

    response = bearer(key_of(api_key)).get("/api/archives/")

    assert response.status_code == 200
    assert [entry["id"] for entry in response.json()["results"]] == [archive.id]


def test_a_key_never_reaches_another_users_archive(
    user: User, other_user: User, make_archive: Callable[..., Archive]
) -> None:
    theirs = make_archive(owner=other_user)
    client = bearer(key_of(ApiKeyFactory(user=user)))

    assert client.get(f"/api/archives/{theirs.id}/").status_code == 404
    assert client.delete(f"/api/archives/{theirs.id}/").status_code == 404
    assert client.get("/api/archives/").json()["results"] == []


def test_the_account_token_keeps_working_with_full_rights(api: APIClient) -> None:
    assert api.get("/api/archives/").status_code == 200
    assert api.get("/api/webhooks/").status_code == 200
    assert api.get("/api/keys/").status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"revoked_at": timezone.now() - timedelta(seconds=1)},
        {"expires_at": timezone.now() - timedelta(seconds=1)},
    ],
    ids=["revoked", "expired"],
)
def test_a_revoked_or_expired_key_is_401(user: User, change: dict) -> None:
    api_key = ApiKeyFactory(user=user, **change)

    response = bearer(key_of(api_key)).get("/api/archives/")

    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid, expired or revoked API key."
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_key_stops_working_the_moment_it_expires(user: User) -> None:
    api_key = ApiKeyFactory(user=user, expires_at=timezone.now() + timedelta(hours=1))
    client = bearer(key_of(api_key))

    assert client.get("/api/archives/").status_code == 200
    with time_machine.travel(api_key.expires_at, tick=False):
        assert client.get("/api/archives/").status_code == 401


def test_a_deactivated_owners_key_is_401(user: User) -> None:
    api_key = ApiKeyFactory(user=user)
    user.is_active = False
    user.save()

    assert bearer(key_of(api_key)).get("/api/archives/").status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer adk_unknown", "Bearer nope"])
def test_a_malformed_or_unknown_key_is_401(header: str) -> None:
    client = APIClient(HTTP_AUTHORIZATION=header)

    assert client.get("/api/archives/").status_code == 401


def test_last_use_is_recorded_at_most_once_a_minute(user: User) -> None:
    api_key = ApiKeyFactory(user=user)
    client = bearer(key_of(api_key))
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        client.get("/api/archives/")
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        client.get("/api/archives/")
    kept = ApiKey.objects.get(pk=api_key.pk).last_used_at
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        client.get("/api/archives/")

    assert kept == start
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == start + timedelta(seconds=61)


def test_wrong_keys_are_throttled_per_address_also_for_a_right_key(
    user: User, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_IP = 3
    good = bearer(key_of(ApiKeyFactory(user=user)))
    wrong = bearer("adk_wrong")

    statuses = [wrong.get("/api/archives/").status_code for _ in range(4)]
    refused = good.get("/api/archives/")

    assert statuses == [401, 401, 401, 429]
    assert refused.status_code == 429
    assert "Too many wrong API keys" in refused.json()["detail"]
    assert int(refused["Retry-After"]) > 0


def test_the_throttle_counts_each_address_apart(user: User, settings: DjangoSettings) -> None:
    settings.LOGIN_ATTEMPTS_PER_IP = 2
    for _ in range(2):
        bearer("adk_wrong").get("/api/archives/", REMOTE_ADDR="192.0.2.1")

    response = bearer(key_of(ApiKeyFactory(user=user))).get(
        "/api/archives/", REMOTE_ADDR="192.0.2.2"
    )

    assert response.status_code == 200
