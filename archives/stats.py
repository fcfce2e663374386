"""Read-only aggregates of the download log for the dashboard and the stats API."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, TypedDict
from urllib.parse import urlsplit

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from archives.models import Download, Link

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import date, datetime

    from archives.models import Archive

DIRECT = "(direct)"
TOP = 10
OWN_LINK = "(own link)"


class DayCount(TypedDict):
    date: date
    # Downloads started (counted), and of those the ones whose bytes all went out.
    downloads: int
    completed: int


class RefererCount(TypedDict):
    referer: str
    downloads: int


class SourceCount(TypedDict):
    source: str
    downloads: int


class RecipientCount(TypedDict):
    # None: the archive's own link.
    link: str | None
    label: str
    views: int
    downloads: int
    completed: int


class ArchiveStats(TypedDict):
    total_views: int
    total_downloads: int
    total_completed: int
    days: list[DayCount]
    top_referrers: list[RefererCount]
    top_sources: list[SourceCount]
    recipients: list[RecipientCount]


def referring_host(referer: str) -> str:
    """The host a referer names, ``(direct)`` when there is none."""
    if not referer:
        return DIRECT
    host = urlsplit(referer.strip()).hostname
    return host or DIRECT


def archive_stats(archive: Archive, *, days: int, now: datetime) -> ArchiveStats:
    """Views and downloads of ``archive``: all-time totals; per day for the last ``days``
    days in the site's time zone (today included, every day present) downloads started
    and completed; over those days the top referring hosts and ``?src=`` sources; and
    per recipient link (the archive's own link first) views, downloads and completions.
    """
    zone = timezone.get_current_timezone()
    today = timezone.localtime(now, zone).date()
    first = today - timedelta(days=days - 1)
    log = Download.objects.filter(archive=archive)
    window = log.filter(at__date__gte=first, at__date__lte=today)
    per_day = {
        day: (started, completed)
        for day, started, completed in window.annotate(day=TruncDate("at", tzinfo=zone))
        .values("day")
        .annotate(started=Count("id"), done=Count("id", filter=Q(completed=True)))
        .values_list("day", "started", "done")
    }
    hosts: Counter[str] = Counter()
    for referer, count in (
        window.values("referer").annotate(n=Count("id")).values_list("referer", "n")
    ):
        hosts[referring_host(referer)] += count
    sources = window.exclude(source="").values("source").annotate(n=Count("id"))
    by_link = {
        link_id: (started, completed)
        for link_id, started, completed in log.values("link")
        .annotate(started=Count("id"), done=Count("id", filter=Q(completed=True)))
        .values_list("link", "started", "done")
    }
    own = by_link.get(None, (0, 0))
    recipients: list[RecipientCount] = [
        {
            "link": None,
            "label": OWN_LINK,
            "views": archive.view_count,
            "downloads": own[0],
            "completed": own[1],
        }
    ]
    for link in Link.objects.filter(archive=archive):
        started, completed = by_link.get(link.pk, (0, 0))
        recipients.append(
            {
                "link": link.pk,
                "label": link.label,
                "views": link.view_count,
                "downloads": started,
                "completed": completed,
            }
        )
    return {
        "total_views": sum(row["views"] for row in recipients),
        "total_downloads": log.count(),
        "total_completed": log.filter(completed=True).count(),
        "days": [
            {
                "date": day,
                "downloads": per_day.get(day, (0, 0))[0],
                "completed": per_day.get(day, (0, 0))[1],
            }
            for day in (first + timedelta(days=offset) for offset in range(days))
        ],
        "top_referrers": [
            {"referer": host, "downloads": count} for host, count in _top(hosts.items())
        ],
        "top_sources": [
            {"source": source, "downloads": count}
            for source, count in _top(sources.values_list("source", "n"))
        ],
        "recipients": recipients,
    }


def _top(counts: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """The ``TOP`` largest counts, ties by name."""
    return sorted(counts, key=lambda item: (-item[1], item[0]))[:TOP]
