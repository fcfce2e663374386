"""The compression engine: stream members into a ZIP file, many cores at once.

Three stages run at once, joined by a bounded queue, so memory stays flat whatever the
input size:

- a reader thread walks the members in order. A small member (up to ``BLOCK`` bytes) goes
  to the thread pool whole, batched with its neighbours so that thousands of tiny files do
  not cost one task each; a large member is read in ``BLOCK``-sized blocks, hashed (CRC-32
  and sha256) in order, and each block is deflated on its own in the pool.
- the pool (one thread per core; deflate releases the GIL) compresses. Each block of a
  large member is raw deflate primed with the previous block's last 32 KiB and ended with
  a sync flush, the last one with a final block, so the blocks joined in order are one
  valid deflate stream, as pigz does.
- the calling thread writes the results in order with ``ZipWriter`` and reports the bytes
  done to a callback.

Members whose data does not compress are stored (``compression``). The engine knows files
and bytes only: no model, no database, no storage backend.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from django.utils import timezone

from archives.zipping.compression import (
    SAMPLE,
    WINDOW,
    compress,
    compresses_well,
    crc32,
    deflate_block,
    is_compressible,
    sample_offsets,
    saves_enough,
)
from archives.zipping.sniffing import SNIFF_BYTES, Sniffed, sniff
from archives.zipping.writer import DEFLATED, STORED, Entry, ZipWriter
from core.media import open_folder

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from pathlib import Path
    from typing import BinaryIO

BLOCK: Final = 1024 * 1024
# Small members travel to the pool in batches of at most this many bytes or members.
BATCH_BYTES: Final = BLOCK
BATCH_MEMBERS: Final = 256
OUTPUT_BUFFER: Final = 1024 * 1024


class BuildError(Exception):
    """A build cannot go on; ``str()`` is shown to the owner as the archive's error."""


@dataclass(frozen=True)
class Source:
    """What the threads need of one member, copied off its row."""

    position: int
    name: str
    original_name: str
    # The resolved folder of the stored source, and its entry there.
    folder: str
    entry: str
    size: int


def _open_folders(sources: Sequence[Source]) -> dict[str, int]:
    """A descriptor of each folder holding ``sources``, opened once for all of its files:
    opening an entry relative to it costs less than walking the whole path again."""
    folders: dict[str, int] = {}
    for source in sources:
        if source.folder in folders:
            continue
        try:
            folders[source.folder] = open_folder(source.folder)
        except OSError as exc:
            _close_folders(folders)
            raise _unreadable(source, exc) from exc
    return folders


def _close_folders(folders: dict[str, int]) -> None:
    for descriptor in folders.values():
        os.close(descriptor)


def _open_entry(source: Source, folders: dict[str, int]) -> int:
    # No symbolic link is followed, so the folder check above holds for the file too.
    return os.open(
        source.entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folders[source.folder]
    )


@dataclass(frozen=True)
class WrittenMember:
    source: Source
    entry: Entry
    sha256: str
    # What its first bytes say it is (``sniffing.sniff``); None: download only.
    sniffed: Sniffed | None = None


@dataclass(frozen=True)
class BuiltZip:
    size: int
    sha256: str
    members: list[WrittenMember]
    # The central directory and end records, as written at the end of the file.
    directory: bytes


@dataclass(frozen=True)
class _Packed:
    """A whole small member, read and compressed by the pool."""

    source: Source
    method: int
    crc: int
    sha256: str
    payload: bytes
    sniffed: Sniffed | None


@dataclass(frozen=True)
class _Batch:
    packed: Future[list[_Packed]]
    size: int


@dataclass(frozen=True)
class _MemberEnd:
    crc: int
    sha256: str


@dataclass(frozen=True)
class _Block:
    """One block of a large member; ``end`` is set on its last block."""

    source: Source
    method: int
    payload: Future[bytes] | bytes
    size: int
    is_first: bool
    end: _MemberEnd | None
    # Set on the first block: what the member's first bytes say it is.
    sniffed: Sniffed | None = None


@dataclass(frozen=True)
class _Failure:
    error: BaseException


_Item = _Batch | _Block | _Failure | None


class _Stopped(Exception):
    """The writer gave up; the reader stops queueing."""


def _read_whole(source: Source, folders: dict[str, int]) -> bytes:
    """The whole small source, and one byte more if it grew; plain system calls, as a
    buffered file object costs more than reading a few KiB. A regular file answers a
    read short only at its end, so one read usually tells both."""
    descriptor = _open_entry(source, folders)
    try:
        data = os.read(descriptor, source.size + 1)
        if len(data) < source.size:
            pieces = [data]
            wanted = source.size + 1 - len(data)
            while wanted and (piece := os.read(descriptor, wanted)):
                pieces.append(piece)
                wanted -= len(piece)
            data = b"".join(pieces)
    finally:
        os.close(descriptor)
    return data


def _unreadable(source: Source, exc: OSError) -> BuildError:
    return BuildError(
        f"Could not read the uploaded file {source.original_name!r}: {exc.strerror or exc}."
    )


def _changed(source: Source) -> BuildError:
    return BuildError(
        f"The uploaded file {source.original_name!r} changed size since it was uploaded."
    )


def _pack_small(sources: list[Source], *, folders: dict[str, int], level: int) -> list[_Packed]:
    """Read, hash and compress whole members (each at most ``BLOCK`` bytes)."""
    packed = []
    for source in sources:
        try:
            data = _read_whole(source, folders)
        except OSError as exc:
            raise _unreadable(source, exc) from exc
        if len(data) != source.size:
            raise _changed(source)
        method, payload = STORED, data
        if level and data:
            # A member of a few samples is compressed whole at once: the result decides.
            worth_trying = len(data) <= 3 * SAMPLE or compresses_well(
                (data[o : o + SAMPLE] for o in sample_offsets(len(data))), level=level
            )
            if worth_trying:
                compressed = compress(data, level=level)
                if saves_enough(len(data), len(compressed)):
                    method, payload = DEFLATED, compressed
        packed.append(
            _Packed(
                source,
                method,
                crc32(data),
                hashlib.sha256(data).hexdigest(),
                payload,
                sniff(data[:SNIFF_BYTES], whole=len(data) <= SNIFF_BYTES),
            )
        )
    return packed


class _Pipeline:
    """The reader thread, the compressing pool and the ordered queue between them."""

    def __init__(self, sources: Sequence[Source], *, level: int, workers: int) -> None:
        self.sources = sources
        self.level = level
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deflate")
        # Bounds the blocks in flight: queued, being compressed, or waiting to be written.
        self.queue: queue.Queue[_Item] = queue.Queue(maxsize=2 * workers)
        self.stopping = threading.Event()
        self.reader = threading.Thread(target=self._read, name="zip-reader", daemon=True)

    def __enter__(self) -> _Pipeline:
        self.folders = _open_folders(self.sources)
        self.reader.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.reader.join()
        self.pool.shutdown(wait=True, cancel_futures=True)
        _close_folders(self.folders)

    def items(self) -> Iterable[_Batch | _Block]:
        """The queued items in member order; re-raises what stopped the reader."""
        while (item := self.queue.get()) is not None:
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def _put(self, item: _Item) -> None:
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.1)
            except queue.Full:
                continue
            return
        raise _Stopped

    def _read(self) -> None:
        try:
            self._queue_members()
            self._put(None)
        except _Stopped:
            return
        except BaseException as exc:  # handed to the writer thread, which raises it
            try:
                self._put(_Failure(exc))
            except _Stopped:
                return

    def _queue_members(self) -> None:
        batch: list[Source] = []
        batch_size = 0
        for source in self.sources:
            if source.size <= BLOCK:
                batch.append(source)
                batch_size += source.size
                if batch_size >= BATCH_BYTES or len(batch) >= BATCH_MEMBERS:
                    self._queue_batch(batch, batch_size)
                    batch, batch_size = [], 0
                continue
            if batch:
                self._queue_batch(batch, batch_size)
                batch, batch_size = [], 0
            self._queue_large(source)
        if batch:
            self._queue_batch(batch, batch_size)

    def _queue_batch(self, batch: list[Source], size: int) -> None:
        future = self.pool.submit(_pack_small, list(batch), folders=self.folders, level=self.level)
        self._put(_Batch(future, size))

    def _queue_large(self, source: Source) -> None:
        try:
            handle = os.fdopen(_open_entry(source, self.folders), "rb")
        except OSError as exc:
            raise _unreadable(source, exc) from exc
        with handle:
            try:
                self._queue_blocks(source, handle)
            except OSError as exc:
                raise _unreadable(source, exc) from exc

    def _queue_blocks(self, source: Source, handle: BinaryIO) -> None:
        compress = bool(self.level) and is_compressible(handle, size=source.size, level=self.level)
        digest = hashlib.sha256()
        crc = 0
        left = source.size
        previous: bytes | None = None
        is_first = True
        while left:
            data = handle.read(min(BLOCK, left))
            if not data:
                raise _changed(source)
            left -= len(data)
            digest.update(data)
            crc = crc32(data, crc)
            is_last = left == 0
            if is_last and handle.read(1):
                raise _changed(source)
            payload: Future[bytes] | bytes = data
            if compress:
                payload = self.pool.submit(
                    deflate_block,
                    data,
                    dictionary=previous[-WINDOW:] if previous else None,
                    is_last=is_last,
                    level=self.level,
                )
            end = _MemberEnd(crc, digest.hexdigest()) if is_last else None
            sniffed = sniff(data[:SNIFF_BYTES]) if is_first else None
            method = DEFLATED if compress else STORED
            self._put(_Block(source, method, payload, len(data), is_first, end, sniffed))
            previous, is_first = data, False


def write_zip(
    destination: Path,
    sources: Sequence[Source],
    *,
    level: int,
    progress: Callable[[int], None],
    workers: int | None = None,
) -> BuiltZip:
    """Write ``sources`` into a new ZIP at ``destination``; return its size, sha256 and
    what was written of each member. ``progress`` is called with the count of source
    bytes done after each batch or block; whatever it raises stops the build.

    Raises ``BuildError`` with a readable message when a source cannot be read or changed
    size, and ``OSError`` when the ZIP cannot be written.
    """
    stamp = timezone.localtime().timetuple()[:6]
    written: list[WrittenMember] = []
    sniffed: Sniffed | None = None
    workers = workers or len(os.sched_getaffinity(0))
    with (
        destination.open("wb", buffering=OUTPUT_BUFFER) as handle,
        _Pipeline(sources, level=level, workers=workers) as pipeline,
    ):
        writer = ZipWriter(handle, stamp=stamp)
        for item in pipeline.items():
            if isinstance(item, _Batch):
                for packed in item.packed.result():
                    entry = writer.write_member(
                        packed.source.name,
                        method=packed.method,
                        crc=packed.crc,
                        size=packed.source.size,
                        payload=packed.payload,
                    )
                    written.append(
                        WrittenMember(packed.source, entry, packed.sha256, packed.sniffed)
                    )
            else:
                if item.is_first:
                    writer.start_member(item.source.name, method=item.method, size=item.source.size)
                    sniffed = item.sniffed
                payload = item.payload
                writer.write_data(payload if isinstance(payload, bytes) else payload.result())
                if item.end is not None:
                    entry = writer.finish_member(crc=item.end.crc, size=item.source.size)
                    written.append(WrittenMember(item.source, entry, item.end.sha256, sniffed))
            progress(item.size)
        size, sha256 = writer.close()
    return BuiltZip(size=size, sha256=sha256, members=written, directory=writer.directory)


def verify_zip(path: Path, built: BuiltZip) -> None:
    """Check the file has the length written and ends with the central directory and end
    records written, byte for byte: what a ZIP reader looks up first, and what places
    every member. A short write, a truncated file or another writer shows here.

    Raises ``BuildError`` when the length or those bytes differ.
    """
    with path.open("rb") as handle:
        if handle.seek(0, os.SEEK_END) != built.size:
            raise BuildError("The built archive does not have the length that was written.")
        handle.seek(built.size - len(built.directory))
        if handle.read() != built.directory:
            raise BuildError("The built archive does not match the uploaded files.")
