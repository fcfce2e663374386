"""Sending one member of a stored ZIP (DESIGN section 10), never extracted to disk.

A stored member (ZIP method 0) is a slice of the ZIP: its bytes go out with ``sendfile``
from the member's data offset, through ``RangeFile``, as the archive's do. A deflated one
(method 8) is inflated while it streams (``MemberBody``): compressed bytes are read in
``READ_BYTES`` pieces and inflated at most ``BLOCK_SIZE`` bytes at a time, so memory stays
flat whatever the member's size or compression ratio (a zip bomb included). A range of a
deflated member is inflated from the member's start, the bytes before the range dropped.
From a bucket, each response is one ranged GET of the bytes of the ZIP it needs: the
range of a stored member, the compressed data of a deflated one (``open_member``).

The download is an attachment whatever the member is: ``application/octet-stream``, its
own name (the last part of its path in the ZIP) as ``filename*=UTF-8''...``, its sha256
as the ``ETag``, and the headers that keep a browser from rendering it. ``/raw`` of a
preview (``inline=True``) sends the sniffed media type inline, only for the allow-list.

A member's bytes count against the grant's budget, which is in bytes of the ZIP, as the
bytes of the ZIP they come from (``charge``): a stored member byte for byte, a deflated
one in proportion to its compressed size. So one grant serves every member once (and
the slack), and a member that inflates a thousandfold costs what it weighs in the ZIP.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from django.http import HttpResponse, StreamingHttpResponse

from archives import storage
from sharing.sending import (
    BLOCK_SIZE,
    ByteRange,
    RangeFile,
    ZipResponse,
    unsatisfiable_response,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from django.http import HttpResponseBase

    from archives.models import Archive, ArchiveFile

STORED = 0
DEFLATED = 8
# Compressed bytes read at a time while inflating.
READ_BYTES = 64 * 1024
# The media types a member may be sent inline with (DESIGN section 10's allow-list).
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "audio/flac",
        "audio/mp4",
        "video/mp4",
        "video/webm",
        "application/pdf",
        "text/plain; charset=utf-8",
    }
)


class MemberUnavailable(Exception):
    """The member's place in the ZIP is unknown (built before it was recorded) or its
    method is one this server does not inflate."""


def member_etag(member: ArchiveFile) -> str:
    return f'"{member.sha256}"'


def member_filename(member: ArchiveFile) -> str:
    """The name the member is saved as: the last part of its path in the ZIP."""
    return member.name.rsplit("/", 1)[-1] or "file"


def attachment_header(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` for old clients and the exact name as
    ``filename*=UTF-8''...`` (RFC 6266)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def charge(member: ArchiveFile, length: int) -> int:
    """The bytes of the grant's budget ``length`` bytes of ``member`` cost: their share of
    the member's bytes in the ZIP, rounded up."""
    size, stored = member.size, member.compressed_size
    if size <= 0 or not stored:
        return 0
    return -(-length * stored // size)


def open_member(
    archive: Archive, member: ArchiveFile, byte_range: ByteRange | None = None
) -> BinaryIO:
    """The stored ZIP opened where the bytes of ``byte_range`` of the member (all of it
    when None) are read from: a stored member's first byte of the range; a deflated
    member's data start, inflated from there. From a bucket it is one ranged GET of those
    bytes of the ZIP only (to the range's end, or the deflated data's). Raises
    ``MemberUnavailable`` (see there) and what ``storage.open_stored`` raises."""
    if member.data_offset is None or member.method not in (STORED, DEFLATED):
        raise MemberUnavailable(member.name)
    part = byte_range or ByteRange(0, member.size - 1)
    if member.method == STORED:
        start, end = member.data_offset + part.start, member.data_offset + part.end
    else:
        start, end = member.data_offset, member.data_offset + (member.compressed_size or 0) - 1
    return storage.open_stored(archive.zip_name, start=start, end=end)


class MemberBody:
    """The bytes ``start`` to ``end`` (inclusive) of a member, read from ``handle`` as
    ``open_member`` opened it: inflated from the member's data start for a deflated
    member, read as they are from the range's first byte for a stored one. ``on_close``
    gets the bytes sent when the server is done."""

    def __init__(
        self,
        handle: BinaryIO,
        member: ArchiveFile,
        *,
        start: int,
        end: int,
        on_close: Callable[[int], None] | None = None,
    ) -> None:
        self._handle = handle
        self._member = member
        self._start = start
        self._end = end
        self._on_close = on_close
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        pieces = self._inflated() if self._member.method == DEFLATED else self._stored()
        for piece in pieces:
            self.sent += len(piece)
            yield piece

    def _stored(self) -> Iterator[bytes]:
        left = self._end + 1 - self._start
        while left > 0 and (data := self._handle.read(min(BLOCK_SIZE, left))):
            left -= len(data)
            yield data

    def _inflated(self) -> Iterator[bytes]:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        compressed_left = self._member.compressed_size or 0
        skip, left = self._start, self._end + 1 - self._start
        pending = b""
        while left > 0:
            if not pending:
                if compressed_left <= 0:
                    return
                pending = self._handle.read(min(READ_BYTES, compressed_left))
                if not pending:
                    return
                compressed_left -= len(pending)
            out = inflater.decompress(pending, BLOCK_SIZE)
            pending = inflater.unconsumed_tail
            if skip:
                dropped = min(skip, len(out))
                out, skip = out[dropped:], skip - dropped
            if out:
                out = out[:left]
                left -= len(out)
                yield out
            if inflater.eof:
                return

    def close(self) -> None:
        if self._handle.closed:
            return
        self._handle.close()
        if self._on_close is not None:
            self._on_close(self.sent)


def send_member(
    member: ArchiveFile,
    handle: BinaryIO | None,
    *,
    byte_range: ByteRange | None,
    inline: bool = False,
    on_close: Callable[[int], None] | None = None,
    connection: Any = None,
) -> HttpResponseBase:
    """The member (200) or one range of it (206) from ``handle`` (``open_member`` with
    the same range); headers only when ``handle`` is None (HEAD). ``inline``: the
    preview's raw bytes, with the sniffed media type, inline only when it is on the
    allow-list."""
    size = member.size
    part = byte_range or ByteRange(0, size - 1)
    status = 206 if byte_range else 200
    response: HttpResponseBase
    if handle is None:
        response = HttpResponse(status=status)
    elif member.method == STORED and _has_fileno(handle):
        # Zero-copy: sendfile from the range's first byte in the ZIP.
        position = handle.tell()

        def progress(sent: int, _reached: int) -> None:
            if on_close is not None:
                on_close(sent)

        body = RangeFile(
            handle,
            start=position,
            end=position + part.end - part.start,
            on_close=progress,
            connection=connection,
        )
        response = ZipResponse(body, status=status)
    else:
        response = StreamingHttpResponse(
            MemberBody(handle, member, start=part.start, end=part.end, on_close=on_close),
            status=status,
        )
    member_headers(response, member, inline=inline)
    response["Content-Length"] = str(max(part.length, 0))
    if byte_range:
        response["Content-Range"] = f"bytes {part.start}-{part.end}/{size}"
    return response


def _has_fileno(handle: BinaryIO) -> bool:
    try:
        handle.fileno()
    except (OSError, AttributeError, ValueError):
        return False
    return True


def member_headers(response: HttpResponseBase, member: ArchiveFile, *, inline: bool) -> None:
    """The headers of a member's bytes: an attachment, or inline under section 10."""
    if inline and member.content_type in INLINE_TYPES:
        response["Content-Type"] = member.content_type
        response["Content-Disposition"] = "inline"
    else:
        response["Content-Type"] = "application/octet-stream"
        response["Content-Disposition"] = attachment_header(member_filename(member))
    response["ETag"] = member_etag(member)
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"


def member_unsatisfiable(member: ArchiveFile) -> HttpResponse:
    return unsatisfiable_response(size=member.size, etag=member_etag(member))
