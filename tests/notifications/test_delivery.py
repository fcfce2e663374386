"""Webhook deliveries against a real receiver on 127.0.0.1, run in this process: the
task's own code path in Celery's eager mode (retries re-run at once, without waiting)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import requests
from django.utils import timezone

from archives.events import notify
from notifications.delivery import (
    Outcome,
    attempt_delivery,
    retry_delay,
    sign,
    sign_message,
    signing_key,
)
from notifications.models import DeliveryStatus, Event, Webhook, WebhookDelivery
from notifications.tasks import deliver_webhook_task
from tests.conftest import free_port
from tests.notifications.receiver import (
    TOLERANCE,
    Receiver,
    WebhookRejected,
    run_receiver,
    standard_secret,
    verify_standard_webhook,
)

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


# The example of the Standard Webhooks specification and its reference libraries.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_of_id_timestamp_and_body_is_the_specifications() -> None:
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))

    signature = sign_message(message_id=SPEC_ID, timestamp=SPEC_TIMESTAMP, body=SPEC_BODY, key=key)

    assert signature == SPEC_SIGNATURE


def test_the_test_receiver_verifies_the_specifications_example() -> None:
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": f"v1,bm9wZQ== {SPEC_SIGNATURE}",
    }

    assert verify_standard_webhook(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP) == SPEC_ID
    with pytest.raises(WebhookRejected, match="too old"):
        verify_standard_webhook(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP + TOLERANCE + 1)


def test_the_key_is_the_secrets_characters_as_its_standard_form_says() -> None:
    secret = "9f" * 32

    assert signing_key(secret) == base64.b64decode(standard_secret(secret).removeprefix("whsec_"))


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
    assert request.headers["X-Delivery"] == request.headers["webhook-id"] == delivery.id
    assert request.body_signature_ok
    assert json.loads(request.body) == delivery.payload
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt, delivery.response_status) == ("delivered", 1, 200)
    assert delivery.delivered_at is not None


def test_every_attempt_keeps_the_delivery_id_and_carries_its_own_timestamp(
    user: User, archive: Archive, receiver: Receiver
) -> None:
    receiver.statuses = [503, 200]
    receiver.secret = make_webhook(user, receiver.url).secret
    delivery = queue_event(archive)
    first_at = timezone.now()
    second_at = first_at + timedelta(seconds=90)

    attempt_delivery(delivery.id, attempt=1, max_attempts=3, now=first_at)
    attempt_delivery(delivery.id, attempt=2, max_attempts=3, now=second_at)

    first, second = receiver.requests
    assert first.signature_ok and second.signature_ok
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.id
    assert [int(request.headers["webhook-timestamp"]) for request in (first, second)] == [
        int(first_at.timestamp()),
        int(second_at.timestamp()),
    ]
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]


def test_a_replayed_or_altered_delivery_is_rejected_by_a_standard_webhooks_receiver(
    user: User, archive: Archive, receiver: Receiver
) -> None:
    receiver.secret = make_webhook(user, receiver.url).secret
    receiver.refuses_unverified = True
    deliver_webhook_task.apply(args=(queue_event(archive).id,))
    [original] = receiver.requests
    assert original.signature_ok
    sent_at = int(original.headers["webhook-timestamp"])

    def resend(*, body: bytes = original.body, **changed: str) -> str:
        kept = {k: v for k, v in original.headers.items() if k not in {"Host", "Content-Length"}}
        response = requests.post(receiver.url, data=body, headers={**kept, **changed}, timeout=5)
        assert response.status_code == 401
        return receiver.requests[-1].rejection

    # Captured and sent again at once: the id was accepted already.
    assert resend() == "already received"
    # Later, to a receiver that forgot the ids it saw: the timestamp gives it away.
    receiver.accepted_ids.clear()
    receiver.clock = lambda: sent_at + TOLERANCE + 60
    assert resend() == "timestamp too old"
    # The timestamp moved to that moment, or a new id, or another body: the signature fails.
    assert resend(**{"webhook-timestamp": str(sent_at + TOLERANCE + 60)}) == "no signature matches"
    receiver.clock = lambda: sent_at
    assert resend(**{"webhook-id": "another-id"}) == "no signature matches"
    assert resend(body=original.body.replace(b"ready", b"ready ")) == "no signature matches"
    # What X-Signature, the body's alone, cannot tell: it matches on every replay.
    assert all(request.body_signature_ok for request in receiver.requests[:3])


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
