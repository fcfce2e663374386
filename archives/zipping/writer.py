"""A streaming ZIP writer: members go out in order, already compressed by the caller.

Follows PKWARE APPNOTE 6.3.10. A member whose CRC and sizes are known before its data is
written gets them in its local header; a member streamed block by block gets a data
descriptor after its data (general purpose bit 3), like zipfile writing to a pipe. ZIP64
extra fields are written for members that might pass 4 GiB, and the ZIP64 end records
when the archive, its central directory or its member count pass the classic limits.
Names are UTF-8, flagged with bit 11 when not ASCII.

The sha256 and the length of every byte written are kept on the way, so the archive is
never read again to learn them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from typing import BinaryIO

STORED: Final = 0
DEFLATED: Final = 8

_LOCAL_HEADER: Final = struct.Struct("<IHHHHHIIIHH")
_CENTRAL_HEADER: Final = struct.Struct("<IHHHHHHIIIHHHHHII")
_END_RECORD: Final = struct.Struct("<IHHHHIIH")
_ZIP64_END_RECORD: Final = struct.Struct("<IQHHIIQQQQ")
_ZIP64_LOCATOR: Final = struct.Struct("<IIQI")
_DESCRIPTOR: Final = struct.Struct("<IIII")
_DESCRIPTOR64: Final = struct.Struct("<IIQQ")

_LOCAL_SIGNATURE: Final = 0x04034B50
_CENTRAL_SIGNATURE: Final = 0x02014B50
_END_SIGNATURE: Final = 0x06054B50
_ZIP64_END_SIGNATURE: Final = 0x06064B50
_ZIP64_LOCATOR_SIGNATURE: Final = 0x07064B50
_DESCRIPTOR_SIGNATURE: Final = 0x08074B50
_ZIP64_EXTRA: Final = 0x0001

_FLAG_DESCRIPTOR: Final = 0x0008
_FLAG_UTF8: Final = 0x0800
_VERSION_PLAIN: Final = 20
_VERSION_ZIP64: Final = 45
_MADE_BY_UNIX: Final = 3 << 8
# A regular file, rw-r--r--, as unzip restores it on Unix.
_EXTERNAL_ATTRIBUTES: Final = 0o100644 << 16

LIMIT_32: Final = 0xFFFFFFFF
LIMIT_16: Final = 0xFFFF
# Deflate may grow incompressible input a little (5 bytes per stored block of 64 KiB,
# plus a marker per sync flush), so a member this close to 4 GiB is written as ZIP64 too.
_ZIP64_MARGIN: Final = 64 * 1024 * 1024
# Pieces smaller than ``_SMALL_PIECE`` (headers, small members) are gathered and written
# and hashed ``_GATHERED`` bytes at a time: a write or a hash update of a few KiB each lets
# go of the GIL, and taking it back from the compressing threads costs more than the work.
_SMALL_PIECE: Final = 64 * 1024
_GATHERED: Final = 1024 * 1024


def needs_zip64(size: int) -> bool:
    """Whether a member of ``size`` bytes gets ZIP64 fields, before its compressed size
    is known."""
    return size + size // 256 + _ZIP64_MARGIN >= LIMIT_32


@dataclasses.dataclass(frozen=True)
class Entry:
    """One member as the central directory lists it."""

    name: str
    method: int
    crc: int
    size: int
    compressed_size: int
    offset: int
    is_zip64: bool
    has_descriptor: bool

    @property
    def data_offset(self) -> int:
        """Where the member's (compressed) data starts in the file: after its local
        header, its name and, for ZIP64, the 20-byte extra field ``_local_header``
        writes."""
        extra = 20 if self.is_zip64 else 0
        return self.offset + _LOCAL_HEADER.size + len(self.name.encode()) + extra


def dos_datetime(stamp: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    """Return the MS-DOS (time, date) words of ``(year, month, day, hour, min, sec)``."""
    year, month, day, hour, minute, second = stamp
    year = min(max(year, 1980), 2107)
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


class ZipWriter:
    """Writes a ZIP to ``handle`` from its current position, which must be 0."""

    def __init__(self, handle: BinaryIO, *, stamp: tuple[int, int, int, int, int, int]) -> None:
        self._handle = handle
        self._time, self._date = dos_datetime(stamp)
        self._digest = hashlib.sha256()
        self.offset = 0
        self.entries: list[Entry] = []
        self._open: Entry | None = None
        self._data_start = 0
        self._gathered: list[bytes | memoryview] = []
        self._gathered_size = 0
        # The central directory and end records, once ``close`` wrote them.
        self.directory = b""

    def _write(self, data: bytes | memoryview) -> None:
        self.offset += len(data)
        if len(data) < _SMALL_PIECE:
            self._gathered.append(data)
            self._gathered_size += len(data)
            if self._gathered_size >= _GATHERED:
                self._write_gathered()
            return
        self._write_gathered()
        self._handle.write(data)
        self._digest.update(data)

    def _write_gathered(self) -> None:
        if not self._gathered:
            return
        data = b"".join(self._gathered)
        self._handle.write(data)
        self._digest.update(data)
        self._gathered.clear()
        self._gathered_size = 0

    def _flags(self, encoded_name: bytes, name: str, *, has_descriptor: bool) -> int:
        flags = _FLAG_UTF8 if len(encoded_name) != len(name) else 0
        return flags | (_FLAG_DESCRIPTOR if has_descriptor else 0)

    def _local_header(self, entry: Entry) -> None:
        encoded = entry.name.encode()
        extra = b""
        crc, compressed, size = entry.crc, entry.compressed_size, entry.size
        if entry.is_zip64:
            # Both sizes must be present in a local ZIP64 field (APPNOTE 4.5.3).
            extra = struct.pack("<HHQQ", _ZIP64_EXTRA, 16, size, compressed)
            compressed = size = LIMIT_32
        header = _LOCAL_HEADER.pack(
            _LOCAL_SIGNATURE,
            _VERSION_ZIP64 if entry.is_zip64 else _VERSION_PLAIN,
            self._flags(encoded, entry.name, has_descriptor=entry.has_descriptor),
            entry.method,
            self._time,
            self._date,
            crc,
            compressed,
            size,
            len(encoded),
            len(extra),
        )
        self._write(header + encoded + extra)

    def write_member(self, name: str, *, method: int, crc: int, size: int, payload: bytes) -> Entry:
        """Write a whole member whose compressed ``payload`` and CRC are already known."""
        if self._open is not None:
            raise RuntimeError("a streamed member is still open")
        is_zip64 = needs_zip64(size) or len(payload) >= LIMIT_32
        entry = Entry(
            name=name,
            method=method,
            crc=crc,
            size=size,
            compressed_size=len(payload),
            offset=self.offset,
            is_zip64=is_zip64,
            has_descriptor=False,
        )
        self._local_header(entry)
        self._write(payload)
        self.entries.append(entry)
        return entry

    def start_member(self, name: str, *, method: int, size: int) -> None:
        """Open a member of ``size`` uncompressed bytes whose data follows in pieces."""
        if self._open is not None:
            raise RuntimeError("a streamed member is still open")
        self._open = Entry(
            name=name,
            method=method,
            crc=0,
            size=0,
            compressed_size=0,
            offset=self.offset,
            is_zip64=needs_zip64(size),
            has_descriptor=True,
        )
        self._local_header(self._open)
        self._data_start = self.offset

    def write_data(self, data: bytes | memoryview) -> None:
        """Append compressed data to the open member."""
        self._write(data)

    def finish_member(self, *, crc: int, size: int) -> Entry:
        """Close the open member with its CRC and uncompressed ``size``; return its entry."""
        started = self._open
        if started is None:
            raise RuntimeError("no streamed member is open")
        compressed = self.offset - self._data_start
        if not started.is_zip64 and max(size, compressed) >= LIMIT_32:
            raise ValueError(f"member {started.name!r} passed 4 GiB without ZIP64 fields")
        if started.is_zip64:
            descriptor = _DESCRIPTOR64.pack(_DESCRIPTOR_SIGNATURE, crc, compressed, size)
        else:
            descriptor = _DESCRIPTOR.pack(_DESCRIPTOR_SIGNATURE, crc, compressed, size)
        self._write(descriptor)
        entry = dataclasses.replace(started, crc=crc, size=size, compressed_size=compressed)
        self.entries.append(entry)
        self._open = None
        return entry

    def _central_header(self, entry: Entry) -> bytes:
        encoded = entry.name.encode()
        size, compressed, offset = entry.size, entry.compressed_size, entry.offset
        # Only the fields that overflow go into the central ZIP64 field, in this order
        # (APPNOTE 4.5.3); a member written as ZIP64 keeps both sizes there, as in its
        # local header.
        fields: list[int] = []
        if entry.is_zip64 or size >= LIMIT_32:
            fields.append(size)
            size = LIMIT_32
        if entry.is_zip64 or compressed >= LIMIT_32:
            fields.append(compressed)
            compressed = LIMIT_32
        if offset >= LIMIT_32:
            fields.append(offset)
            offset = LIMIT_32
        extra = b""
        if fields:
            extra = struct.pack(f"<HH{len(fields)}Q", _ZIP64_EXTRA, 8 * len(fields), *fields)
        version = _VERSION_ZIP64 if fields else _VERSION_PLAIN
        header = _CENTRAL_HEADER.pack(
            _CENTRAL_SIGNATURE,
            _MADE_BY_UNIX | version,
            version,
            self._flags(encoded, entry.name, has_descriptor=entry.has_descriptor),
            entry.method,
            self._time,
            self._date,
            entry.crc,
            compressed,
            size,
            len(encoded),
            len(extra),
            0,
            0,
            0,
            _EXTERNAL_ATTRIBUTES,
            offset,
        )
        return header + encoded + extra

    def close(self) -> tuple[int, str]:
        """Write the central directory and end records; return the archive's size and
        sha256 (hex). The bytes written by this call stay in ``directory``."""
        if self._open is not None:
            raise RuntimeError("a streamed member is still open")
        start = self.offset
        pieces = [self._central_header(entry) for entry in self.entries]
        directory_size = sum(map(len, pieces))
        count = len(self.entries)
        if count >= LIMIT_16 or directory_size >= LIMIT_32 or start >= LIMIT_32:
            record_offset = start + directory_size
            pieces.append(
                _ZIP64_END_RECORD.pack(
                    _ZIP64_END_SIGNATURE,
                    _ZIP64_END_RECORD.size - 12,
                    _MADE_BY_UNIX | _VERSION_ZIP64,
                    _VERSION_ZIP64,
                    0,
                    0,
                    count,
                    count,
                    directory_size,
                    start,
                )
            )
            pieces.append(_ZIP64_LOCATOR.pack(_ZIP64_LOCATOR_SIGNATURE, 0, record_offset, 1))
        pieces.append(
            _END_RECORD.pack(
                _END_SIGNATURE,
                0,
                0,
                min(count, LIMIT_16),
                min(count, LIMIT_16),
                min(directory_size, LIMIT_32),
                min(start, LIMIT_32),
                0,
            )
        )
        self.directory = b"".join(pieces)
        self._write(self.directory)
        self._write_gathered()
        self._handle.flush()
        return self.offset, self._digest.hexdigest()
