"""Privacy of the download log: anonymised addresses, retention."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.utils import timezone

from archives.models import Download
from archives.services import purge_old_downloads
from sharing.downloads import Share, record_download
from tests.conftest import streamed_body

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import APIClient

    from archives.models import Archive

pytestmark = pytest.mark.django_db


def test_log_keeps_only_the_network_when_anonymising(
    anon: APIClient, make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    settings.LOG_IP_ANONYMIZE = "network"
    archive = make_archive()

    streamed_body(anon.get(f"/api/shares/{archive.slug}/download", REMOTE_ADDR="198.51.100.42"))

    assert Download.objects.get(archive=archive).ip == "198.51.100.0"


def test_retention_deletes_old_rows_only(
    make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    archive = make_archive(ttl=90 * 86400)
    now = timezone.now()
    for days_ago in (40, 10):
        with time_machine.travel(now - timedelta(days=days_ago)):
            record_download(Share(archive), client="192.0.2.1", referer="", user_agent="",
                            now=timezone.now())  # fmt: skip

    assert purge_old_downloads(now=now) == 0  # LOG_RETENTION_DAYS=0 keeps everything
    settings.LOG_RETENTION_DAYS = 30
    assert purge_old_downloads(now=now) == 1
    assert Download.objects.filter(archive=archive).count() == 1
    archive.refresh_from_db()
    assert archive.download_count == 2
