"""The bytes of uploads in progress: ``partials/<id>`` under the storage root.

Partial files sit under the same root as the files of the app they are handed to, so
handing a finished one on is a rename, never a copy.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING, Protocol

from django.core.files.uploadedfile import UploadedFile

from core.media import local_path

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

# Bytes received, and written, at a time: few system calls, and a flat memory.
READ_BYTES = 1024 * 1024


class BodyStream(Protocol):
    """A request body as the server hands it (``wsgi.input`` through the request)."""

    def read(self, size: int, /) -> bytes:
        """Up to ``size`` next bytes of the body; none at its end."""
        ...


def partial_name(upload_id: str) -> str:
    return f"partials/{upload_id}"


def partial_path(upload_id: str) -> Path:
    """The absolute path of the upload's partial file (checked to stay under the root)."""
    return local_path(partial_name(upload_id))


def create_partial(upload_id: str) -> None:
    """Create the upload's empty partial file; raises ``FileExistsError`` if it exists."""
    path = partial_path(upload_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    os.close(descriptor)


def delete_partial(upload_id: str) -> None:
    """Remove the partial file; a missing one is not an error (removals are retried)."""
    partial_path(upload_id).unlink(missing_ok=True)


def write_partial(
    upload_id: str,
    *,
    body: BodyStream | None,
    offset: int,
    limit: int,
    keep_claim: Callable[[int], bool],
    renew_every: float,
) -> int:
    """Copy at most ``limit`` bytes of ``body`` into the partial file from ``offset``.

    The body is read up to ``READ_BYTES`` at a time, never whole.
    Before a block is written, when ``renew_every`` seconds passed since the last
    renewal, ``keep_claim`` is called with the offset reached so far (already flushed);
    if it returns False another request took over and nothing more is written. A broken
    connection ends the copy early: what arrived stays. Returns the new offset.
    """
    written = offset
    renewed = time.monotonic()
    with partial_path(upload_id).open("r+b") as handle:
        handle.seek(offset)
        try:
            while body is not None and written - offset < limit:
                block = body.read(min(READ_BYTES, limit - (written - offset)))
                if not block:
                    break
                if time.monotonic() - renewed >= renew_every:
                    handle.flush()
                    if not keep_claim(written):
                        break
                    renewed = time.monotonic()
                handle.write(block)
                written += len(block)
        except OSError:
            # The client went away mid-body (reset, timeout): keep what arrived, so the
            # client resumes from here.
            pass
        handle.flush()
        with contextlib.suppress(OSError):
            os.fsync(handle.fileno())
    return written


class FinishedUpload(UploadedFile):
    """A completed partial file, shaped like a file Django spooled to disk, so that the
    app it is handed to moves it into place by renaming it (``temporary_file_path``)."""

    def __init__(self, upload_id: str, *, name: str, size: int) -> None:
        self._path = partial_path(upload_id)
        super().__init__(file=None, name=name, content_type="application/octet-stream", size=size)

    def temporary_file_path(self) -> str:
        return str(self._path)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        # Opened only if storage falls back to copying (the rename failed), which starts
        # with seek(0) and then reads chunks.
        if self.file is None:
            self.file = self._path.open("rb")
        return self.file.seek(offset, whence)
