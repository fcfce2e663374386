"""The members of an archive built before the build recorded them (DESIGN section 10):
read from the stored ZIP's central directory, each sniffed by the code the build uses.

Such an archive's files have no place in the ZIP (``method``, ``data_offset``), no
preview and no thumbnail, so their own downloads and previews cannot be served. The
share page and API queue ``index_members`` (``archives.services.queue_member_index``)
when they meet one; ``manage.py index_members`` queues it for every such archive. It
reads the directory, then for each member not yet recorded its local header (where its
data starts) and its first ``SNIFF_BYTES``; images get their thumbnails. A bucket's ZIP
is read by ranges (``storage.open_stored_seekable``), never copied down whole. Running
twice is harmless: only members still unrecorded are written. A ZIP that cannot be read
(gone, not a ZIP, a member not where its directory says) is recorded as such
(``Archive.members_error``) and not queued again; its files answer as before, whole
archive only.
"""

from __future__ import annotations

import logging
import struct
import zipfile
import zlib
from typing import TYPE_CHECKING, Final

from django.db import transaction

from archives import storage
from archives.build import MemberResult, record_members
from archives.models import Archive, ArchiveFile, Status
from archives.storage import StorageError
from archives.thumbnails import thumbnail_of
from archives.zipping.sniffing import IMAGE, SNIFF_BYTES, Sniffed, sniff

if TYPE_CHECKING:
    from typing import BinaryIO

    from django.db.models import QuerySet

logger = logging.getLogger(__name__)

# A local file header (APPNOTE 4.3.7): its signature, then its name's and its extra
# field's lengths at bytes 26 and 28 of its 30.
_LOCAL_HEADER: Final = struct.Struct("<4s22xHH")
_LOCAL_SIGNATURE: Final = b"PK\x03\x04"


class UnreadableMember(Exception):
    """The stored ZIP does not hold a member where its directory says it is."""


def unindexed_files() -> QuerySet[ArchiveFile]:
    """The files of stored archives whose place in the ZIP was never recorded."""
    return ArchiveFile.objects.filter(
        archive__status=Status.READY,
        archive__purged_at__isnull=True,
        data_offset__isnull=True,
    ).exclude(archive__zip_name="")


def index_members(archive_id: str) -> int:
    """Record the place, preview and thumbnail of each member of the archive's stored ZIP
    that has none yet; return how many were recorded (0 for an archive not stored, or
    stored and recorded already). A stored ZIP that is gone or cannot be read as a ZIP
    records nothing of its members and sets ``Archive.members_error``. Raises
    ``StorageError`` when a bucket does not answer."""
    archive = Archive.objects.filter(pk=archive_id).first()
    files = {f.name: f for f in unindexed_files().filter(archive_id=archive_id)}
    if archive is None or not files:
        return 0
    try:
        with storage.open_stored_seekable(archive.zip_name) as handle:
            members = _read_members(handle, files)
    except StorageError:
        raise  # says nothing of the file: the task tries again
    # Another OSError is the file's own (gone, unreadable), as a download judges it.
    except (OSError, zipfile.BadZipFile, UnreadableMember, zlib.error, EOFError) as exc:
        logger.error("the members of archive %s cannot be read: %s", archive_id, exc)
        Archive.objects.filter(pk=archive_id, zip_name=archive.zip_name).update(
            members_error=str(exc) or type(exc).__name__
        )
        return 0
    with transaction.atomic():
        # Not for an archive purged meanwhile: its thumbnails went with its files.
        stored = Archive.objects.select_for_update().filter(
            pk=archive_id, purged_at__isnull=True, zip_name=archive.zip_name
        )
        if not stored.exists():
            return 0
        record_members(archive_id, members)
    recorded = {member.position for member in members}
    missing = sorted(name for name, file in files.items() if file.position not in recorded)
    if missing:
        logger.warning("archive %s has no member named %s in its ZIP", archive_id, missing)
    logger.info("recorded %d member(s) of archive %s", len(members), archive_id)
    return len(members)


def _read_members(handle: BinaryIO, files: dict[str, ArchiveFile]) -> list[MemberResult]:
    with zipfile.ZipFile(handle) as archive:
        # In the order they lie in the file: the reads go forward, through one buffer.
        infos = sorted(
            (info for info in archive.infolist() if info.filename in files),
            key=lambda info: info.header_offset,
        )
        found: list[tuple[zipfile.ZipInfo, int, Sniffed | None, bytes | None]] = []
        for info in infos:
            handle.seek(info.header_offset)
            header = handle.read(_LOCAL_HEADER.size)
            if len(header) < _LOCAL_HEADER.size:
                raise UnreadableMember(f"{info.filename}: the file ends in its local header")
            signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
            if signature != _LOCAL_SIGNATURE:
                raise UnreadableMember(f"{info.filename}: no local header at {info.header_offset}")
            data_offset = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
            with archive.open(info) as member:
                head = member.read(SNIFF_BYTES)
            sniffed = sniff(head, whole=info.file_size <= SNIFF_BYTES)
            # Made while the member's bytes are at hand (a bucket's read buffer).
            is_image = sniffed is not None and sniffed.preview == IMAGE
            thumbnail = thumbnail_of(archive, info.filename) if is_image else None
            found.append((info, data_offset, sniffed, thumbnail))
    return [
        MemberResult(
            position=files[info.filename].position,
            sha256=files[info.filename].sha256,
            preview=sniffed.preview if sniffed else "",
            content_type=sniffed.content_type if sniffed else "",
            method=info.compress_type,
            data_offset=data_offset,
            compressed_size=info.compress_size,
            thumbnail=thumbnail or b"",
        )
        for info, data_offset, sniffed, thumbnail in found
    ]
