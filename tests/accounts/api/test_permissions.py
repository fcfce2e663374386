"""Each API view declares the scope a key needs; a key without it gets 403 naming it,
while sessions and the account token are not limited."""

from __future__ import annotations

from base64 import b64encode
from typing import TYPE_CHECKING

import pytest
from rest_framework.test import APIClient

from archives.models import Archive
from tests.conftest import upload
from tests.factories import ApiKeyFactory, WebhookFactory

if TYPE_CHECKING:
    from collections.abc import Callable

    from accounts.models import User

pytestmark = pytest.mark.django_db


def client_with(user: User, *scopes: str) -> APIClient:
    api_key = ApiKeyFactory(user=user, scopes=list(scopes))
    return APIClient(HTTP_AUTHORIZATION=f"Bearer adk_test-{api_key.name}")


def tus_create(client: APIClient) -> int:
    metadata = "filename " + b64encode(b"a.txt").decode()
    response = client.post(
        "/api/uploads/",
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": "5", "Upload-Metadata": metadata},
    )
    return response.status_code


def test_a_read_only_key_is_refused_an_upload_naming_the_scope(user: User) -> None:
    client = client_with(user, "archives:read")

    response = client.post(
        "/api/archives/", {"files": [upload("a.txt", b"hello")]}, format="multipart"
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "This key lacks the scope archives:write."}
    assert not Archive.objects.exists()
    assert client.get("/api/archives/").status_code == 200


def test_a_write_key_uploads(user: User) -> None:
    client = client_with(user, "archives:write")

    response = client.post(
        "/api/archives/", {"files": [upload("a.txt", b"hello")]}, format="multipart"
    )

    assert response.status_code == 201
    assert Archive.objects.get().owner == user
    refused = client.get("/api/archives/")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This key lacks the scope archives:read."


def test_links_stats_and_the_download_log_need_the_archives_scopes(
    user: User, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    reader = client_with(user, "archives:read")
    base = f"/api/archives/{archive.id}"

    assert reader.get(f"{base}/links/").status_code == 200
    assert reader.get(f"{base}/downloads.csv").status_code == 200
    refused = reader.post(f"{base}/links/", {"label": "x"}, format="json")
    assert refused.status_code == 403
    assert "archives:write" in refused.json()["detail"]
    assert reader.patch(f"{base}/", {"name": "n"}, format="json").status_code == 403
    assert reader.delete(f"{base}/").status_code == 403
    assert Archive.objects.filter(pk=archive.pk).exists()


def test_resumable_uploads_need_archives_write(user: User) -> None:
    assert tus_create(client_with(user, "archives:read")) == 403
    assert tus_create(client_with(user, "archives:write")) == 201


def test_discovery_of_resumable_uploads_stays_open(user: User) -> None:
    response = client_with(user, "archives:read").options("/api/uploads/")

    assert response.status_code == 204


def test_webhooks_and_email_choices_need_webhooks_write(user: User) -> None:
    WebhookFactory(owner=user)
    archives_only = client_with(user, "archives:read", "archives:write")
    hooks = client_with(user, "webhooks:write")

    refused = archives_only.get("/api/webhooks/")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This key lacks the scope webhooks:write."
    assert archives_only.get("/api/notifications/email/").status_code == 403
    assert hooks.get("/api/webhooks/").status_code == 200
    assert hooks.get("/api/notifications/email/").status_code == 200


def test_a_session_is_not_limited_by_scopes(user: User) -> None:
    session = APIClient()
    session.force_login(user)

    assert session.get("/api/webhooks/").status_code == 200
    assert session.get("/api/archives/").status_code == 200
    assert session.get("/api/keys/").status_code == 200


def test_public_share_endpoints_take_a_key_without_scopes(
    user: User, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()

    response = client_with(user, "webhooks:write").get(f"/api/shares/{archive.slug}/")

    assert response.status_code == 200


def test_upload_requests_need_the_requests_scopes(user: User) -> None:
    reader = client_with(user, "requests:read")
    assert reader.get("/api/requests/").status_code == 200
    refused = reader.post("/api/requests/", {"name": "Scans"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This key lacks the scope requests:write."
    writer = client_with(user, "requests:write")
    assert writer.post("/api/requests/", {"name": "Scans"}, format="json").status_code == 201
    assert client_with(user, "archives:write").get("/api/requests/").status_code == 403
