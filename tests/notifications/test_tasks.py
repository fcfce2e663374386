"""Webhook retries as they happen in production: a real Celery worker process delivers to
a real receiver on 127.0.0.1 that fails the first attempt; the retry waits its backoff."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from archives.events import notify
from notifications.models import DeliveryStatus, Event, Webhook, WebhookDelivery
from tests.conftest import _purge_broker, service_env, start_process, stop_process, worker_command
from tests.notifications.receiver import Receiver, run_receiver

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from accounts.models import User
    from archives.models import Archive

RETRY_BASE = 1


@pytest.fixture(scope="module")
def notify_worker(
    django_db_setup: None,
    django_db_blocker: object,
    media_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker that may deliver to 127.0.0.1 and retries after RETRY_BASE seconds."""
    _purge_broker()
    env = service_env(
        media_dir,
        WEBHOOK_ALLOW_PRIVATE="true",
        WEBHOOK_RETRY_BASE=str(RETRY_BASE),
        WEBHOOK_MAX_ATTEMPTS="3",
        WEBHOOK_TIMEOUT="5",
    )
    process = start_process(
        worker_command(),
        env=env,
        log=tmp_path_factory.mktemp("notify-worker") / "worker.log",
        ready=b" ready.",
    )
    yield process
    stop_process(process)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from run_receiver(Receiver(statuses=[500, 200]))


def wait_until_settled(delivery_id: str, *, timeout: float = 60) -> WebhookDelivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        if delivery.status != DeliveryStatus.PENDING:
            return delivery
        time.sleep(0.1)
    pytest.fail(f"delivery {delivery_id} still pending after {timeout} s")


@pytest.mark.django_db(transaction=True)
def test_a_failed_first_attempt_is_retried_after_the_backoff_and_delivered(
    user: User,
    make_archive: Callable[..., Archive],
    receiver: Receiver,
    notify_worker: subprocess.Popen[bytes],
) -> None:
    archive = make_archive()  # built before the webhook: its own ready event makes none
    webhook = Webhook.objects.create(
        owner=user, url=receiver.url, events=[Event.READY], created_at=timezone.now()
    )
    receiver.secret = webhook.secret

    notify(Event.READY, archive, now=timezone.now())

    delivery = WebhookDelivery.objects.get(webhook=webhook)
    first, second = receiver.wait_for(2, timeout=60)
    delivery = wait_until_settled(delivery.id)
    assert first.signature_ok and second.signature_ok
    assert first.body == second.body
    assert first.headers["X-Delivery"] == second.headers["X-Delivery"] == delivery.id
    # The retry waited its countdown: RETRY_BASE * 2**0 seconds after the first answer.
    assert second.at - first.at >= RETRY_BASE * 0.9
    assert (delivery.status, delivery.attempt, delivery.response_status) == ("delivered", 2, 200)
    assert [(a.number, a.response_status) for a in delivery.attempts.all()] == [(1, 500), (2, 200)]
    assert delivery.attempts.get(number=1).error == "no"
    assert len(receiver.requests) == 2
