"""The notifications API: webhooks CRUD, their delivery log and test send, e-mail choices."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import issue_token
from notifications.models import Event, Webhook, WebhookDelivery
from notifications.tasks import deliver_webhook_task

if TYPE_CHECKING:
    from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks
    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User

PUBLIC_URL = "https://93.184.215.14/hooks/in"


def create(api: APIClient, **data: object) -> dict:
    body = {"url": PUBLIC_URL, "events": ["archive.ready"], **data}
    response = api.post("/api/webhooks/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def other_api(other_user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(other_user)}")
    return client


def test_create_returns_the_webhook_with_its_secret(api: APIClient) -> None:
    body = create(api, events=["archive.expired", "archive.ready"])

    assert body["url"] == PUBLIC_URL
    assert body["events"] == ["archive.ready", "archive.expired"]
    assert body["is_active"] is True
    assert len(body["secret"]) == 64
    assert len(body["id"]) >= 22
    assert Webhook.objects.get(pk=body["id"]).secret == body["secret"]


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/hook", "http://localhost/hook", "http://[fd00::1]/", "http://10.0.0.8/"],
)
def test_create_refuses_private_targets(api: APIClient, url: str) -> None:
    response = api.post("/api/webhooks/", {"url": url, "events": ["archive.ready"]}, format="json")

    assert response.status_code == 400
    assert "public addresses only" in response.json()["url"][0]
    assert not Webhook.objects.exists()


def test_create_allows_private_targets_when_the_setting_says_so(
    api: APIClient, settings: DjangoSettings
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True

    assert create(api, url="http://localhost:8080/hook")["url"] == "http://localhost:8080/hook"


@pytest.mark.parametrize(
    "body",
    [
        {"url": PUBLIC_URL, "events": []},
        {"url": PUBLIC_URL, "events": ["archive.renamed"]},
        {"url": "ftp://93.184.215.14/", "events": ["archive.ready"]},
        {"url": PUBLIC_URL},
        {"url": PUBLIC_URL, "events": ["archive.ready"], "secret": "mine"},
    ],
)
def test_create_refuses_bad_input(api: APIClient, body: dict) -> None:
    assert api.post("/api/webhooks/", body, format="json").status_code == 400


def test_list_get_patch_delete(api: APIClient) -> None:
    webhook = create(api)
    url = f"/api/webhooks/{webhook['id']}/"

    assert [item["id"] for item in api.get("/api/webhooks/").json()["results"]] == [webhook["id"]]
    assert api.get(url).json() == webhook
    changed = api.patch(url, {"events": ["archive.failed"], "is_active": False}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["events"], changed.json()["is_active"]) == (["archive.failed"], False)
    assert api.patch(url, {"url": "http://192.168.1.1/"}, format="json").status_code == 400
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_another_users_webhook_is_not_found(api: APIClient, other_api: APIClient) -> None:
    url = f"/api/webhooks/{create(api)['id']}/"

    assert other_api.get(url).status_code == 404
    assert other_api.patch(url, {"is_active": False}, format="json").status_code == 404
    assert other_api.delete(url).status_code == 404
    assert other_api.get(f"{url}deliveries/").status_code == 404
    assert other_api.post(f"{url}test/").status_code == 404
    assert other_api.get("/api/webhooks/").json()["results"] == []
    assert Webhook.objects.get().is_active is True


def test_anonymous_requests_are_refused(anon: APIClient) -> None:
    assert anon.get("/api/webhooks/").status_code == 401
    assert anon.get("/api/notifications/email/").status_code == 401


def test_send_a_test_queues_a_delivery_shown_in_the_log(
    api: APIClient,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    queued: list[str] = []
    monkeypatch.setattr(deliver_webhook_task, "delay", queued.append)
    webhook = create(api)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/webhooks/{webhook['id']}/test/")

    assert response.status_code == 202
    delivery = response.json()
    assert queued == [delivery["id"]]
    assert (delivery["event"], delivery["status"], delivery["attempt"]) == (
        "webhook.test",
        "pending",
        0,
    )
    assert delivery["payload"]["webhook"] == webhook["id"]
    log = api.get(f"/api/webhooks/{webhook['id']}/deliveries/").json()
    assert log["count"] == 1
    assert log["results"][0]["id"] == delivery["id"]


def test_the_delivery_log_is_paginated_newest_first(api: APIClient) -> None:
    webhook = Webhook.objects.get(pk=create(api)["id"])
    now = timezone.now()
    for minute in range(25):
        WebhookDelivery.objects.create(
            webhook=webhook,
            event=Event.READY,
            payload={},
            created_at=now - timezone.timedelta(minutes=minute),
        )

    first = api.get(f"/api/webhooks/{webhook.id}/deliveries/").json()
    second = api.get(first["next"]).json()

    assert first["count"] == 25
    assert len(first["results"]) == 20
    assert len(second["results"]) == 5
    times = [row["created_at"] for row in first["results"] + second["results"]]
    assert times == sorted(times, reverse=True)


def test_email_choices_read_and_change(api: APIClient, user: User) -> None:
    assert api.get("/api/notifications/email/").json() == {"email": "", "events": []}

    response = api.patch(
        "/api/notifications/email/",
        {"email": "me@example.org", "events": ["archive.limit_reached", "archive.ready"]},
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == {
        "email": "me@example.org",
        "events": ["archive.ready", "archive.limit_reached"],
    }
    user.refresh_from_db()
    assert user.email == "me@example.org"


@pytest.mark.parametrize(
    "body", [{"email": "not an address"}, {"events": ["archive.nope"]}, {"phone": "1"}]
)
def test_email_choices_refuse_bad_input(api: APIClient, body: dict) -> None:
    assert api.patch("/api/notifications/email/", body, format="json").status_code == 400
