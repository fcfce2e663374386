"""Celery tasks: each loads by id and calls one function."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from archives.build import build_archive
from archives.integrity import scrub_archives
from archives.services import (
    purge_expired,
    purge_old_downloads,
    remove_archive_files,
    remove_sources,
    requeue_stalled_builds,
)


# acks_late + reject_on_worker_lost: on Redis a worker killed mid-build returns the
# message to the queue; the conditional claim in start_build makes a redelivery harmless.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def build_archive_task(archive_id: str) -> None:
    build_archive(archive_id)


# Redelivered if its worker dies midway: the rows name the sources until they are gone.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def remove_sources_task(archive_id: str) -> int:
    return remove_sources(archive_id)


# Storage that failed (a bucket's outage, a disk remounted read-only) often answers
# again later: retried with growing pauses, for about a day. Removing twice is harmless.
@shared_task(
    autoretry_for=(OSError,),  # StorageError for a bucket; OSError from a local disk
    retry_backoff=60,
    retry_backoff_max=6 * 3600,
    retry_jitter=True,
    max_retries=12,
)
def remove_archive_files_task(archive_id: str, names: list[str]) -> None:
    remove_archive_files(archive_id, names)


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
