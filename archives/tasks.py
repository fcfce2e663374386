"""Celery tasks the archives queue themselves (the build, the removal of its sources, the
removal of a deleted archive's files, the reading of an old archive's members), and the
functions that queue them: each task takes
ids and calls one function of the build or of storage.

Nothing here imports ``archives.services`` (a contract in pyproject.toml): services queue
these tasks, so the tasks stay below them. The tasks beat runs are in
``archives.periodic``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import transaction

from archives.build import TransientBuildError, build_archive, remove_sources
from archives.indexing import index_members
from archives.storage import remove_archive_files

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)

# A build that failed for a passing reason (full or failing storage) is tried again after
# a growing pause: up to BUILD_RETRY_BACKOFF_MAX seconds, BUILD_RETRIES times.
BUILD_RETRY_BACKOFF = 30
BUILD_RETRY_BACKOFF_MAX = 3600


def enqueue_build(archive_id: str) -> None:
    """Queue the build; a broker that is down leaves the archive pending for the reaper."""
    try:
        build_archive_task.delay(archive_id)
    except Exception:  # kombu raises several unrelated types for an unreachable broker
        logger.warning("could not queue the build of %s; the reaper retries", archive_id)


def enqueue_source_removal(archive_id: str) -> None:
    """Queue the removal of a built archive's sources. A broker that is down leaves them
    named by their rows, so purging or deleting the archive removes them later."""
    try:
        remove_sources_task.delay(archive_id)
    except Exception:  # kombu raises several unrelated types for an unreachable broker
        logger.warning("could not queue the removal of the sources of %s", archive_id)


def enqueue_file_removal(archive_id: str, names: list[str]) -> None:
    """Queue the removal of a deleted archive's files. With the broker down too, they
    stay in storage, and the log names them."""
    try:
        remove_archive_files_task.delay(archive_id, names)
    except Exception:  # kombu raises several unrelated types for an unreachable broker
        logger.error("could not queue the removal of %s of deleted archive %s", names, archive_id)


def enqueue_member_index(archive_id: str) -> None:
    """Queue the reading of an archive's members from its stored ZIP; a broker that is
    down leaves it for the next visit after ``BUILD_STALL_SECONDS``."""
    try:
        index_members_task.delay(archive_id)
    except Exception:  # kombu raises several unrelated types for an unreachable broker
        logger.warning("could not queue the reading of the members of %s", archive_id)


# acks_late + reject_on_worker_lost: on Redis a worker killed mid-build returns the
# message to the queue; the conditional claim in start_build makes a redelivery harmless.
# A transient failure puts the archive back to pending and raises TransientBuildError, which
# Celery retries; the last try fails the archive with its message instead.
@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(TransientBuildError,),
    retry_backoff=BUILD_RETRY_BACKOFF,
    retry_backoff_max=BUILD_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=settings.BUILD_RETRIES,
)
def build_archive_task(self: Task, archive_id: str) -> None:
    retries = self.request.retries or 0
    retry_in = None
    if self.max_retries is None or retries < self.max_retries:
        # The longest pause Celery may choose (its jitter only shortens it).
        retry_in = get_exponential_backoff_interval(
            factor=BUILD_RETRY_BACKOFF, retries=retries, maximum=BUILD_RETRY_BACKOFF_MAX
        )
    if build_archive(archive_id, retry_in=retry_in):
        # Committed already in a worker; on commit for a caller inside a transaction.
        transaction.on_commit(lambda: enqueue_source_removal(archive_id))


# The rows forget the sources before the files go: a worker that dies midway leaves files
# that no row names, for the orphan sweep.
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


# Redelivered if its worker dies midway; a second run records only what is still missing.
@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OSError,), max_retries=3)
def index_members_task(archive_id: str) -> int:
    return index_members(archive_id)
