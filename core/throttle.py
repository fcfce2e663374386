"""Counting failed attempts and refusing further ones, per scope and key, in a window.

Exact under parallel requests: every count is a conditional UPDATE (or an INSERT that a
unique constraint keeps single), never read-then-write.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F

from core.models import FailureWindow

if TYPE_CHECKING:
    from datetime import datetime


def seconds_blocked(scope: str, key: str, *, limit: int, window: int, now: datetime) -> int | None:
    """Seconds until ``key`` may try again after ``limit`` failures, or None if it may."""
    span = timedelta(seconds=window)
    row = (
        FailureWindow.objects.filter(
            scope=scope, key=key, window_start__gt=now - span, failures__gte=limit
        )
        .only("window_start")
        .first()
    )
    if row is None:
        return None
    return max(int((row.window_start + span - now).total_seconds()) + 1, 1)


def record_failure(scope: str, key: str, *, window: int, now: datetime) -> None:
    """Count one failure of ``key``; a window that has passed starts again at ``now``."""
    oldest = now - timedelta(seconds=window)
    rows = FailureWindow.objects.filter(scope=scope, key=key)
    if rows.filter(window_start__gt=oldest).update(failures=F("failures") + 1):
        return
    if rows.filter(window_start__lte=oldest).update(window_start=now, failures=1):
        return
    try:
        with transaction.atomic():
            FailureWindow.objects.create(scope=scope, key=key, window_start=now, failures=1)
    except IntegrityError:
        # A parallel request created the row first: count on it.
        rows.update(failures=F("failures") + 1)


def forget_failures(scope: str, key: str) -> None:
    FailureWindow.objects.filter(scope=scope, key=key).delete()


def purge_failure_windows(*, older_than: datetime) -> int:
    """Remove windows that started before ``older_than``; return how many."""
    deleted, _ = FailureWindow.objects.filter(window_start__lt=older_than).delete()
    return deleted
