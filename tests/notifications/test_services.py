"""notify(): which deliveries and e-mails one event makes, and what they carry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from archives.events import notify
from notifications.models import Event, Webhook, WebhookDelivery
from notifications.services import (
    create_webhook,
    update_email_choice,
    update_webhook,
)
from notifications.targets import TargetRefused
from notifications.tasks import deliver_webhook_task, send_notification_email_task

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.core.mail import EmailMessage
    from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks
    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User
    from archives.models import Archive

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture(autouse=True)
def _private_targets(settings: DjangoSettings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.SITE_URL = "https://share.example.org"


def webhook(user: User, events: list[str], *, is_active: bool = True) -> Webhook:
    return Webhook.objects.create(
        owner=user, url=HOOK, events=events, is_active=is_active, created_at=NOW
    )


def test_notify_makes_one_delivery_per_active_subscribed_webhook_of_the_owner(
    user: User,
    other_user: User,
    make_archive: Callable[..., Archive],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    queued: list[str] = []
    monkeypatch.setattr(deliver_webhook_task, "delay", queued.append)
    archive = make_archive()  # built before the webhooks: its own ready event makes none
    subscribed = webhook(user, [Event.READY, Event.DOWNLOADED])
    webhook(user, [Event.FAILED])
    webhook(user, [Event.READY], is_active=False)
    webhook(other_user, [Event.READY])

    with django_capture_on_commit_callbacks(execute=True):
        notify(Event.READY, archive, now=NOW)

    delivery = WebhookDelivery.objects.get()
    assert delivery.webhook == subscribed
    assert queued == [delivery.id]
    assert (delivery.event, delivery.archive_id, delivery.status) == (
        "archive.ready",
        archive.id,
        "pending",
    )


def test_payload_describes_the_event_and_the_archive(
    user: User, make_archive: Callable[..., Archive]
) -> None:
    webhook(user, [Event.DOWNLOADED])
    archive = make_archive(max_downloads=3)
    at = datetime(2025, 5, 1, 11, 59, tzinfo=UTC)

    notify(Event.DOWNLOADED, archive, now=NOW, extra={"download": {"at": at, "ip": "198.51.100.7"}})

    assert WebhookDelivery.objects.get().payload == {
        "event": "archive.downloaded",
        "occurred_at": "2025-05-01T12:00:00+00:00",
        "archive": {
            "id": archive.id,
            "slug": archive.slug,
            "name": "Holiday photos",
            "status": "ready",
            "size": archive.size,
            "sha256": archive.sha256,
            "download_count": 0,
            "max_downloads": 3,
            "expires_at": archive.expires_at.isoformat(),
            "share_url": f"https://share.example.org/s/{archive.slug}/",
        },
        "download": {"at": "2025-05-01T11:59:00Z", "ip": "198.51.100.7"},
    }


def test_notify_refuses_an_unknown_event(make_archive: Callable[..., Archive]) -> None:
    with pytest.raises(ValueError, match="unknown event"):
        notify("archive.renamed", make_archive(), now=NOW)


def test_notify_sends_nothing_when_no_one_listens(
    make_archive: Callable[..., Archive],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    archive = make_archive()

    with django_capture_on_commit_callbacks() as callbacks:
        notify(Event.EXPIRED, archive, now=NOW)

    assert callbacks == []
    assert not WebhookDelivery.objects.exists()


def test_an_e_mail_goes_out_for_a_chosen_event(
    user: User,
    make_archive: Callable[..., Archive],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    mailoutbox: list[EmailMessage],
) -> None:
    # The task runs in this process, so the mail lands in Django's locmem outbox.
    monkeypatch.setattr(
        send_notification_email_task,
        "delay",
        lambda *args: send_notification_email_task.apply(args=args).get(),
    )
    update_email_choice(user, events=[Event.READY, Event.LIMIT_REACHED], email="me@example.org")
    archive = make_archive()

    with django_capture_on_commit_callbacks(execute=True):
        notify(Event.READY, archive, now=NOW)
        notify(Event.DOWNLOADED, archive, now=NOW)

    [mail] = mailoutbox
    assert mail.to == ["me@example.org"]
    assert mail.subject == "[Awaiting-death] “Holiday photos” is ready to share"
    assert f"https://share.example.org/s/{archive.slug}/" in mail.body


def test_no_e_mail_without_an_address(
    user: User,
    make_archive: Callable[..., Archive],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    update_email_choice(user, events=[Event.READY], email="")
    archive = make_archive()

    with django_capture_on_commit_callbacks() as callbacks:
        notify(Event.READY, archive, now=NOW)

    assert callbacks == []


def test_webhooks_are_checked_by_the_allow_rule_when_saved(
    user: User, settings: DjangoSettings
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False

    with pytest.raises(TargetRefused):
        create_webhook(user, url="http://localhost/hook", events=[Event.READY], now=NOW)
    saved = create_webhook(user, url="http://93.184.215.14/", events=[Event.READY], now=NOW)
    with pytest.raises(TargetRefused):
        update_webhook(saved, url="http://192.168.0.1/")

    saved.refresh_from_db()
    assert saved.url == "http://93.184.215.14/"
    assert Webhook.objects.count() == 1


def test_events_are_kept_once_each_in_a_fixed_order(user: User) -> None:
    saved = create_webhook(
        user,
        url=HOOK,
        events=[Event.EXPIRED, Event.READY, Event.EXPIRED],
        now=timezone.now(),
    )

    assert saved.events == ["archive.ready", "archive.expired"]
    assert len(saved.secret) == 64
    assert len(saved.id) >= 22
