"""``/api/keys/``: make, list and revoke API keys; the key is shown once."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.keys import hash_key
from accounts.models import ApiKey
from tests.factories import ApiKeyFactory

if TYPE_CHECKING:
    from accounts.models import User

pytestmark = pytest.mark.django_db


def create(api: APIClient, **fields: object) -> dict:
    body = {"name": "backup script", "scopes": ["archives:read"], **fields}
    response = api.post("/api/keys/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_shows_the_key_once_and_stores_only_its_hash(api: APIClient, user: User) -> None:
    body = create(api, scopes=["archives:read", "webhooks:write"])

    key = body["key"]
    assert key.startswith("adk_") and len(key) >= 28
    assert body["name"] == "backup script"
    assert body["scopes"] == ["archives:read", "webhooks:write"]
    assert body["prefix"] == key[:8]
    assert body["expires_at"] is None and body["last_used_at"] is None
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.user == user
    assert stored.key_hash == hash_key(key)
    assert key not in {stored.key_hash, stored.prefix, stored.name}


def test_list_shows_the_keys_without_the_key(api: APIClient) -> None:
    first = create(api, name="one")
    second = create(api, name="two")

    response = api.get("/api/keys/")

    assert response.status_code == 200
    listed = response.json()
    assert [entry["id"] for entry in listed] == [second["id"], first["id"]]
    assert all("key" not in entry for entry in listed)
    assert first["key"] not in response.content.decode()


def test_list_shows_only_the_users_own_keys(api: APIClient, other_user: User) -> None:
    ApiKeyFactory(user=other_user)

    assert api.get("/api/keys/").json() == []


def test_delete_revokes_the_key(api: APIClient) -> None:
    body = create(api)

    response = api.delete(f"/api/keys/{body['id']}/")

    assert response.status_code == 204
    assert ApiKey.objects.get(pk=body["id"]).revoked_at is not None
    assert api.get("/api/keys/").json() == []
    bearer = APIClient(HTTP_AUTHORIZATION=f"Bearer {body['key']}")
    assert bearer.get("/api/archives/").status_code == 401


def test_delete_of_another_users_key_is_404(api: APIClient, other_user: User) -> None:
    theirs = ApiKeyFactory(user=other_user)

    response = api.delete(f"/api/keys/{theirs.pk}/")

    assert response.status_code == 404
    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["archives:delete"]}, "scopes"),
        ({"scopes": ["archives:read", "archives:read"]}, "scopes"),
        ({"name": ""}, "name"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ],
)
def test_create_refuses_bad_fields(api: APIClient, fields: dict, field: str) -> None:
    body = {"name": "k", "scopes": ["archives:read"], **fields}

    response = api.post("/api/keys/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_create_keeps_an_expiry_in_the_future(api: APIClient) -> None:
    when = timezone.now() + timedelta(days=30)

    body = create(api, expires_at=when.isoformat())

    assert ApiKey.objects.get(pk=body["id"]).expires_at == when


def test_a_key_cannot_make_list_or_revoke_keys(api: APIClient) -> None:
    body = create(api, scopes=["archives:read", "archives:write"])
    bearer = APIClient(HTTP_AUTHORIZATION=f"Bearer {body['key']}")

    made = bearer.post("/api/keys/", {"name": "n", "scopes": ["archives:read"]}, format="json")
    listed = bearer.get("/api/keys/")
    revoked = bearer.delete(f"/api/keys/{body['id']}/")

    assert (made.status_code, listed.status_code, revoked.status_code) == (403, 403, 403)
    assert "API keys cannot be used here" in made.json()["detail"]
    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get().revoked_at is None


def test_a_session_makes_keys_with_its_csrf_token(user: User) -> None:
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(user)

    refused = session.post("/api/keys/", {"name": "n", "scopes": ["archives:read"]}, format="json")
    session.get("/accounts/keys/")
    token = session.cookies["csrftoken"].value
    made = session.post(
        "/api/keys/",
        {"name": "n", "scopes": ["archives:read"]},
        format="json",
        HTTP_X_CSRFTOKEN=token,
    )

    assert refused.status_code == 403
    assert made.status_code == 201
