"""Names of files under ``MEDIA_ROOT``, resolved and checked to stay under it.

Every app that keeps files on the local disk (archives' sources and builds, resumable's
partial uploads) turns its storage names into paths here, so the check is made once.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation

if TYPE_CHECKING:
    from collections.abc import Iterator

# A file system out of space, and out of the user's or group's quota: both pass with
# time (a purge, a sweep, an operator), so the client is told to try again later.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class StorageFull(OSError):
    """No space is left where an upload is being stored; ``str()`` says so for a client
    (the API answers 507). An ``OSError``, so callers clean up as for a failing disk."""

    def __init__(self) -> None:
        super().__init__("Storage is full: the upload was not kept. Try again later.")


def is_storage_full(exc: BaseException) -> bool:
    """True for ``StorageFull`` and for any ``OSError`` of a full disk or quota."""
    return isinstance(exc, StorageFull) or (isinstance(exc, OSError) and exc.errno in FULL_ERRNOS)


@contextlib.contextmanager
def raising_storage_full() -> Iterator[None]:
    """Within the block, an ``OSError`` of a full disk or quota is raised as
    ``StorageFull`` (chained to it); every other error passes as it is."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, StorageFull) or exc.errno not in FULL_ERRNOS:
            raise
        raise StorageFull from exc


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
