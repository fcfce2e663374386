"""Uploads past their expiry are purged, rows and bytes, by the task and the command."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from io import StringIO
from typing import TYPE_CHECKING

import pytest
import requests
import time_machine
from django.core.management import call_command
from django.utils import timezone

from accounts.services import issue_token
from resumable.models import ResumableUpload
from resumable.partials import partial_path
from resumable.tasks import purge_expired_uploads_task
from tests.resumable.api.test_views import TUS, metadata, send, start, upload_id

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings
    from pytest_django.live_server_helper import LiveServer
    from rest_framework.test import APIClient

    from accounts.models import User


@pytest.mark.django_db
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


@pytest.mark.django_db
def test_purge_command_removes_expired_uploads(api: APIClient, settings: DjangoSettings) -> None:
    pk = upload_id(start(api, 10))
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.TUS_EXPIRE_SECONDS + 1), tick=False
    ):
        call_command("purge_expired_uploads", stdout=StringIO())
    assert not ResumableUpload.objects.filter(pk=pk).exists()
    assert not partial_path(pk).exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_uploads_started_at_once_stay_within_the_quota(
    live_server: LiveServer, user: User, settings: DjangoSettings
) -> None:
    settings.USER_QUOTA_BYTES = 1_000_000
    token = issue_token(user)
    parallel = 6

    def create(n: int) -> int:
        response = requests.post(
            f"{live_server.url}/api/uploads/",
            headers={
                "Authorization": f"Token {token}",
                "Tus-Resumable": "1.0.0",
                "Upload-Length": "400000",
                "Upload-Metadata": metadata(filename=f"part-{n}.bin"),
            },
            timeout=60,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        statuses = Counter(pool.map(create, range(parallel)))

    assert statuses == {201: 2, 413: parallel - 2}
    assert ResumableUpload.objects.filter(owner=user).count() == 2
