"""The ZIP build: stream every source into a temporary ZIP, verify it, publish it.

Memory stays flat: sources are read in 1 MiB chunks. Members whose sampled data does not
compress are stored as they are. Progress is real bytes read, written at most every
``BUILD_PROGRESS_INTERVAL`` seconds, and doubles as the heartbeat the reaper watches.
"""

from __future__ import annotations

import hashlib
import logging
import time
import zipfile
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from archives import storage
from archives.models import Archive, ArchiveFile
from archives.services import MemberResult, fail_build, finish_build, report_progress, start_build

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import BinaryIO

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
SAMPLE = 64 * 1024
# Deflate must save at least this share of a sample to be worth it.
MIN_SAVING = 0.03


class BuildError(Exception):
    """A build cannot go on; ``str()`` is shown to the owner as the archive's error."""


@dataclass(frozen=True)
class BuiltZip:
    size: int
    sha256: str
    members: list[MemberResult]


class ProgressReporter:
    """Turns bytes read into a percentage written at a bounded rate."""

    def __init__(self, archive_id: str, *, total: int, interval: float) -> None:
        self.archive_id = archive_id
        self.total = max(total, 1)
        self.interval = interval
        self.done = 0
        self._last_write = time.monotonic()

    def add(self, count: int) -> None:
        self.done += count
        moment = time.monotonic()
        if moment - self._last_write < self.interval:
            return
        self._last_write = moment
        percent = self.done * 100 // self.total
        if not report_progress(self.archive_id, progress=percent, now=timezone.now()):
            raise BuildError("The archive was deleted or reset during its build.")


def is_compressible(source: BinaryIO, *, size: int) -> bool:
    """Guess from up to three samples (start, middle, end) whether deflate pays off."""
    offsets = [0] if size <= 3 * SAMPLE else [0, size // 2, size - SAMPLE]
    raw = compressed = 0
    for offset in offsets:
        source.seek(offset)
        sample = source.read(SAMPLE)
        raw += len(sample)
        compressed += len(zlib.compress(sample, 1))
    source.seek(0)
    return raw > 0 and compressed <= raw * (1 - MIN_SAVING)


def write_zip(
    destination: Path,
    files: Sequence[ArchiveFile],
    *,
    progress: ProgressReporter,
) -> list[tuple[ArchiveFile, int, str]]:
    """Write ``files`` into a new ZIP at ``destination``.

    Returns, for each member, its row, the CRC-32 and the sha256 of the data read.
    Raises ``BuildError`` with a readable message when a source cannot be read.
    """
    stamp = timezone.localtime().timetuple()[:6]
    written = []
    with zipfile.ZipFile(destination, "w", allowZip64=True) as archive_zip:
        for member in files:
            info = zipfile.ZipInfo(member.name, date_time=stamp)
            info.external_attr = 0o644 << 16
            # Known up front so zipfile writes ZIP64 headers for members past 4 GiB.
            info.file_size = member.size
            try:
                source = storage.open_source(member.source_name)
            except OSError as exc:
                raise BuildError(
                    f"Could not read the uploaded file {member.original_name!r}: "
                    f"{exc.strerror or exc}."
                ) from exc
            with source:
                info.compress_type = (
                    zipfile.ZIP_DEFLATED
                    if is_compressible(source, size=member.size)
                    else zipfile.ZIP_STORED
                )
                crc, digest = _copy_member(archive_zip, info, source, progress=progress)
            written.append((member, crc, digest))
    return written


def _copy_member(
    archive_zip: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    source: BinaryIO,
    *,
    progress: ProgressReporter,
) -> tuple[int, str]:
    crc = 0
    digest = hashlib.sha256()
    with archive_zip.open(info, "w", force_zip64=info.file_size > zipfile.ZIP64_LIMIT) as out:
        while chunk := source.read(CHUNK):
            out.write(chunk)
            crc = zlib.crc32(chunk, crc)
            digest.update(chunk)
            progress.add(len(chunk))
    return crc, digest.hexdigest()


def verify_zip(path: Path, written: list[tuple[ArchiveFile, int, str]]) -> tuple[int, str]:
    """Check the central directory lists exactly what was read; return size and sha256."""
    with zipfile.ZipFile(path) as archive_zip:
        entries = archive_zip.infolist()
    expected = [(member.name, member.size, crc) for member, crc, _ in written]
    found = [(entry.filename, entry.file_size, entry.CRC) for entry in entries]
    if found != expected:
        raise BuildError("The built archive does not match the uploaded files.")
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def build_archive(archive_id: str) -> None:
    """Build the ZIP of a pending archive and publish it.

    Returns quietly when the archive is gone or another worker claimed it. Afterwards the
    archive is ``ready`` with its ZIP in storage and its sources removed, or ``failed``
    with its error and its sources kept; no partial ZIP remains either way.
    """
    if not start_build(archive_id, now=timezone.now()):
        return
    archive = Archive.objects.filter(pk=archive_id).first()
    if archive is None:
        return
    files = list(archive.files.all())
    temporary = storage.temporary_zip_path(archive_id)
    progress = ProgressReporter(
        archive_id, total=archive.source_size, interval=settings.BUILD_PROGRESS_INTERVAL
    )
    try:
        written = write_zip(temporary, files, progress=progress)
        size, sha256 = verify_zip(temporary, written)
        name = storage.publish_zip(temporary, archive_id)
    except (BuildError, OSError, zipfile.BadZipFile) as exc:
        temporary.unlink(missing_ok=True)
        logger.warning("build of %s failed: %s", archive_id, exc)
        fail_build(archive_id, error=_describe(exc), now=timezone.now())
        return
    except BaseException:
        # Time limits and shutdowns: leave no partial file; the reaper re-queues the build.
        temporary.unlink(missing_ok=True)
        raise
    members = [MemberResult(position=m.position, sha256=digest) for m, _, digest in written]
    if not finish_build(
        archive_id, zip_name=name, size=size, sha256=sha256, members=members, now=timezone.now()
    ):
        storage.delete(name)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"The archive could not be written: {exc.strerror or exc}."
    return str(exc)
