"""Webhooks, their deliveries with every attempt, and each owner's e-mail choices."""

from __future__ import annotations

import secrets
from typing import TypedDict

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.tokens import new_token


def new_secret() -> str:
    """The key a receiver uses to check webhook-signature (and X-Signature): 256 random
    bits as hex, used as its characters."""
    return secrets.token_hex(32)


class Event(models.TextChoices):
    READY = "archive.ready", _("The archive is ready")
    FAILED = "archive.failed", _("The build failed")
    DOWNLOADED = "archive.downloaded", _("Someone downloaded it")
    LIMIT_REACHED = "archive.limit_reached", _("The download limit is reached")
    EXPIRED = "archive.expired", _("The archive expired")
    SUBMITTED = "request.submitted", _("Someone sent files through an upload request")


class ArchivePayload(TypedDict):
    """What a notification says about an archive: public facts and the share link, as
    the app that owns archives describes them."""

    id: str
    slug: str
    name: str
    status: str
    size: int | None
    sha256: str
    download_count: int
    max_downloads: int | None
    expires_at: str
    share_url: str


# Sent by "send a test" only; no one subscribes to it.
TEST_EVENT = "webhook.test"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")


class Webhook(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_token, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=2000)
    secret = models.CharField(max_length=64, default=new_secret, editable=False)
    # A list of Event values.
    events = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event sent to one webhook, retried until delivered or out of attempts.
    ``attempt`` counts the attempts started; each one's outcome is a DeliveryAttempt."""

    id = models.CharField(primary_key=True, max_length=32, default=new_token, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32)
    # Not a foreign key: the log outlives the archive.
    archive_id = models.CharField(max_length=32, blank=True)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    attempt = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # The last attempt's answer.
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["webhook", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook_id} ({self.status})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="delivery_attempt_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"


class EmailChoice(models.Model):
    """The events an owner wants by e-mail, at the address of their account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_choice"
    )
    events = models.JSONField(default=list)

    def __str__(self) -> str:
        return ", ".join(self.events)
