"""Notifications: the one entry point ``notify_owner`` that the app above calls with a
typed payload, and every write to webhooks and e-mail choices.

``notify_owner`` only records and queues; the sending happens in Celery tasks
(notifications/tasks.py) once the caller's transaction commits, so a rolled-back change
never notifies and a slow receiver never slows a build or a download.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.shortcuts import get_object_or_404

from notifications.models import (
    TEST_EVENT,
    ArchivePayload,
    EmailChoice,
    Event,
    Webhook,
    WebhookDelivery,
)
from notifications.targets import check_target
from notifications.tasks import deliver_webhook_task, send_notification_email_task

if TYPE_CHECKING:
    from datetime import datetime

    from accounts.models import User

logger = logging.getLogger(__name__)


class TooManyWebhooks(Exception):
    """The owner already has WEBHOOK_MAX_PER_USER webhooks."""


def _as_json(payload: dict[str, Any]) -> dict[str, Any]:
    # Datetimes, decimals and the like in ``extra`` become the text JSON receivers get.
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def notify_owner(
    owner_id: str,
    event: str,
    *,
    archive: ArchivePayload,
    now: datetime,
    extra: dict | None = None,
) -> None:
    """Tell the user ``owner_id`` that ``event`` (an ``Event`` value) happened to
    ``archive``.

    Creates a pending WebhookDelivery for each of the owner's active webhooks subscribed
    to ``event`` and queues each delivery, and queues an e-mail when the owner chose
    ``event`` and has an address; all queued once the current transaction commits.
    The payload is ``{"event", "occurred_at", "archive": {...}}`` plus the keys of
    ``extra`` (which must be JSON-serialisable with Django's encoder). Raises
    ``ValueError`` for an unknown event; never raises for a broker that is down.
    """
    if event not in Event.values:
        raise ValueError(f"unknown event {event!r}")
    payload = _as_json(
        {**(extra or {}), "event": event, "occurred_at": now.isoformat(), "archive": archive}
    )
    webhooks = [
        webhook
        for webhook in Webhook.objects.filter(owner_id=owner_id, is_active=True)
        if event in webhook.events
    ]
    with transaction.atomic():
        deliveries = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                webhook=webhook,
                event=event,
                archive_id=archive["id"],
                payload=payload,
                created_at=now,
            )
            for webhook in webhooks
        )
        for delivery in deliveries:
            _queue_delivery_on_commit(delivery.id)
        if _wants_email(owner_id, event):
            described = payload["archive"]
            transaction.on_commit(lambda: _queue_email(owner_id, event, described))


def _wants_email(user_id: str, event: str) -> bool:
    choice = EmailChoice.objects.filter(user_id=user_id).select_related("user").first()
    return choice is not None and bool(choice.user.email) and event in choice.events


def _queue_delivery_on_commit(delivery_id: str) -> None:
    transaction.on_commit(lambda: _queue_delivery(delivery_id))


def _queue_delivery(delivery_id: str) -> None:
    try:
        deliver_webhook_task.delay(delivery_id)
    except Exception:  # kombu raises several unrelated types for an unreachable broker
        logger.warning("could not queue webhook delivery %s", delivery_id)


def _queue_email(user_id: str, event: str, archive: ArchivePayload) -> None:
    try:
        send_notification_email_task.delay(user_id, event, archive)
    except Exception:  # kombu raises several unrelated types for an unreachable broker
        logger.warning("could not queue the %s e-mail to %s", event, user_id)


def get_owned_webhook(user: User, webhook_id: str) -> Webhook:
    """The webhook ``webhook_id`` of ``user``; ``Http404`` for anyone else's."""
    return get_object_or_404(Webhook.objects.filter(owner=user), pk=webhook_id)


def create_webhook(user: User, *, url: str, events: list[str], now: datetime) -> Webhook:
    """A new active webhook with a fresh secret. Raises ``TargetRefused`` when the URL
    fails the allow rule and ``TooManyWebhooks`` past WEBHOOK_MAX_PER_USER."""
    check_target(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    if Webhook.objects.filter(owner=user).count() >= settings.WEBHOOK_MAX_PER_USER:
        raise TooManyWebhooks(
            f"You have {settings.WEBHOOK_MAX_PER_USER} webhooks, the most allowed; "
            "delete one first."
        )
    return Webhook.objects.create(owner=user, url=url, events=_ordered(events), created_at=now)


def update_webhook(
    webhook: Webhook,
    *,
    url: str | None = None,
    events: list[str] | None = None,
    is_active: bool | None = None,
) -> Webhook:
    """Change what is given; a new URL passes the allow rule first (``TargetRefused``)."""
    if url is not None and url != webhook.url:
        check_target(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
        webhook.url = url
    if events is not None:
        webhook.events = _ordered(events)
    if is_active is not None:
        webhook.is_active = is_active
    webhook.save(update_fields=["url", "events", "is_active"])
    return webhook


def _ordered(events: list[str]) -> list[str]:
    """The chosen events without repeats, in the order of ``Event``."""
    return [event for event in Event.values if event in events]


def delete_webhook(webhook: Webhook) -> None:
    """Removes the webhook and its delivery log; queued attempts then find nothing."""
    webhook.delete()


def send_test(webhook: Webhook, *, now: datetime) -> WebhookDelivery:
    """Queue a ``webhook.test`` delivery, signed and retried like any other, even when
    the webhook is paused or subscribed to nothing."""
    payload = {
        "event": TEST_EVENT,
        "occurred_at": now.isoformat(),
        "archive": None,
        "webhook": webhook.id,
    }
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            webhook=webhook, event=TEST_EVENT, payload=payload, created_at=now
        )
        _queue_delivery_on_commit(delivery.id)
    return delivery


def get_email_choice(user: User) -> EmailChoice:
    choice, _created = EmailChoice.objects.get_or_create(user=user)
    return choice


def update_email_choice(
    user: User, *, events: list[str] | None = None, email: str | None = None
) -> EmailChoice:
    """Set the events ``user`` gets by e-mail and, when given, the account's address
    (an empty address turns e-mails off without forgetting the choices)."""
    with transaction.atomic():
        choice = get_email_choice(user)
        if events is not None:
            choice.events = _ordered(events)
            choice.save(update_fields=["events"])
        if email is not None:
            user.email = email
            user.save(update_fields=["email"])
    return choice
