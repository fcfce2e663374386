"""Every write to archives: create, edit, delete, build transitions and cleanup."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Max, Q
from django.shortcuts import get_object_or_404

from archives import storage
from archives.build import fail_build, reset_build, retry_failed_build
from archives.events import notify
from archives.indexing import unindexed_files
from archives.limits import Caps, check_upload_limits
from archives.models import Archive, ArchiveFile, AuditEntry, Download, Link, Status
from archives.names import name_from_file, recordable_original, unique_names
from archives.storage import remove_archive_files
from archives.tasks import enqueue_build, enqueue_file_removal, enqueue_member_index
from core import metrics
from notifications.models import Event
from resumable.services import take_finished_uploads

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from accounts.models import User

logger = logging.getLogger(__name__)

_UNSET = object()


def create_archive(
    owner: User,
    *,
    files: list[UploadedFile],
    name: str,
    description: str,
    password: str,
    ttl: int | None,
    max_downloads: int | None,
    now: datetime,
    paths: list[str] | None = None,
    caps: Caps | None = None,
    password_hash: str = "",
) -> Archive:
    """Store ``files`` as a new pending archive of ``owner``, queue its build and count
    the upload (``core.metrics``) once committed.

    An empty ``name`` gives the default name (``name_from_file`` of the first file), a
    ``ttl`` of None the default lifetime (``default_ttl``). ``paths``, when given, are
    the files' relative paths (a dropped folder keeps its structure inside the ZIP);
    otherwise the files' own names are used. ``caps`` are stricter limits of this upload
    (``check_upload_limits``); ``password_hash``, a password hashed already, stands for
    ``password`` (an upload request's archive password). Raises ``LimitExceeded`` before
    anything is stored, ``StorageFull`` when the disk is full. On any error while storing,
    the files already stored are removed and no row remains.
    """
    sizes = [upload.size or 0 for upload in files]
    wanted = paths if paths else [upload.name or "" for upload in files]
    names = unique_names(wanted)
    archive = Archive(
        owner=owner,
        name=name or name_from_file(files[0].name),
        description=description,
        password=make_password(password) if password else password_hash,
        expires_at=now + timedelta(seconds=ttl or default_ttl()),
        max_downloads=max_downloads,
        source_size=sum(sizes),
        created_at=now,
        queued_at=now,
    )
    stored: list[str] = []
    try:
        with transaction.atomic():
            check_upload_limits(owner, sizes=sizes, caps=caps)
            archive.save(force_insert=True)
            rows = []
            for position, (upload, member_name) in enumerate(zip(files, names, strict=True)):
                source = storage.source_name(archive.id, position)
                # Named before it is stored, so a failed save's folder is removed below too.
                stored.append(source)
                storage.save_source(source, upload)
                rows.append(
                    ArchiveFile(
                        archive=archive,
                        position=position,
                        name=member_name,
                        original_name=recordable_original(wanted[position]),
                        size=sizes[position],
                        source_name=source,
                    )
                )
            ArchiveFile.objects.bulk_create(rows)
            _audit(archive, action="create", now=now, new=f"{len(rows)} file(s)")
            if archive.password:
                _audit(archive, action="update", field="password", now=now, new="set")
            transaction.on_commit(lambda: enqueue_build(archive.id))
            transaction.on_commit(
                lambda: metrics.count_upload(files=len(rows), size=archive.source_size)
            )
    except BaseException:
        storage.delete_many(stored)
        raise
    return archive


def create_archive_from_uploads(
    owner: User,
    *,
    upload_ids: list[str],
    name: str,
    description: str,
    password: str,
    ttl: int | None,
    max_downloads: int | None,
    now: datetime,
) -> Archive:
    """Create a pending archive of ``owner`` from finished resumable uploads, in the order
    given, and queue its build; an empty ``name`` or a ``ttl`` of None get the defaults
    of ``create_archive``.

    The uploads' files are renamed into the archive's storage (no copy) and the uploads
    are consumed. Raises ``UploadsNotUsable`` for unknown, unfinished, expired or others'
    ids and ``LimitExceeded`` for an archive over a limit; then nothing is stored and the
    uploads stay.
    """
    with transaction.atomic():
        uploads = take_finished_uploads(owner, upload_ids, now=now)
        return create_archive(
            owner,
            files=[upload.file for upload in uploads],
            name=name,
            description=description,
            password=password,
            ttl=ttl,
            max_downloads=max_downloads,
            now=now,
            paths=[upload.relative_path or upload.filename for upload in uploads],
        )


def default_ttl() -> int:
    """The lifetime in seconds of an archive whose owner chose none
    (``ARCHIVE_DEFAULT_TTL``): the API's when ``ttl`` is left out, the upload page's
    preselected one."""
    return settings.ARCHIVE_DEFAULT_TTL


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

    Only the named columns are written, so a download counted meanwhile is never lost;
    each changed field gets an audit row. Returns the archive as stored afterwards.
    """
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = name
    if description is not None:
        changes["description"] = description
    expires_at = _UNSET if ttl is None else now + timedelta(seconds=ttl)
    _apply_changes(
        archive, changes, password=password, expires_at=expires_at,
        max_downloads=max_downloads, now=now,
    )  # fmt: skip
    return Archive.objects.get(pk=archive.pk)


def _apply_changes(
    target: Archive | Link,
    changes: dict[str, object],
    *,
    password: object,
    expires_at: object,
    max_downloads: object,
    now: datetime,
) -> None:
    """Write ``changes`` and the access changes given (``_UNSET``: unchanged) to the
    named columns of ``target`` only, with an audit row for each field that changed,
    in one transaction. A new password is stored hashed; ``""`` clears it."""
    if password is not _UNSET:
        changes["password"] = make_password(str(password)) if password else ""
    if expires_at is not _UNSET:
        changes["expires_at"] = expires_at
    if max_downloads is not _UNSET:
        changes["max_downloads"] = max_downloads
    with transaction.atomic():
        if changes:
            type(target).objects.filter(pk=target.pk).update(**changes)
        for field, value in changes.items():
            before = getattr(target, field)
            if field == "password":
                _audit_password(target, before=str(before), after=str(value), now=now)
            elif before != value:
                _audit_change(target, field, old=_shown(before), new=_shown(value), now=now)


def _audit_change(target: Archive | Link, field: str, *, old: str, new: str, now: datetime) -> None:
    if isinstance(target, Archive):
        _audit(target, action="update", field=field, now=now, old=old, new=new)
    else:
        _audit(target.archive, action="link_updated", field=f"link {target.label}: {field}",
               now=now, old=old, new=new)  # fmt: skip


def _shown(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _audit_password(target: Archive | Link, *, before: str, after: str, now: datetime) -> None:
    """Passwords are audited as set, changed or cleared, never in clear."""
    archive = target if isinstance(target, Archive) else target.archive
    field = "password" if isinstance(target, Archive) else f"link {target.label}: password"
    if after and before:
        new = "changed"
    elif after:
        new = "set"
    elif before:
        new = "cleared"
    else:
        return
    _audit(archive, action="update", field=field, now=now, old="set" if before else "none",
           new=new)  # fmt: skip


def _audit(
    archive: Archive,
    *,
    action: str,
    now: datetime,
    field: str = "",
    old: str = "",
    new: str = "",
) -> None:
    AuditEntry.objects.create(
        archive_id=archive.pk,
        archive_name=archive.name,
        actor=archive.owner,
        at=now,
        action=action,
        field=field[:32],
        old=old,
        new=new,
    )


def delete_archive(archive: Archive, *, now: datetime) -> None:
    """Delete the archive, its log and, once committed, its files; the audit keeps a
    row of the deletion.

    The deletion stands when storage fails after the commit: the files' removal is then
    queued for a task that retries it, and nothing is raised.
    """
    names = [archive.zip_name, *archive.files.values_list("source_name", flat=True)]
    archive_id = archive.id
    with transaction.atomic():
        _audit(archive, action="delete", now=now)
        archive.delete()
        transaction.on_commit(lambda: _remove_deleted_files(archive_id, names))


def _remove_deleted_files(archive_id: str, names: list[str]) -> None:
    try:
        remove_archive_files(archive_id, names)
    except OSError:
        logger.warning(
            "could not remove the files of deleted archive %s; a task retries",
            archive_id,
            exc_info=True,
        )
        enqueue_file_removal(archive_id, names)


def retry_build(archive: Archive, *, now: datetime) -> bool:
    """Try the failed build of ``archive`` again: back to pending, its build queued once
    committed. Returns False, queuing nothing, when the archive is not failed (built,
    being built, or retried already: of two requests at once, one queues the build)."""
    with transaction.atomic():
        if not retry_failed_build(archive.pk, now=now):
            return False
        archive_id = archive.pk
        transaction.on_commit(lambda: enqueue_build(archive_id))
    archive.refresh_from_db()
    return True


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
    """Remove the files of expired and used-up archives, and their files' thumbnails;
    keep the rows. Return how many archives were purged.

    A used-up archive waits ``DOWNLOAD_GRANT_TTL`` after its last download, so the holder
    of a download grant can still resume. Each archive is first marked expired by a
    conditional UPDATE (its owner is told once), then its files are removed, and only
    then are their names forgotten and the archive marked purged: when storage fails,
    the names stay and the next run tries again. Safe to run twice or beside downloads.
    """
    grace = now - timedelta(seconds=settings.DOWNLOAD_GRANT_TTL)
    candidates = (
        (Archive.objects.expired(now=now) | Archive.objects.filter(status=Status.EXPIRED))
        .filter(purged_at__isnull=True)
        .annotate(last_download=Max("downloads__at"))
        .values_list("pk", "status", "expires_at", "last_download")
    )
    count = 0
    for archive_id, status, expires_at, last_download in candidates:
        waits_for_grants = last_download is not None and last_download > grace
        if status != Status.EXPIRED and expires_at > now and waits_for_grants:
            continue
        expired = (
            Archive.objects.filter(pk=archive_id, purged_at__isnull=True)
            .exclude(status=Status.EXPIRED)
            .update(status=Status.EXPIRED)
        )
        if expired == 1:
            notify(Event.EXPIRED, Archive.objects.get(pk=archive_id), now=now)
        try:
            purged = _remove_expired_files(archive_id, now=now)
        except OSError:
            logger.warning(
                "could not remove the files of expired archive %s; the next purge retries",
                archive_id,
                exc_info=True,
            )
            continue
        count += purged
    return count


def _remove_expired_files(archive_id: str, *, now: datetime) -> bool:
    """Remove the stored files of an expired archive, then forget their names, clear its
    files' thumbnails and mark it purged; False when another run purged it first. Raises
    ``OSError`` when storage fails, leaving the names for the next run."""
    files = ArchiveFile.objects.filter(archive_id=archive_id).exclude(source_name="")
    sources = list(files.values_list("source_name", flat=True))
    zip_file = Archive.objects.filter(pk=archive_id).values_list("zip_name", flat=True).first()
    if zip_file is None:  # deleted meanwhile: the deletion removes the files
        return False
    remove_archive_files(archive_id, [zip_file, *sources])
    with transaction.atomic():
        # The archive's row first: a reading of its members locks it before its files.
        purged = Archive.objects.filter(pk=archive_id, purged_at__isnull=True).update(
            zip_name="", purged_at=now
        )
        files.filter(source_name__in=sources).update(source_name="")
        # Thumbnails are pictures of the files: they go with them.
        ArchiveFile.objects.filter(archive_id=archive_id).exclude(thumbnail=b"").update(
            thumbnail=b""
        )
    return purged == 1


def queue_member_index(archive_id: str, *, now: datetime) -> bool:
    """Queue the reading of the members of a stored archive built before the build
    recorded them (``archives.indexing``), once: a conditional UPDATE of
    ``members_queued_at`` lets one caller of many at once queue it, and queues it again
    only after ``BUILD_STALL_SECONDS`` (a message lost), never once the reading found the
    ZIP unreadable (``members_error``). False when nothing was queued."""
    stalled = now - timedelta(seconds=settings.BUILD_STALL_SECONDS)
    with transaction.atomic():
        claimed = (
            Archive.objects.filter(
                pk=archive_id, status=Status.READY, purged_at__isnull=True, members_error=""
            )
            .exclude(zip_name="")
            .filter(Q(members_queued_at__isnull=True) | Q(members_queued_at__lt=stalled))
            .update(members_queued_at=now)
        )
        if claimed != 1:
            return False
        transaction.on_commit(lambda: enqueue_member_index(archive_id))
    return True


def queue_all_member_indexes(*, now: datetime) -> int:
    """Queue ``queue_member_index`` for every stored archive with members never
    recorded; return how many were queued."""
    archive_ids = set(unindexed_files().values_list("archive_id", flat=True))
    return sum(queue_member_index(archive_id, now=now) for archive_id in sorted(archive_ids))


def get_owned_archive(user: User, archive_id: str) -> Archive:
    """The archive ``archive_id`` of ``user``; ``Http404`` for anyone else's, so ids of
    other people's archives cannot be told from unknown ones."""
    return get_object_or_404(Archive.objects.owned_by(user), pk=archive_id)


def create_link(
    archive: Archive,
    *,
    label: str,
    password: str,
    max_downloads: int | None,
    ttl: int | None,
    now: datetime,
) -> Link:
    """A recipient link to ``archive`` with its own password, limit and expiry."""
    with transaction.atomic():
        link = Link.objects.create(
            archive=archive,
            label=label,
            password=make_password(password) if password else "",
            max_downloads=max_downloads,
            expires_at=now + timedelta(seconds=ttl) if ttl else None,
            created_at=now,
        )
        _audit(archive, action="link_created", field=f"link {label}", now=now,
               new=f"password {'set' if password else 'none'}, limit "
               f"{_shown(max_downloads)}, expires {_shown(link.expires_at)}")  # fmt: skip
    return link


def update_link(
    link: Link,
    *,
    now: datetime,
    label: str | None = None,
    password: object = _UNSET,
    max_downloads: object = _UNSET,
    ttl: object = _UNSET,
) -> Link:
    """Change a recipient link; ``password=""`` clears it, ``ttl=None`` falls back to
    the archive's lifetime. Each change gets an audit row. Returns the link as stored
    afterwards."""
    changes: dict[str, object] = {}
    if label is not None:
        changes["label"] = label
    expires_at: object = _UNSET
    if ttl is not _UNSET:
        expires_at = now + timedelta(seconds=int(str(ttl))) if ttl else None
    _apply_changes(
        link, changes, password=password, expires_at=expires_at,
        max_downloads=max_downloads, now=now,
    )  # fmt: skip
    return Link.objects.select_related("archive").get(pk=link.pk)


def revoke_link(link: Link, *, now: datetime) -> None:
    """Revoke a recipient link: its slug is 404 from now on; its downloads stay counted."""
    with transaction.atomic():
        revoked = Link.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=now)
        if revoked:
            _audit(link.archive, action="link_revoked", field=f"link {link.label}", now=now)


def get_owned_link(user: User, archive_id: str, link_id: str) -> Link:
    """A recipient link of the user's archive; ``Http404`` for anyone else's."""
    archive = get_owned_archive(user, archive_id)
    return get_object_or_404(Link.objects.select_related("archive"), pk=link_id, archive=archive)


def purge_old_downloads(*, now: datetime) -> int:
    """Delete download log rows older than ``LOG_RETENTION_DAYS`` (0 keeps them all);
    return how many went. Counters on the archives stay."""
    if not settings.LOG_RETENTION_DAYS:
        return 0
    cutoff = now - timedelta(days=settings.LOG_RETENTION_DAYS)
    deleted, _ = Download.objects.filter(at__lt=cutoff).delete()
    return deleted
