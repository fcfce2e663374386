"""What happened to an archive, told to its owner: the payload notifications sends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archives.addresses import share_url
from notifications.services import notify_owner

if TYPE_CHECKING:
    from datetime import datetime

    from archives.models import Archive
    from notifications.models import ArchivePayload


def archive_payload(archive: Archive, *, now: datetime) -> ArchivePayload:
    """What a notification says about ``archive``: public facts and the share link."""
    return {
        "id": archive.id,
        "slug": archive.slug,
        "name": archive.name,
        "status": archive.public_status(now=now),
        "size": archive.size,
        "sha256": archive.sha256,
        "download_count": archive.download_count,
        "max_downloads": archive.max_downloads,
        "expires_at": archive.expires_at.isoformat(),
        "share_url": share_url(archive.slug),
    }


def notify(event: str, archive: Archive, *, now: datetime, extra: dict | None = None) -> None:
    """Tell ``archive``'s owner that ``event`` (a ``notifications.models.Event`` value)
    happened, once the current transaction commits (``notify_owner``); ``extra`` adds keys
    to the payload. Raises ``ValueError`` for an unknown event."""
    owner_id: str = archive.owner.pk
    notify_owner(owner_id, event, archive=archive_payload(archive, now=now), now=now, extra=extra)
