"""Stored files that no row names, and the sweep that removes them.

They are what a crash between storing files and committing their rows leaves, or a
removal that failed for good. A file is an orphan only once it has not changed for
``ORPHAN_GRACE_SECONDS``: an upload is stored before its row is committed, and a build
writes its temporary ZIP for as long as it runs. The local ``MEDIA_ROOT`` is swept, and
with ``STORAGE_BACKEND=s3`` the bucket too (a web process killed between storing an
upload's object and committing its row leaves one there). Resumable uploads' partial
files are not: their own purge removes them with their rows.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings

from archives import storage
from archives.models import Archive, ArchiveFile

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import datetime

logger = logging.getLogger(__name__)

# Where archives keep files: sources (storage.source_name) and ZIPs (storage.zip_name).
SWEPT_FOLDERS = ("uploads", "archives")
# Names looked up in one query.
BATCH = 500


def remove_orphan_files(*, now: datetime) -> list[str]:
    """Remove every file under ``SWEPT_FOLDERS``, local or in the bucket, that no archive
    row names (as a source or as its ZIP) and that has not changed for
    ``ORPHAN_GRACE_SECONDS`` before ``now``; log each one. A build's temporary ZIP stays
    while its archive exists (its own cleanup removes it). Returns the names removed;
    raises ``OSError`` when a removal fails, the files not yet removed staying for the
    next run.
    """
    cutoff = (now - timedelta(seconds=settings.ORPHAN_GRACE_SECONDS)).timestamp()
    orphans = _sweep(storage.local_files(SWEPT_FOLDERS), cutoff, storage.delete_local_files)
    orphans += _sweep(storage.bucket_files(SWEPT_FOLDERS), cutoff, storage.delete_many)
    if orphans:
        logger.info("removed %d orphan file(s)", len(orphans))
    return orphans


def _sweep(
    files: Iterable[tuple[str, float]], cutoff: float, delete: Callable[[list[str]], None]
) -> list[str]:
    old = [name for name, changed in files if changed < cutoff]
    orphans: list[str] = []
    for start in range(0, len(old), BATCH):
        orphans.extend(_unnamed(old[start : start + BATCH]))
    for start in range(0, len(orphans), BATCH):
        removed = orphans[start : start + BATCH]
        delete(removed)
        for name in removed:
            logger.info("removed orphan file %s: no archive names it", name)
    return orphans


def _unnamed(names: list[str]) -> list[str]:
    """The names of ``names`` that no row names, in their order."""
    named = set(
        ArchiveFile.objects.filter(source_name__in=names).values_list("source_name", flat=True)
    )
    named.update(Archive.objects.filter(zip_name__in=names).values_list("zip_name", flat=True))
    builds = {name: storage.partial_build_archive_id(name) for name in names}
    building = set(
        Archive.objects.filter(pk__in={i for i in builds.values() if i}).values_list(
            "pk", flat=True
        )
    )
    return [name for name in names if name not in named and builds[name] not in building]
