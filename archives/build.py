"""The archive's build, from claim to ready: the lifecycle around the compression engine.

``build_archive`` claims a pending archive with one conditional UPDATE, stages its sources,
has the engine (``archives.zipping``) write the ZIP beside the final one while progress
(real bytes) is written at most every ``BUILD_PROGRESS_INTERVAL`` seconds, doubling as the
heartbeat the reaper watches, verifies the file, publishes it and marks the archive ready,
or failed with a readable message. Each status change is one function here, one
conditional UPDATE, so a duplicate or late message finds nothing to do. Database work stays
on the calling thread: the engine's threads only read files and compute.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from archives import storage
from archives.events import notify
from archives.models import Archive, ArchiveFile, Status
from archives.storage import StorageError
from archives.thumbnails import make_thumbnails
from archives.zipping.pipeline import BuildError, BuiltZip, Source, verify_zip, write_zip
from archives.zipping.sniffing import IMAGE
from core import metrics
from notifications.models import Event

if TYPE_CHECKING:
    from collections.abc import Generator
    from datetime import datetime
    from pathlib import Path

    from django.db.models import QuerySet

logger = logging.getLogger(__name__)

# Storage that is full, over quota, failing or slow often works again later; a source that
# is missing or changed, or a ZIP that does not verify, stays so.
TRANSIENT_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EIO,
        errno.ETIMEDOUT,
        errno.EAGAIN,
        errno.EBUSY,
        errno.EROFS,
        errno.ENETUNREACH,
        errno.ECONNRESET,
        errno.ECONNREFUSED,
    }
)


class TransientBuildError(Exception):
    """The build failed for a passing reason (``is_transient``) and the archive went back
    to pending with the error kept (``defer_build``): the build is to be tried again."""


def is_transient(exc: BaseException) -> bool:
    """Whether a build that failed with ``exc`` may succeed later: full, failing or
    unreachable storage (a bucket's ``StorageError`` included); never a ``BuildError``."""
    if isinstance(exc, StorageError):
        return True
    return isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS


@dataclass(frozen=True)
class MemberResult:
    """What the build learnt of one member: its sha256, its preview and media type (from
    its first bytes), where its data lies in the ZIP and an image's thumbnail."""

    position: int
    sha256: str
    preview: str = ""
    content_type: str = ""
    method: int | None = None
    data_offset: int | None = None
    compressed_size: int | None = None
    thumbnail: bytes = b""


def start_build(archive_id: str, *, now: datetime) -> bool:
    """Claim a pending build (pending → building); False when someone else has it."""
    claimed = Archive.objects.filter(pk=archive_id, status=Status.PENDING).update(
        status=Status.BUILDING,
        progress=0,
        error="",
        heartbeat_at=now,
        build_attempts=F("build_attempts") + 1,
    )
    return claimed == 1


def report_progress(archive_id: str, *, progress: int, now: datetime) -> bool:
    """Record progress and a heartbeat; False when the build is no longer ours."""
    updated = Archive.objects.filter(pk=archive_id, status=Status.BUILDING).update(
        progress=min(max(progress, 0), 99), heartbeat_at=now
    )
    return updated == 1


def finish_build(
    archive_id: str,
    *,
    zip_name: str,
    size: int,
    sha256: str,
    members: list[MemberResult],
    now: datetime,
) -> bool:
    """Mark the build ready (building → ready); its sources are removed afterwards
    (``remove_sources``, queued by the build task once this committed).

    Returns False, and leaves everything as it was, when the archive was deleted or reset
    meanwhile; the caller then removes the ZIP it built.
    """
    with transaction.atomic():
        done = Archive.objects.filter(pk=archive_id, status=Status.BUILDING).update(
            status=Status.READY,
            progress=100,
            size=size,
            sha256=sha256,
            zip_name=zip_name,
            built_at=now,
            heartbeat_at=now,
        )
        if done != 1:
            return False
        record_members(archive_id, members)
        notify(Event.READY, Archive.objects.get(pk=archive_id), now=now)
    return True


_MEMBER_FIELDS = (
    "sha256",
    "preview",
    "content_type",
    "method",
    "data_offset",
    "compressed_size",
    "thumbnail",
)


def record_members(archive_id: str, members: list[MemberResult]) -> None:
    """Each member's sha256, preview and place in the ZIP. One statement run for every
    member (executemany): an archive may hold tens of thousands of files, and
    ``bulk_update`` would build and resolve a CASE expression over all of them in
    Python."""
    quote = connection.ops.quote_name
    table, archive, position = map(quote, (ArchiveFile._meta.db_table, "archive_id", "position"))
    assignments = ", ".join(f"{quote(field)} = %s" for field in _MEMBER_FIELDS)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE {archive} = %s AND {position} = %s",
            [
                (*(getattr(member, field) for field in _MEMBER_FIELDS), archive_id, member.position)
                for member in members
            ],
        )


def remove_sources(archive_id: str) -> int:
    """Forget the names of a ready archive's stored sources, then remove the files;
    return how many there were.

    The names go first: a worker that dies, or storage that fails, between the two leaves
    files that no row names, which the orphan sweep removes once ``ORPHAN_GRACE_SECONDS``
    have passed; never a row naming a file that is gone. Safe to run twice; does nothing
    for an archive that is not ready. Raises ``OSError`` when storage fails.
    """
    files = ArchiveFile.objects.filter(archive_id=archive_id, archive__status=Status.READY).exclude(
        source_name=""
    )
    names = list(files.values_list("source_name", flat=True))
    if names:
        files.filter(source_name__in=names).update(source_name="")
        storage.delete_many(names)
    return len(names)


def fail_build(archive_id: str, *, error: str, now: datetime) -> bool:
    """Mark the build failed with a readable ``error``; the sources stay."""
    with transaction.atomic():
        updated = Archive.objects.filter(
            pk=archive_id, status__in=[Status.PENDING, Status.BUILDING]
        ).update(status=Status.FAILED, error=error[:2000], heartbeat_at=now)
        if updated == 1:
            notify(Event.FAILED, Archive.objects.get(pk=archive_id), now=now)
    return updated == 1


def defer_build(archive_id: str, *, error: str, retry_at: datetime) -> bool:
    """Put a build that failed for a passing reason back to pending (building → pending),
    keeping its ``error`` for the owner to see until it is tried again.

    ``queued_at`` is set to ``retry_at``, when the retry is due, so the reaper leaves the
    archive to that retry instead of queuing another build. Returns False when the build
    is no longer ours.
    """
    updated = Archive.objects.filter(pk=archive_id, status=Status.BUILDING).update(
        status=Status.PENDING, progress=0, error=error[:2000], queued_at=retry_at
    )
    return updated == 1


def retry_failed_build(archive_id: str, *, now: datetime) -> bool:
    """Put a failed build back to pending (failed → pending) with its attempts counted
    from zero; False when the archive is not failed (already retried, or built)."""
    updated = Archive.objects.filter(pk=archive_id, status=Status.FAILED).update(
        status=Status.PENDING, progress=0, build_attempts=0, queued_at=now, heartbeat_at=None
    )
    return updated == 1


def reset_build(archive_id: str, *, stalled_before: datetime, now: datetime) -> bool:
    """Put a build with no heartbeat since ``stalled_before`` back to pending."""
    updated = Archive.objects.filter(
        pk=archive_id, status=Status.BUILDING, heartbeat_at__lt=stalled_before
    ).update(status=Status.PENDING, progress=0, queued_at=now)
    return updated == 1


class ProgressReporter:
    """Turns bytes written into a percentage written at a bounded rate."""

    def __init__(self, archive_id: str, *, total: int, interval: float) -> None:
        self.archive_id = archive_id
        self.total = max(total, 1)
        self.interval = interval
        self.done = 0
        self._last_write = time.monotonic()

    def add(self, count: int) -> None:
        """Count ``count`` more bytes; raises ``BuildError`` when the build is no longer
        ours (the archive was deleted or reset meanwhile)."""
        self.done += count
        moment = time.monotonic()
        if moment - self._last_write < self.interval:
            return
        self._last_write = moment
        percent = self.done * 100 // self.total
        if not report_progress(self.archive_id, progress=percent, now=timezone.now()):
            raise BuildError("The archive was deleted or reset during its build.")


def read_sources(files: QuerySet[ArchiveFile]) -> list[Source]:
    """The members of ``files`` with the folders and entries of their stored sources (each
    opened later without following links). Raises ``BuildError`` for a name outside the
    storage root."""
    rows = list(files.values_list("position", "name", "original_name", "size", "source_name"))
    try:
        entries = list(storage.local_entries(source_name for *_, source_name in rows))
    except SuspiciousFileOperation as exc:
        raise BuildError("An uploaded file is stored outside the storage folder.") from exc
    return [
        Source(position, name, original_name, folder, entry, size)
        for (position, name, original_name, size, _), (folder, entry) in zip(
            rows, entries, strict=True
        )
    ]


def build_archive(archive_id: str, *, retry_in: float | None = None) -> bool:
    """Build the ZIP of a pending archive and publish it; return whether it became ready
    (then its sources are to be removed: ``remove_sources``).

    With ``retry_in`` (seconds until the next try), a build that fails for a passing
    reason (``is_transient``) is put back to pending (``defer_build``) and
    ``TransientBuildError`` raised; without it, it fails like any other.

    Returns False quietly when the archive is gone or another worker claimed it.
    Afterwards the archive is ``ready`` with its ZIP in storage, or ``failed`` with its
    error and its sources kept; no partial ZIP remains either way. A build that ends,
    either way, is counted with its wall time (``core.metrics.count_build``).
    """
    if not start_build(archive_id, now=timezone.now()):
        return False
    archive = Archive.objects.filter(pk=archive_id).first()
    if archive is None:
        return False
    started = time.monotonic()
    with collector_paused():
        result = _build(archive, retry_in=retry_in)
    if result is not None:
        metrics.count_build(result.value, seconds=time.monotonic() - started)
    return result == Status.READY


@contextlib.contextmanager
def collector_paused() -> Generator[None]:
    """Run the block without Python's cyclic garbage collector.

    A build keeps a few small records per member until it ends, and none of them refers
    back to itself, so reference counting frees everything. The collector would still
    walk them, with all of Django, whenever they pile up: measured on 20,000 small
    files, one full pass held every thread for 0.1 s of a 0.9 s build.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _build(archive: Archive, *, retry_in: float | None) -> Status | None:
    """Build, verify and publish; return the status the build ended in, None when the
    archive was deleted or reset meanwhile. Raises ``TransientBuildError`` when the
    build was deferred (see ``build_archive``)."""
    archive_id = archive.pk
    temporary = storage.temporary_zip_path(archive_id)
    progress = ProgressReporter(
        archive_id, total=archive.source_size, interval=settings.BUILD_PROGRESS_INTERVAL
    )
    level = min(settings.BUILD_COMPRESSION_LEVEL, 9)
    try:
        names = archive.files.values_list("source_name", flat=True)
        with storage.staged_sources(names, keep_alive=lambda: progress.add(0)):
            sources = read_sources(archive.files.all())
            built = write_zip(temporary, sources, level=level, progress=progress.add)
        verify_zip(temporary, built)
        members = _member_results(temporary, built)
        name = storage.publish_zip(temporary, archive_id)
    except (BuildError, OSError) as exc:
        temporary.unlink(missing_ok=True)
        logger.warning("build of %s failed: %s", archive_id, exc)
        if retry_in is not None and is_transient(exc):
            now = timezone.now()
            retry_at = now + timedelta(seconds=retry_in)
            if defer_build(archive_id, error=_describe(exc), retry_at=retry_at):
                raise TransientBuildError(_describe(exc)) from exc
            return None
        failed = fail_build(archive_id, error=_describe(exc), now=timezone.now())
        return Status.FAILED if failed else None
    except BaseException:
        # Time limits and shutdowns: leave no partial file; the reaper re-queues the build.
        temporary.unlink(missing_ok=True)
        raise
    if not finish_build(
        archive_id,
        zip_name=name,
        size=built.size,
        sha256=built.sha256,
        members=members,
        now=timezone.now(),
    ):
        storage.delete(name)
        return None
    return Status.READY


def _member_results(zip_path: Path, built: BuiltZip) -> list[MemberResult]:
    """What the build records of each member; image members get their thumbnails, made
    from the ZIP at ``zip_path``."""
    images = [m.entry.name for m in built.members if m.sniffed and m.sniffed.preview == IMAGE]
    thumbnails = make_thumbnails(zip_path, images)
    return [
        MemberResult(
            position=member.source.position,
            sha256=member.sha256,
            preview=member.sniffed.preview if member.sniffed else "",
            content_type=member.sniffed.content_type if member.sniffed else "",
            method=member.entry.method,
            data_offset=member.entry.data_offset,
            compressed_size=member.entry.compressed_size,
            thumbnail=thumbnails.get(member.entry.name, b""),
        )
        for member in built.members
    ]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"The archive could not be written: {exc.strerror or exc}."
    return str(exc)
