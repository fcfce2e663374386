"""Where an archive's files live: uploaded sources and the built ZIP, by storage name.

Names are relative to the storage root (``MEDIA_ROOT``); every name is resolved and checked
to stay under the root before a file is opened, replaced or removed.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

logger = logging.getLogger(__name__)


def root() -> Path:
    return Path(settings.MEDIA_ROOT).resolve()


def local_path(name: str) -> Path:
    """Return the absolute path of storage ``name``; raise if it would leave the root."""
    base = root()
    path = (base / name).resolve()
    if not path.is_relative_to(base) or path == base:
        raise SuspiciousFileOperation(f"storage name {name!r} leaves the storage root")
    return path


def source_name(archive_id: str, position: int) -> str:
    return f"uploads/{archive_id}/{position:05d}"


def zip_name(archive_id: str) -> str:
    return f"archives/{archive_id}.zip"


def save_source(name: str, upload: UploadedFile) -> None:
    """Store an uploaded file under ``name``: a rename when Django spooled it to disk."""
    path = local_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = getattr(upload, "temporary_file_path", None)
    if temporary is not None:
        try:
            # Same file system (FILE_UPLOAD_TEMP_DIR sits beside MEDIA_ROOT by default):
            # no byte is copied again.
            Path(temporary()).replace(path)
            path.chmod(settings.FILE_UPLOAD_PERMISSIONS)
            return
        except OSError:
            logger.debug("rename of %s failed, copying", temporary(), exc_info=True)
    upload.seek(0)
    with path.open("wb") as handle:
        for chunk in upload.chunks(1024 * 1024):
            handle.write(chunk)


def open_source(name: str) -> BinaryIO:
    return local_path(name).open("rb")


def size_of(name: str) -> int:
    return local_path(name).stat().st_size


def temporary_zip_path(archive_id: str) -> Path:
    """A fresh path beside the final ZIP, for a build in progress."""
    final = local_path(zip_name(archive_id))
    final.parent.mkdir(parents=True, exist_ok=True)
    return final.with_name(f".{final.name}.{secrets.token_hex(6)}.part")


def publish_zip(temporary: Path, archive_id: str) -> str:
    """Move a complete ZIP into place atomically; return its storage name."""
    name = zip_name(archive_id)
    temporary.replace(local_path(name))
    return name


def delete(name: str) -> None:
    """Remove storage ``name``; a missing file is not an error (deletes are retried)."""
    if not name:
        return
    path = local_path(name)
    path.unlink(missing_ok=True)
    parent = path.parent
    if parent != root() and parent.parent != root():
        # uploads/<archive_id>/ folders go once empty.
        with contextlib.suppress(OSError):
            parent.rmdir()


def remove_partial_builds(archive_id: str) -> None:
    """Remove leftovers of builds that died before publishing."""
    folder = local_path(zip_name(archive_id)).parent
    if not folder.exists():
        return
    for leftover in folder.glob(f".{archive_id}.zip.*.part"):
        leftover.unlink(missing_ok=True)
