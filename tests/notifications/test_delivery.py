"""Webhook deliveries against a real receiver on 127.0.0.1, run in this process: the
task's own code path in Celery's eager mode (retries re-run at once, without waiting)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from archives.events import notify
from notifications.delivery import Outcome, attempt_delivery, retry_delay, sign
from notifications.models import DeliveryStatus, Event, Webhook, WebhookDelivery
from notifications.tasks import deliver_webhook_task
from tests.conftest import free_port
from tests.notifications.receiver import Receiver, run_receiver

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User
    from archives.models import Archive


@pytest.fixture(autouse=True)
def _private_targets(settings: DjangoSettings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT = 5
    settings.WEBHOOK_MAX_ATTEMPTS = 3


@pytest.fixture
def archive(make_archive: Callable[..., Archive]) -> Archive:
    """A built archive, made before any webhook exists, so the build's own ``ready``
    event makes no delivery and each test sees only the one it raises."""
    return make_archive()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from run_receiver(Receiver())


def make_webhook(user: User, url: str, *, events: list[str] | None = None) -> Webhook:
    return Webhook.objects.create(
        owner=user, url=url, events=events or list(Event.values), created_at=timezone.now()
    )


def queue_event(archive: Archive, event: str = Event.READY) -> WebhookDelivery:
    notify(event, archive, now=timezone.now())
    return WebhookDelivery.objects.get(archive_id=archive.id, event=event)


def test_signature_is_the_hmac_sha256_of_the_body_bytes() -> None:
    body = b'{"event":"archive.ready"}'

    assert sign(body, "key") == "sha256=" + hmac.new(b"key", body, hashlib.sha256).hexdigest()


def test_retry_delay_doubles_from_the_base(settings: DjangoSettings) -> None:
    settings.WEBHOOK_RETRY_BASE = 30

    assert [retry_delay(attempt) for attempt in (1, 2, 3, 4)] == [30, 60, 120, 240]


def test_delivery_posts_the_signed_payload_with_its_headers(
    user: User, archive: Archive, receiver: Receiver
) -> None:
    webhook = make_webhook(user, receiver.url)
    receiver.secret = webhook.secret
    delivery = queue_event(archive)

    deliver_webhook_task.apply(args=(delivery.id,))

    [request] = receiver.requests
    assert request.signature_ok
    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Event"] == "archive.ready"
    assert request.headers["X-Delivery"] == delivery.id
    assert json.loads(request.body) == delivery.payload
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt, delivery.response_status) == ("delivered", 1, 200)
    assert delivery.delivered_at is not None


def test_a_4xx_answer_fails_the_delivery_without_retrying(
    user: User, archive: Archive, receiver: Receiver
) -> None:
    receiver.statuses = [410]
    webhook = make_webhook(user, receiver.url)
    receiver.secret = webhook.secret
    delivery = queue_event(archive)

    deliver_webhook_task.apply(args=(delivery.id,))

    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt, delivery.response_status) == ("failed", 1, 410)
    assert delivery.error == "no"
    assert [(a.number, a.response_status) for a in delivery.attempts.all()] == [(1, 410)]


def test_a_5xx_answer_is_retried_until_delivered(
    user: User, archive: Archive, receiver: Receiver
) -> None:
    receiver.statuses = [503, 502, 200]
    receiver.secret = make_webhook(user, receiver.url).secret
    delivery = queue_event(archive)

    deliver_webhook_task.apply(args=(delivery.id,))

    assert len(receiver.requests) == 3
    assert all(request.signature_ok for request in receiver.requests)
    assert len({request.body for request in receiver.requests}) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt, delivery.response_status) == ("delivered", 3, 200)
    assert [(a.number, a.response_status) for a in delivery.attempts.all()] == [
        (1, 503),
        (2, 502),
        (3, 200),
    ]


def test_a_receiver_that_is_down_is_retried_then_given_up(user: User, archive: Archive) -> None:
    make_webhook(user, f"http://127.0.0.1:{free_port()}/hook")
    delivery = queue_event(archive)

    deliver_webhook_task.apply(args=(delivery.id,))

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt, delivery.response_status) == ("failed", 3, None)
    attempts = list(delivery.attempts.all())
    assert [attempt.number for attempt in attempts] == [1, 2, 3]
    assert all("Connection failed" in attempt.error for attempt in attempts)
    assert "Gave up after 3 attempts." in delivery.error


def test_a_target_refused_at_delivery_time_fails_without_a_request(
    user: User, archive: Archive, receiver: Receiver, settings: DjangoSettings
) -> None:
    make_webhook(user, receiver.url)
    delivery = queue_event(archive)
    # The name now points somewhere the rule refuses (what DNS rebinding would do).
    settings.WEBHOOK_ALLOW_PRIVATE = False

    deliver_webhook_task.apply(args=(delivery.id,))

    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "public addresses only" in delivery.error


def test_an_attempt_runs_once_even_if_its_message_comes_twice(
    user: User, archive: Archive, receiver: Receiver
) -> None:
    make_webhook(user, receiver.url)
    delivery = queue_event(archive)

    first = attempt_delivery(delivery.id, attempt=1, max_attempts=3, now=timezone.now())
    second = attempt_delivery(delivery.id, attempt=1, max_attempts=3, now=timezone.now())

    assert (first, second) == (Outcome.DELIVERED, Outcome.SKIPPED)
    assert len(receiver.requests) == 1


def test_a_delivery_of_a_deleted_webhook_is_skipped(
    user: User, archive: Archive, receiver: Receiver
) -> None:
    webhook = make_webhook(user, receiver.url)
    delivery = queue_event(archive)
    webhook.delete()

    assert deliver_webhook_task.apply(args=(delivery.id,)).get() == "skipped"
    assert receiver.requests == []
