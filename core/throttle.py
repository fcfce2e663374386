"""Counting failed attempts and refusing further ones, per scope and key, in a window.

A guess is reserved (``reserve_attempt``) before it is checked, and given back
(``release_attempt``) when it was right, so at most the limit of guesses is ever checked
per window however many arrive in parallel. Exact under parallel requests: every count is
a conditional UPDATE (or an INSERT that a unique constraint keeps single), never
read-then-write.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F

from core.models import FailureWindow

if TYPE_CHECKING:
    from collections.abc import Iterable
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


def reserve_attempt(scope: str, key: str, *, limit: int, window: int, now: datetime) -> int | None:
    """Count one attempt of ``key`` before it is checked; return None when it may be
    checked, or the seconds until it may try again when ``limit`` attempts of the
    window are used. A window that has passed starts again at ``now``.

    Every step is one conditional UPDATE (or an INSERT the unique constraint keeps
    single), so whatever the parallelism at most ``limit`` attempts per window are ever
    let through. Give a reservation back with ``release_attempt``.
    """
    span = timedelta(seconds=window)
    rows = FailureWindow.objects.filter(scope=scope, key=key)
    # A parallel request may restart the window or create the row between our
    # statements; each try repeats the same conditional statements.
    for _ in range(3):
        if rows.filter(window_start__gt=now - span, failures__lt=limit).update(
            failures=F("failures") + 1
        ):
            return None
        if rows.filter(window_start__lte=now - span).update(window_start=now, failures=1):
            return None
        # Refusing on a read is safe: it never lets an attempt more through.
        blocked = seconds_blocked(scope, key, limit=limit, window=window, now=now)
        if blocked is not None:
            return blocked
        try:
            with transaction.atomic():
                FailureWindow.objects.create(scope=scope, key=key, window_start=now, failures=1)
        except IntegrityError:
            continue
        return None
    # Still racing after three tries: refuse for a second rather than risk an extra guess.
    return 1


def reserve_attempts(checks: Iterable[tuple[str, str, int, int]], *, now: datetime) -> int | None:
    """``reserve_attempt`` in each count of ``checks`` (scope, key, limit, window), in
    order. When one is used up, give back what this call took there before and return its
    seconds to wait: a refused attempt, never checked, counts nowhere."""
    reserved: list[tuple[str, str]] = []
    for scope, key, limit, window in checks:
        blocked = reserve_attempt(scope, key, limit=limit, window=window, now=now)
        if blocked is not None:
            for taken in reserved:
                release_attempt(*taken)
            return blocked
        reserved.append((scope, key))
    return None


def release_attempt(scope: str, key: str) -> None:
    """Give back one reserved attempt of ``key`` (it was not a failure)."""
    FailureWindow.objects.filter(scope=scope, key=key, failures__gt=0).update(
        failures=F("failures") - 1
    )


def forget_failures(scope: str, key: str) -> None:
    """Remove every failure counted for ``key``."""
    FailureWindow.objects.filter(scope=scope, key=key).delete()


def purge_failure_windows(*, older_than: datetime) -> int:
    """Remove windows that started before ``older_than``; return how many."""
    deleted, _ = FailureWindow.objects.filter(window_start__lt=older_than).delete()
    return deleted
