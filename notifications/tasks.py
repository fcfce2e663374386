"""Celery tasks of notifications: each loads by id and calls one function."""

from __future__ import annotations

from smtplib import SMTPException
from typing import TYPE_CHECKING

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from notifications.delivery import Outcome, attempt_delivery, retry_delay
from notifications.mail import send_notification_email

if TYPE_CHECKING:
    from celery import Task

    from notifications.models import ArchivePayload


# max_retries=None: attempt_delivery counts the attempts against WEBHOOK_MAX_ATTEMPTS.
@shared_task(bind=True, max_retries=None)
def deliver_webhook_task(self: Task, delivery_id: str) -> str:
    """One attempt of the delivery; a passing failure (connection, timeout, 5xx) queues
    the next one after ``retry_delay`` (exponential), up to WEBHOOK_MAX_ATTEMPTS."""
    attempt = self.request.retries + 1
    outcome = attempt_delivery(
        delivery_id,
        attempt=attempt,
        max_attempts=settings.WEBHOOK_MAX_ATTEMPTS,
        now=timezone.now(),
    )
    if outcome is Outcome.RETRY:
        raise self.retry(countdown=retry_delay(attempt))
    return outcome.value


# A mail server that refuses or drops the connection is retried a few times.
@shared_task(
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=60,
    max_retries=3,
)
def send_notification_email_task(user_id: str, event: str, archive: ArchivePayload) -> bool:
    return send_notification_email(user_id, event=event, archive=archive)
