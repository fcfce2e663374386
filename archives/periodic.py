"""The Celery tasks beat runs (``CELERY_BEAT_SCHEDULE``): each calls one function."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from archives.integrity import scrub_archives
from archives.orphans import remove_orphan_files
from archives.services import purge_expired, purge_old_downloads, requeue_stalled_builds


@shared_task
def purge_expired_task() -> int:
    return purge_expired(now=timezone.now())


@shared_task
def requeue_stalled_builds_task() -> int:
    return requeue_stalled_builds(now=timezone.now())


@shared_task
def purge_old_downloads_task() -> int:
    return purge_old_downloads(now=timezone.now())


@shared_task
def scrub_archives_task() -> int:
    return len(scrub_archives(now=timezone.now(), budget=settings.SCRUB_BYTES_PER_RUN))


@shared_task
def remove_orphan_files_task() -> int:
    return len(remove_orphan_files(now=timezone.now()))
