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

from core.media import local_path, raising_storage_full

if TYPE_CHECKING:
    from collections.abc import Callable
    from io import FileIO
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
    """Create the upload's empty partial file; raises ``FileExistsError`` if it exists,
    ``StorageFull`` when the disk is full."""
    path = partial_path(upload_id)
    with raising_storage_full():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    os.close(descriptor)


def delete_partial(upload_id: str) -> None:
    """Remove the partial file; a missing one is not an error (removals are retried)."""
    partial_path(upload_id).unlink(missing_ok=True)


def cut_partial(upload_id: str, *, size: int) -> None:
    """Cut the partial file back to ``size`` bytes: what a body wrote past it is dropped."""
    os.truncate(partial_path(upload_id), size)


def _read_block(body: BodyStream, size: int) -> bytes:
    try:
        return body.read(size)
    except OSError:
        # The client went away mid-body (reset, timeout): the body ends here, and what
        # arrived stays, so the client resumes from there.
        return b""


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
    renewal, ``keep_claim`` is called with the offset reached so far (already written);
    if it returns False another request took over and nothing more is written. A broken
    connection ends the copy early: what arrived stays. Returns the new offset.

    When a write fails the file is cut back to ``offset``, so the upload stands where it
    stood before this body, and the error is raised: ``StorageFull`` for a full disk.
    """
    written = offset
    renewed = time.monotonic()
    # Unbuffered: every block is on the file once written, and a failed write leaves
    # nothing in a buffer for close() to fail on again.
    with partial_path(upload_id).open("r+b", buffering=0) as handle:
        try:
            with raising_storage_full():
                handle.seek(offset)
                while body is not None and written - offset < limit:
                    block = _read_block(body, min(READ_BYTES, limit - (written - offset)))
                    if not block:
                        break
                    if time.monotonic() - renewed >= renew_every:
                        if not keep_claim(written):
                            break
                        renewed = time.monotonic()
                    _write_all(handle, block)
                    written += len(block)
        except BaseException:
            # Even if this fails too, the offset stays where it stood (the caller records
            # the returned offset only), and the next body overwrites what is past it.
            with contextlib.suppress(OSError):
                handle.truncate(offset)
            raise
        with contextlib.suppress(OSError):
            os.fsync(handle.fileno())
    return written


def _write_all(handle: FileIO, block: bytes) -> None:
    # An unbuffered write may take part of the block (a disk filling up): write the rest.
    view = memoryview(block)
    while view:
        count = handle.write(view)
        view = view[count or 0 :]


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
