"""The archive's life raises the notification events: ready, failed, downloaded, limit
reached, expired (archives.events.notify hands them to notifications)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.utils import timezone

from archives.build import fail_build
from archives.services import purge_expired
from notifications.models import Event, Webhook, WebhookDelivery
from tests.conftest import streamed_body

if TYPE_CHECKING:
    from collections.abc import Callable

    from rest_framework.test import APIClient

    from accounts.models import User
    from archives.models import Archive

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook(user: User) -> Webhook:
    return Webhook.objects.create(
        owner=user,
        url="https://hooks.example.org/in",
        events=list(Event.values),
        created_at=timezone.now(),
    )


def events_of(archive: Archive) -> list[str]:
    return list(
        WebhookDelivery.objects.filter(archive_id=archive.pk)
        .order_by("created_at", "event")
        .values_list("event", flat=True)
    )


def test_build_download_limit_and_expiry_raise_their_events(
    webhook: Webhook, anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(max_downloads=2, ttl=3600)
    assert events_of(archive) == [Event.READY]

    streamed_body(anon.get(f"/api/shares/{archive.slug}/download"))
    streamed_body(anon.get(f"/api/shares/{archive.slug}/download"))
    assert anon.get(f"/api/shares/{archive.slug}/download").status_code == 410

    assert events_of(archive).count(Event.DOWNLOADED) == 2
    assert events_of(archive).count(Event.LIMIT_REACHED) == 1
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        purge_expired(now=timezone.now())
    assert events_of(archive)[-1] == Event.EXPIRED
    payloads = [
        delivery.payload
        for delivery in WebhookDelivery.objects.filter(
            archive_id=archive.pk, event=Event.DOWNLOADED
        )
    ]
    assert sorted(p["archive"]["download_count"] for p in payloads) == [1, 2]
    assert {p["download"]["ip"] for p in payloads} == {"127.0.0.1"}


def test_a_failed_build_raises_failed(
    webhook: Webhook, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(build=False)

    fail_build(archive.pk, error="disk full", now=timezone.now())

    assert events_of(archive) == [Event.FAILED]


def test_no_webhook_no_delivery(make_archive: Callable[..., Archive]) -> None:
    archive = make_archive()

    assert events_of(archive) == []
