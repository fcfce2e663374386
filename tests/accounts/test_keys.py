"""Issuing, revoking and finding API keys."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from accounts.keys import (
    KeyRefused,
    authenticate_key,
    create_api_key,
    get_owned_key,
    hash_key,
    keys_of,
    revoke_api_key,
)
from accounts.models import ApiKey

if TYPE_CHECKING:
    from accounts.models import User

pytestmark = pytest.mark.django_db


def test_create_returns_the_key_and_stores_its_hash(user: User) -> None:
    now = timezone.now()

    issued = create_api_key(
        user, name="ci", scopes=["archives:write", "archives:read"], expires_at=None, now=now
    )

    stored = ApiKey.objects.get()
    assert stored.key_hash == hash_key(issued.key) != issued.key
    assert stored.scopes == ["archives:read", "archives:write"]
    assert stored.prefix == issued.key[:8]
    assert stored.created_at == now


def test_each_key_is_new(user: User) -> None:
    now = timezone.now()
    keys = {
        create_api_key(user, name="k", scopes=["archives:read"], expires_at=None, now=now).key
        for _ in range(20)
    }

    assert len(keys) == 20


def test_revoking_keeps_the_first_time(user: User) -> None:
    now = timezone.now()
    issued = create_api_key(user, name="k", scopes=["archives:read"], expires_at=None, now=now)
    revoke_api_key(issued.api_key, now=now)
    revoke_api_key(issued.api_key, now=now + timedelta(hours=1))

    assert ApiKey.objects.get().revoked_at == now
    assert keys_of(user) == []
    assert get_owned_key(user, issued.api_key.pk) is None


def test_authenticate_finds_a_live_key_and_refuses_the_rest(user: User) -> None:
    now = timezone.now()
    issued = create_api_key(
        user, name="k", scopes=["archives:read"], expires_at=now + timedelta(minutes=5), now=now
    )

    assert authenticate_key(issued.key, client="192.0.2.1", now=now) == issued.api_key
    with pytest.raises(KeyRefused):
        authenticate_key(issued.key, client="192.0.2.1", now=now + timedelta(minutes=5))
    with pytest.raises(KeyRefused):
        authenticate_key(issued.key[:-1], client="192.0.2.1", now=now)
    with pytest.raises(KeyRefused):
        authenticate_key(issued.key.removeprefix("adk_"), client="192.0.2.1", now=now)


def test_get_owned_key_is_none_for_another_user(user: User, other_user: User) -> None:
    now = timezone.now()
    issued = create_api_key(user, name="k", scopes=["archives:read"], expires_at=None, now=now)

    assert get_owned_key(other_user, issued.api_key.pk) is None
    assert get_owned_key(user, issued.api_key.pk) == issued.api_key
