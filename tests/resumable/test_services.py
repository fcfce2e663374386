"""Uploads past their expiry are purged, rows and bytes, by the task and the command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from resumable.models import ResumableUpload
from resumable.partials import partial_path
from resumable.tasks import purge_expired_uploads_task
from tests.resumable.api.test_views import TUS, send, start, upload_id

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_abandoned_uploads_expire_and_are_purged(api: APIClient, settings: DjangoSettings) -> None:
    location = start(api, 10)["Location"]
    send(api, location, b"hello", offset=0)
    pk = location.rsplit("/", 1)[1]
    fresh = start(api, 10)["Location"]
    later = timezone.now() + timedelta(seconds=settings.TUS_EXPIRE_SECONDS - 60)
    with time_machine.travel(later, tick=False):
        # Activity keeps an upload alive: this one was written to just now.
        send(api, fresh, b"hi", offset=0)
    with time_machine.travel(later + timedelta(minutes=2), tick=False):
        assert api.head(location, **TUS).status_code == 410
        assert send(api, location, b"world", offset=5).status_code == 410
        assert purge_expired_uploads_task() == 1
    assert not ResumableUpload.objects.filter(pk=pk).exists()
    assert not partial_path(pk).exists()
    assert api.head(fresh, **TUS)["Upload-Offset"] == "2"


def test_purge_command_removes_expired_uploads(api: APIClient, settings: DjangoSettings) -> None:
    pk = upload_id(start(api, 10))
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.TUS_EXPIRE_SECONDS + 1), tick=False
    ):
        call_command("purge_expired_uploads", stdout=StringIO())
    assert not ResumableUpload.objects.filter(pk=pk).exists()
    assert not partial_path(pk).exists()
