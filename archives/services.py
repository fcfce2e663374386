"""Every write to archives: create, edit, delete, build transitions and cleanup."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F, Max
from django.shortcuts import get_object_or_404

from archives import storage
from archives.limits import check_upload_limits
from archives.models import Archive, ArchiveFile, Status
from archives.names import unique_names

if TYPE_CHECKING:
    from datetime import datetime

    from django.core.files.uploadedfile import UploadedFile

    from accounts.models import User

logger = logging.getLogger(__name__)

_UNSET = object()


@dataclass(frozen=True)
class MemberResult:
    """What the build learnt of one member: its sha256."""

    position: int
    sha256: str


def enqueue_build(archive_id: str) -> None:
    """Queue the build; a broker that is down leaves the archive pending for the reaper."""
    from archives.tasks import build_archive_task

    try:
        build_archive_task.delay(archive_id)
    except Exception:  # kombu raises several unrelated types for an unreachable broker
        logger.warning("could not queue the build of %s; the reaper retries", archive_id)


def create_archive(
    owner: User,
    *,
    files: list[UploadedFile],
    name: str,
    description: str,
    password: str,
    ttl: int,
    max_downloads: int | None,
    now: datetime,
    paths: list[str] | None = None,
) -> Archive:
    """Store ``files`` as a new pending archive of ``owner`` and queue its build.

    ``paths``, when given, are the files' relative paths (a dropped folder keeps its
    structure inside the ZIP); otherwise the files' own names are used. Raises
    ``LimitExceeded`` before anything is stored. On any error while storing, the files
    already stored are removed and no row remains.
    """
    sizes = [upload.size or 0 for upload in files]
    check_upload_limits(owner, sizes=sizes)
    wanted = paths if paths else [upload.name or "" for upload in files]
    names = unique_names(wanted)
    archive = Archive(
        owner=owner,
        name=name,
        description=description,
        password=make_password(password) if password else "",
        expires_at=now + timedelta(seconds=ttl),
        max_downloads=max_downloads,
        source_size=sum(sizes),
        created_at=now,
        queued_at=now,
    )
    stored: list[str] = []
    try:
        with transaction.atomic():
            archive.save(force_insert=True)
            rows = []
            for position, (upload, member_name) in enumerate(zip(files, names, strict=True)):
                source = storage.source_name(archive.id, position)
                storage.save_source(source, upload)
                stored.append(source)
                rows.append(
                    ArchiveFile(
                        archive=archive,
                        position=position,
                        name=member_name,
                        original_name=wanted[position][:1024],
                        size=sizes[position],
                        source_name=source,
                    )
                )
            ArchiveFile.objects.bulk_create(rows)
            transaction.on_commit(lambda: enqueue_build(archive.id))
    except BaseException:
        for source in stored:
            storage.delete(source)
        raise
    return archive


def update_archive(
    archive: Archive,
    *,
    now: datetime,
    name: str | None = None,
    description: str | None = None,
    password: object = _UNSET,
    ttl: int | None = None,
    max_downloads: object = _UNSET,
) -> Archive:
    """Apply the owner's changes; ``password=""`` clears it, ``max_downloads=None`` too.

    Only the named columns are written, so a download counted meanwhile is never lost.
    Returns the archive as stored afterwards.
    """
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = name
    if description is not None:
        changes["description"] = description
    if password is not _UNSET:
        changes["password"] = make_password(str(password)) if password else ""
    if ttl is not None:
        changes["expires_at"] = now + timedelta(seconds=ttl)
    if max_downloads is not _UNSET:
        changes["max_downloads"] = max_downloads
    if changes:
        Archive.objects.filter(pk=archive.pk).update(**changes)
    return Archive.objects.get(pk=archive.pk)


def delete_archive(archive: Archive) -> None:
    """Delete the archive, its log and, once committed, its files."""
    names = [archive.zip_name, *archive.files.values_list("source_name", flat=True)]
    archive_id = archive.id
    with transaction.atomic():
        archive.delete()
        transaction.on_commit(lambda: _remove_files(archive_id, names))


def _remove_files(archive_id: str, names: list[str]) -> None:
    for name in names:
        storage.delete(name)
    storage.remove_partial_builds(archive_id)


# Build transitions: each is one conditional UPDATE, so a duplicate or late message finds
# nothing to do.


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
    """Mark the build ready (building → ready) and let its sources leave storage.

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
        sources = []
        for member in members:
            row = ArchiveFile.objects.filter(archive_id=archive_id, position=member.position)
            sources.extend(row.values_list("source_name", flat=True))
            row.update(sha256=member.sha256, source_name="")
        transaction.on_commit(lambda: [storage.delete(name) for name in sources])
    return True


def fail_build(archive_id: str, *, error: str, now: datetime) -> bool:
    """Mark the build failed with a readable ``error``; the sources stay."""
    updated = Archive.objects.filter(
        pk=archive_id, status__in=[Status.PENDING, Status.BUILDING]
    ).update(status=Status.FAILED, error=error[:2000], heartbeat_at=now)
    return updated == 1


def reset_build(archive_id: str, *, stalled_before: datetime, now: datetime) -> bool:
    """Put a build with no heartbeat since ``stalled_before`` back to pending."""
    updated = Archive.objects.filter(
        pk=archive_id, status=Status.BUILDING, heartbeat_at__lt=stalled_before
    ).update(status=Status.PENDING, progress=0, queued_at=now)
    return updated == 1


def requeue_stalled_builds(*, now: datetime) -> int:
    """Re-queue builds lost with their worker or their message; return how many.

    A build that stalled ``BUILD_MAX_ATTEMPTS`` times is failed instead, so a file that
    kills the worker cannot loop forever.
    """
    before = now - timedelta(seconds=settings.BUILD_STALL_SECONDS)
    count = 0
    for archive_id, status, attempts in Archive.objects.stalled(before=before).values_list(
        "id", "status", "build_attempts"
    ):
        if status == Status.BUILDING and attempts >= settings.BUILD_MAX_ATTEMPTS:
            fail_build(
                archive_id,
                error=f"The build stopped {attempts} times without finishing.",
                now=now,
            )
            continue
        if status == Status.BUILDING:
            requeued = reset_build(archive_id, stalled_before=before, now=now)
        else:
            requeued = (
                Archive.objects.filter(
                    pk=archive_id, status=Status.PENDING, queued_at__lt=before
                ).update(queued_at=now)
                == 1
            )
        if requeued:
            storage.remove_partial_builds(archive_id)
            enqueue_build(archive_id)
            count += 1
    return count


def purge_expired(*, now: datetime) -> int:
    """Remove the files of expired and used-up archives; keep the rows. Return how many.

    A used-up archive waits ``DOWNLOAD_GRANT_TTL`` after its last download, so the holder
    of a download grant can still resume. Safe to run twice or beside downloads: each
    archive is claimed by a conditional UPDATE first.
    """
    grace = now - timedelta(seconds=settings.DOWNLOAD_GRANT_TTL)
    candidates = (
        Archive.objects.expired(now=now)
        .filter(purged_at__isnull=True)
        .annotate(last_download=Max("downloads__at"))
        .values_list("pk", "expires_at", "zip_name", "last_download")
    )
    count = 0
    for archive_id, expires_at, zip_file, last_download in candidates:
        if expires_at > now and last_download is not None and last_download > grace:
            continue
        claimed = Archive.objects.filter(pk=archive_id, purged_at__isnull=True).update(
            status=Status.EXPIRED, purged_at=now, zip_name=""
        )
        if claimed != 1:
            continue
        files = ArchiveFile.objects.filter(archive_id=archive_id)
        sources = list(files.values_list("source_name", flat=True))
        files.update(source_name="")
        _remove_files(archive_id, [zip_file, *sources])
        count += 1
    return count


def get_owned_archive(user: User, archive_id: str) -> Archive:
    """The archive ``archive_id`` of ``user``; ``Http404`` for anyone else's, so ids of
    other people's archives cannot be told from unknown ones."""
    return get_object_or_404(Archive.objects.owned_by(user), pk=archive_id)
