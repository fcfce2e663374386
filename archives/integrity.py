"""The integrity scrub: stored archives are re-hashed, a little at a time, and any whose
bytes no longer match the sha256 recorded at build time is marked damaged and no longer
served (the download rules refuse it with 409)."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from django.db.models import F

from archives import storage
from archives.models import Archive, Status

if TYPE_CHECKING:
    from datetime import datetime

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
# What an archive whose stored ZIP is gone is marked with, by the scrub or by a download.
MISSING = "The stored file is missing."
UNREADABLE = "The stored file cannot be read"


def hash_stored_zip(name: str) -> str:
    digest = hashlib.sha256()
    with storage.open_stored(name) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def scrub_archives(*, now: datetime, budget: int) -> list[str]:
    """Re-hash ready archives, least recently checked first, until ``budget`` bytes are
    read; return the ids found damaged. The last archive may overrun the budget: one
    archive is always checked whole."""
    damaged = []
    spent = 0
    candidates = (
        Archive.objects.filter(status=Status.READY, purged_at__isnull=True)
        .exclude(zip_name="")
        .order_by(F("scrubbed_at").asc(nulls_first=True), "created_at")
        .values_list("pk", "zip_name", "sha256", "size")
    )
    for archive_id, zip_name, expected, size in candidates.iterator():
        if spent >= budget:
            break
        spent += size or 0
        try:
            found = hash_stored_zip(zip_name)
        except FileNotFoundError:
            error = MISSING
        else:
            error = (
                ""
                if found == expected
                else (f"The stored file's sha256 is {found}, not {expected} as built.")
            )
        # Only the archive as it was read: a purge or deletion meanwhile wins.
        Archive.objects.filter(pk=archive_id, zip_name=zip_name).update(
            scrubbed_at=now, integrity_error=error
        )
        if error:
            logger.error("archive %s is damaged: %s", archive_id, error)
            damaged.append(archive_id)
    return damaged


def record_damage(archive: Archive, *, error: str, now: datetime) -> bool:
    """Mark ``archive`` damaged with ``error`` as the scrub does when it finds its stored
    ZIP gone or unreadable outside a scrub (a download tried to open it): the download
    rules refuse it from then on and its owner sees why. Return whether it was marked;
    an archive purged or rebuilt meanwhile is left as it is."""
    marked = Archive.objects.filter(
        pk=archive.pk, zip_name=archive.zip_name, purged_at__isnull=True
    ).update(scrubbed_at=now, integrity_error=error)
    if marked:
        logger.error("archive %s is damaged: %s", archive.pk, error)
    return bool(marked)
