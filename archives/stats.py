"""Read-only aggregates of the download log for the dashboard and the stats API."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, TypedDict
from urllib.parse import urlsplit

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from archives.models import Download

if TYPE_CHECKING:
    from datetime import date, datetime

    from archives.models import Archive

DIRECT = "(direct)"
TOP_REFERRERS = 10


class DayCount(TypedDict):
    date: date
    downloads: int


class RefererCount(TypedDict):
    referer: str
    downloads: int


class ArchiveStats(TypedDict):
    total_downloads: int
    days: list[DayCount]
    top_referrers: list[RefererCount]


def referring_host(referer: str) -> str:
    """The host a referer names, ``(direct)`` when there is none."""
    if not referer:
        return DIRECT
    host = urlsplit(referer.strip()).hostname
    return host or DIRECT


def archive_stats(archive: Archive, *, days: int, now: datetime) -> ArchiveStats:
    """Downloads of ``archive``: all-time total, per day for the last ``days`` days in the
    site's time zone (today included, every day present), and the top referring hosts
    over those days."""
    zone = timezone.get_current_timezone()
    today = timezone.localtime(now, zone).date()
    first = today - timedelta(days=days - 1)
    log = Download.objects.filter(archive=archive)
    window = log.filter(at__date__gte=first, at__date__lte=today)
    per_day = dict(
        window.annotate(day=TruncDate("at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    hosts: Counter[str] = Counter()
    for referer, count in (
        window.values("referer").annotate(n=Count("id")).values_list("referer", "n")
    ):
        hosts[referring_host(referer)] += count
    return {
        "total_downloads": log.count(),
        "days": [
            {"date": day, "downloads": per_day.get(day, 0)}
            for day in (first + timedelta(days=offset) for offset in range(days))
        ],
        "top_referrers": [
            {"referer": host, "downloads": count}
            for host, count in sorted(hosts.items(), key=lambda item: (-item[1], item[0]))[
                :TOP_REFERRERS
            ]
        ],
    }
