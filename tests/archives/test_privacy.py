"""Privacy of the download log: anonymised addresses, retention, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.utils import timezone

from archives.models import Download
from archives.services import purge_old_downloads
from core.clients import anonymize_ip
from sharing.downloads import Share, record_download
from tests.conftest import streamed_body

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import APIClient

    from accounts.models import User
    from archives.models import Archive

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("address", "mode", "kept"),
    [
        ("203.0.113.77", "none", "203.0.113.77"),
        ("203.0.113.77", "network", "203.0.113.0"),
        ("2001:db8:abcd:12:1:2:3:4", "network", "2001:db8:abcd::"),
        ("not an address", "network", ""),
    ],
)
def test_anonymize_ip(address: str, mode: str, kept: str) -> None:
    assert anonymize_ip(address, mode=mode) == kept


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


def test_csv_export_has_fixed_columns_and_defuses_formulas(
    api: APIClient, anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(name="Report")
    streamed_body(
        anon.get(
            f"/api/shares/{archive.slug}/download?src=mail",
            HTTP_USER_AGENT='=HYPERLINK("http://evil")',
            HTTP_REFERER="https://example.org/a,b",
        )
    )

    response = api.get(f"/api/archives/{archive.pk}/downloads.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="Report-downloads.csv"' in response["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0] == [
        "at", "ip", "referer", "user_agent", "source", "recipient", "bytes_sent", "completed",
    ]  # fmt: skip
    assert table[1][1:] == [
        "127.0.0.1", "https://example.org/a,b", "'=HYPERLINK(\"http://evil\")", "mail", "",
        str(archive.size), "yes",
    ]  # fmt: skip


def test_csv_export_of_someone_elses_archive_is_404(
    api: APIClient, make_archive: Callable[..., Archive], other_user: User
) -> None:
    archive = make_archive(owner=other_user)

    assert api.get(f"/api/archives/{archive.pk}/downloads.csv").status_code == 404
