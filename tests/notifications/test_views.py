"""The notifications page in Django's test client."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.test import Client
from django.utils import timezone

from notifications.models import DeliveryStatus, EmailChoice, Event, Webhook, WebhookDelivery

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User

PAGE = "/notifications/"


@pytest.fixture
def browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def webhook_of(user: User, **fields: object) -> Webhook:
    values: dict[str, object] = {
        "url": "https://93.184.215.14/in",
        "events": [Event.READY, Event.DOWNLOADED],
        "created_at": timezone.now(),
        **fields,
    }
    return Webhook.objects.create(owner=user, **values)


def test_the_page_asks_anonymous_visitors_to_log_in(client: Client) -> None:
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_navbar_links_the_page(browser: Client) -> None:
    assert f'href="{PAGE}"' in browser.get("/").content.decode()


def test_the_page_lists_webhooks_with_events_secret_and_delivery_log(
    browser: Client, user: User, other_user: User
) -> None:
    webhook = webhook_of(user)
    hidden = webhook_of(other_user, url="https://93.184.215.15/theirs")
    WebhookDelivery.objects.create(
        webhook=webhook,
        event=Event.READY,
        payload={},
        attempt=2,
        status=DeliveryStatus.FAILED,
        response_status=404,
        error="Not here",
        created_at=timezone.now(),
    )

    response = browser.get(PAGE)

    page = response.content.decode()
    assert response.status_code == 200
    assert webhook.url in page
    assert webhook.secret in page
    assert "archive.downloaded" in page
    assert "Not here" in page
    assert ">404<" in page
    assert hidden.url not in page
    assert hidden.secret not in page
    assert "<script>" not in page


def test_adding_a_webhook(browser: Client, user: User, settings: DjangoSettings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True

    response = browser.post(
        "/notifications/webhooks/",
        {"url": "http://127.0.0.1:9000/hook", "events": ["archive.ready", "archive.expired"]},
    )

    assert response.status_code == 302
    webhook = Webhook.objects.get(owner=user)
    assert webhook.url == "http://127.0.0.1:9000/hook"
    assert webhook.events == ["archive.ready", "archive.expired"]


def test_adding_a_private_target_shows_why_it_is_refused(browser: Client) -> None:
    response = browser.post(
        "/notifications/webhooks/", {"url": "http://localhost/hook", "events": ["archive.ready"]}
    )

    assert response.status_code == 400
    assert "public addresses only" in response.content.decode()
    assert not Webhook.objects.exists()


def test_adding_without_events_is_refused(browser: Client) -> None:
    response = browser.post("/notifications/webhooks/", {"url": "https://93.184.215.14/"})

    assert response.status_code == 400
    assert not Webhook.objects.exists()


def test_delete_asks_first_then_deletes(browser: Client, user: User) -> None:
    webhook = webhook_of(user)
    url = f"/notifications/webhooks/{webhook.id}/delete/"

    confirm = browser.get(url)
    assert confirm.status_code == 200
    assert "Delete this webhook?" in confirm.content.decode()
    assert Webhook.objects.exists()

    assert browser.post(url).status_code == 302
    assert not Webhook.objects.exists()


def test_another_users_webhook_is_not_found(browser: Client, other_user: User) -> None:
    webhook = webhook_of(other_user)

    for url in ("delete", "test", "toggle"):
        response = browser.post(f"/notifications/webhooks/{webhook.id}/{url}/")
        assert response.status_code == 404
    assert Webhook.objects.get().is_active is True
    assert not WebhookDelivery.objects.exists()


def test_send_a_test_and_pause(browser: Client, user: User) -> None:
    webhook = webhook_of(user)

    assert browser.post(f"/notifications/webhooks/{webhook.id}/test/").status_code == 302
    assert browser.post(f"/notifications/webhooks/{webhook.id}/toggle/").status_code == 302

    assert WebhookDelivery.objects.get().event == "webhook.test"
    webhook.refresh_from_db()
    assert webhook.is_active is False
    assert "data-pending" in browser.get(PAGE).content.decode()


def test_e_mail_choices_are_saved_with_the_address(browser: Client, user: User) -> None:
    response = browser.post(
        "/notifications/email/", {"email": "me@example.org", "events": ["archive.failed"]}
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "me@example.org"
    assert EmailChoice.objects.get(user=user).events == ["archive.failed"]
    page = browser.get(PAGE).content.decode()
    assert 'value="me@example.org"' in page
    # The two forms' event checkboxes keep their own ids, so each label ticks its own box.
    assert page.count('id="mail_events_0"') == page.count('id="webhook_events_0"') == 1


def test_a_bad_address_is_refused(browser: Client, user: User) -> None:
    response = browser.post("/notifications/email/", {"email": "nope", "events": []})

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.email == ""


def test_the_page_speaks_russian(browser: Client) -> None:
    browser.cookies["django_language"] = "ru"

    page = browser.get(PAGE, headers={"Accept-Language": "ru"}).content.decode()

    assert "Уведомления" in page
    assert "Добавить вебхук" in page
