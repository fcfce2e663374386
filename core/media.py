"""Names of files under ``MEDIA_ROOT``, resolved and checked to stay under it.

Every app that keeps files on the local disk (archives' sources and builds, resumable's
partial uploads) turns its storage names into paths here, so the check is made once.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation


def root() -> Path:
    """The resolved ``MEDIA_ROOT`` (read at every call: tests change it)."""
    return _resolved(settings.MEDIA_ROOT)


@functools.lru_cache(maxsize=8)
def _resolved(media_root: str) -> Path:
    # Resolved once per setting value, not for every file of an archive.
    return Path(media_root).resolve()


def local_path(name: str) -> Path:
    """Return the absolute path of storage ``name``; raise ``SuspiciousFileOperation`` if
    it would leave the root or name the root itself."""
    base = root()
    path = (base / name).resolve()
    if not path.is_relative_to(base) or path == base:
        raise SuspiciousFileOperation(f"storage name {name!r} leaves the storage root")
    return path


def open_folder(path: str) -> int:
    """A descriptor of the folder ``path`` (resolved already, so no link is followed),
    to open or unlink its entries relative to it (``dir_fd``)."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
