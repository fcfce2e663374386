from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from core.throttle import purge_failure_windows

# Longer than any throttle window, so a purge never shortens a pause.
KEEP_WINDOWS = timedelta(days=1)


@shared_task
def purge_failure_windows_task() -> int:
    return purge_failure_windows(older_than=timezone.now() - KEEP_WINDOWS)
