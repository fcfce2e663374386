from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.utils import timezone

from archives.stats import archive_stats, referring_host
from sharing.downloads import Share, record_download

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import APIClient

    from archives.models import Archive

pytestmark = pytest.mark.django_db


def download_at(archive: Archive, moment: datetime, referer: str = "") -> None:
    with time_machine.travel(moment, tick=False):
        assert record_download(
            Share(archive), client="192.0.2.1", referer=referer, user_agent="ua", now=timezone.now()
        )


def test_days_are_zero_filled_and_counted(
    api: APIClient, make_archive: Callable[..., Archive]
) -> None:
    start = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        archive = make_archive(ttl=30 * 86400)
    download_at(archive, start)
    download_at(archive, start + timedelta(hours=1))
    download_at(archive, start + timedelta(days=2))

    with time_machine.travel(start + timedelta(days=3), tick=False):
        body = api.get(f"/api/archives/{archive.id}/stats/?days=5").json()

    assert body["total_downloads"] == 3
    assert body["days"] == [
        {"date": "2026-03-09", "downloads": 0, "completed": 0},
        {"date": "2026-03-10", "downloads": 2, "completed": 0},
        {"date": "2026-03-11", "downloads": 0, "completed": 0},
        {"date": "2026-03-12", "downloads": 1, "completed": 0},
        {"date": "2026-03-13", "downloads": 0, "completed": 0},
    ]


def test_days_follow_the_site_time_zone(
    make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    settings.TIME_ZONE = "Europe/Moscow"
    start = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)  # 01:30 on the 11th in Moscow
    with time_machine.travel(start, tick=False):
        archive = make_archive()
    download_at(archive, start)

    with timezone.override("Europe/Moscow"):
        stats = archive_stats(archive, days=2, now=start)

    assert stats["days"] == [
        {"date": date(2026, 3, 10), "downloads": 0, "completed": 0},
        {"date": date(2026, 3, 11), "downloads": 1, "completed": 0},
    ]


def test_default_is_thirty_days(api: APIClient, make_archive: Callable[..., Archive]) -> None:
    archive = make_archive()

    body = api.get(f"/api/archives/{archive.id}/stats/").json()

    assert len(body["days"]) == 30
    assert body["days"][-1]["date"] == timezone.localdate().isoformat()


def test_top_referrers_group_by_host_with_direct(
    api: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    now = timezone.now()
    for referer in [
        "https://t.me/chat/1",
        "https://t.me/chat/2",
        "https://mail.example.org/inbox",
        "",
        "https://t.me/other",
        "",
        "not a url",
    ]:
        download_at(archive, now, referer)

    body = api.get(f"/api/archives/{archive.id}/stats/").json()

    assert body["top_referrers"] == [
        # Ties are ordered by name.
        {"referer": "(direct)", "downloads": 3},
        {"referer": "t.me", "downloads": 3},
        {"referer": "mail.example.org", "downloads": 1},
    ]


def test_top_referrers_are_at_most_ten(make_archive: Callable[..., Archive]) -> None:
    archive = make_archive()
    now = timezone.now()
    for n in range(12):
        download_at(archive, now, f"https://site{n}.example/")

    assert len(archive_stats(archive, days=1, now=now)["top_referrers"]) == 10


@pytest.mark.parametrize(
    ("referer", "host"),
    [("", "(direct)"), ("https://A.example:8443/x", "a.example"), ("garbage", "(direct)")],
)
def test_referring_host(referer: str, host: str) -> None:
    assert referring_host(referer) == host
