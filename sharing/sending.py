"""Sending a built ZIP: ``Range`` (one range), ``If-Range``, a strong ``ETag``, and the
headers that keep a browser from ever showing it inline.

The body is a file object with a real ``fileno()``, so gunicorn hands it to
``os.sendfile`` (zero-copy) from the range's first byte for exactly ``Content-Length``
bytes; other WSGI servers read it through ``read()``, which stops at the range's end.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

from archives import storage

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest, HttpResponseBase

    from archives.models import Archive

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
BLOCK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class Unsatisfiable(Exception):
    """The requested range lies past the end of the file (416)."""


def parse_range(header: str, *, size: int) -> ByteRange | None:
    """Return the one range ``header`` asks for, or None to send the whole file.

    A malformed header or several ranges are ignored (RFC 9110 allows it); raises
    ``Unsatisfiable`` when the range starts past the end.
    """
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0:
            raise Unsatisfiable
        return ByteRange(max(size - suffix, 0), size - 1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size:
        raise Unsatisfiable
    if end < start:
        return None
    return ByteRange(start, end)


def etag_of(archive: Archive) -> str:
    return f'"{archive.sha256}"'


def requested_range(request: HttpRequest, archive: Archive) -> ByteRange | None:
    """The range of the archive to send (``range_of``)."""
    if archive.size is None:
        return None
    return range_of(request, size=archive.size, etag=etag_of(archive))


def range_of(request: HttpRequest, *, size: int, etag: str) -> ByteRange | None:
    """The range of a file of ``size`` bytes and ``etag`` to send: None for the whole
    file, also when ``If-Range`` no longer matches ``etag`` (then the client must start
    over)."""
    header = request.headers.get("Range", "")
    if not header:
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        return None
    return parse_range(header, size=size)


class ZipResponse(FileResponse):
    block_size = BLOCK_SIZE


class RangeFile:
    """A read-only view of the bytes ``start`` to ``end`` (inclusive) of ``handle`` that
    tells ``on_close`` how far the transfer got: the bytes sent and the position in the
    file after the last one.

    Progress is the furthest position reached: through ``read()``, or through ``seek()``,
    which ``socket.sendfile`` (gunicorn's zero-copy path) calls with the position after
    the last byte it sent, also when the client went away mid-way. A transfer that
    stopped short counts only what the client's TCP acknowledged (``acknowledged``), when
    the connection tells: what the server had handed to its socket buffers then never
    reached a client that went away, and the grant gets it back.
    """

    def __init__(
        self,
        handle: BinaryIO,
        *,
        start: int,
        end: int,
        on_close: Callable[[int, int], None] | None = None,
        connection: Any = None,
    ) -> None:
        handle.seek(start)
        self._handle = handle
        self._start = start
        self._end = end
        self._reached = start
        self._on_close = on_close
        self._acknowledged_before = acknowledged(connection)
        self._socket = connection
        self._connection = _corked(connection)
        self.mode = "rb"

    def fileno(self) -> int:
        return self._handle.fileno()

    def read(self, size: int = -1) -> bytes:
        position = self._handle.tell()
        left = self._end + 1 - position
        if left <= 0:
            return b""
        data = self._handle.read(left if size < 0 else min(size, left))
        self._reached = max(self._reached, position + len(data))
        return data

    def seek(self, position: int, whence: int = 0) -> int:
        reached = self._handle.seek(position, whence)
        self._reached = max(self._reached, min(reached, self._end + 1))
        return reached

    def tell(self) -> int:
        return self._handle.tell()

    def seekable(self) -> bool:
        # Keeps Django's FileResponse from seeking to the end to measure the body (its
        # Content-Length is set from the range): only the sender's seeks are progress.
        return False

    def close(self) -> None:
        if self._handle.closed:
            return
        self._handle.close()
        if self._connection is not None:
            _uncork(self._connection)
        if self._on_close is not None:
            sent = self._reached - self._start
            if self._reached <= self._end:
                sent = min(sent, self._received())
            self._on_close(sent, self._start + sent)

    def _received(self) -> int:
        """The bytes of this response the client's TCP acknowledged (its headers
        included, so never fewer than it got); unbounded when the connection cannot
        tell."""
        after = acknowledged(self._socket)
        if after is None or self._acknowledged_before is None:
            return sys.maxsize
        return max(after - self._acknowledged_before, 0)


# struct tcp_info (linux/tcp.h): tcpi_bytes_acked is the u64 at this offset (Linux 4.1+).
_TCP_INFO_BYTES_ACKED = 120


def acknowledged(connection: Any) -> int | None:
    """The bytes sent on ``connection`` (a TCP socket) that its peer acknowledged so far,
    from Linux's ``TCP_INFO``; None for no socket, another system or an older kernel."""
    if connection is None or not hasattr(socket, "TCP_INFO"):
        return None
    try:
        info = connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_BYTES_ACKED + 8)
    except (OSError, AttributeError):
        return None
    if len(info) < _TCP_INFO_BYTES_ACKED + 8:
        return None
    return struct.unpack_from("=Q", info, _TCP_INFO_BYTES_ACKED)[0]


def _corked(connection: Any) -> Any:
    """``connection`` (the client's TCP socket, when the server exposes it) with partial
    segments held back, as nginx's ``tcp_nopush`` does: the headers leave with the first
    bytes of the file, and every segment of the file is full. A bare gunicorn app sending
    1 GiB with ``sendfile`` measured 0.82x of nginx without it, 0.97x with it. None when
    there is no TCP socket to cork."""
    if connection is None or not hasattr(socket, "TCP_CORK"):
        return None
    try:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    except (OSError, AttributeError):
        return None
    return connection


def _uncork(connection: Any) -> None:
    # Sends what is held back; on a connection already gone there is nothing to send.
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)


def _common_headers(response: HttpResponseBase, archive: Archive) -> None:
    response["Content-Type"] = "application/zip"
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=archive.download_filename
    )
    response["ETag"] = etag_of(archive)
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"


@dataclass(frozen=True)
class StoredZip:
    """The stored ZIP of an archive, found before a download is counted: the open file
    the app sends, or the URL storage serves it from; neither when the response carries
    no body of ours (HEAD, or nginx sends the file)."""

    handle: BinaryIO | None = None
    url: str | None = None

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


def open_archive(archive: Archive, *, head: bool) -> StoredZip:
    """Open (or, where another sends it, look for) the stored ZIP of ``archive``, so that
    nothing is counted for a file that cannot be sent. The caller closes what it does not
    send.

    Raises ``FileNotFoundError`` when the file is gone, another ``OSError`` when it cannot
    be read, ``storage.StorageError`` when a bucket could not be asked.
    """
    if not head:
        url = storage.download_url(archive.zip_name, filename=archive.download_filename)
        if url is not None:
            storage.check_stored(archive.zip_name)
            return StoredZip(url=url)
    if head or settings.DOWNLOAD_ACCEL == "nginx":
        storage.check_stored(archive.zip_name)
        return StoredZip()
    return StoredZip(handle=storage.local_path(archive.zip_name).open("rb"))


def send_archive(
    archive: Archive,
    stored: StoredZip,
    *,
    byte_range: ByteRange | None,
    head: bool,
    on_close: Callable[[int, int], None] | None = None,
    connection: Any = None,
) -> HttpResponseBase:
    """The ZIP (200) or one range of it (206) from ``stored`` (``open_archive``), headers
    only for HEAD. ``on_close`` gets the bytes sent and the position in the file after
    the last one, once the server is done. ``connection`` is the client's socket when the
    server exposes it (gunicorn's ``gunicorn.socket``): it is corked while the file is
    sent.

    When storage hands out URLs of its own (a bucket), a GET is redirected to one and the
    client's ``Range`` applies there. Otherwise, with ``DOWNLOAD_ACCEL=nginx``, a GET is
    answered with ``X-Accel-Redirect`` and nginx sends the file, applying ``Range`` and
    ``If-Range`` itself. Raises ``ValueError`` for a GET the app sends when ``stored``
    holds no open file.
    """
    if stored.url is not None:
        return _redirect_to_storage(stored.url)
    if settings.DOWNLOAD_ACCEL == "nginx" and not head:
        return _send_through_nginx(archive)
    size = archive.size or 0
    part = byte_range or ByteRange(0, size - 1)
    if head:
        response: HttpResponseBase = HttpResponse(status=206 if byte_range else 200)
    else:
        handle = stored.handle
        if handle is None:
            raise ValueError("no stored file was opened for this download")
        body = RangeFile(
            handle, start=part.start, end=part.end, on_close=on_close, connection=connection
        )
        response = ZipResponse(body, status=206 if byte_range else 200)
    _common_headers(response, archive)
    response["Content-Length"] = str(part.length)
    if byte_range:
        response["Content-Range"] = f"bytes {part.start}-{part.end}/{size}"
    return response


def _redirect_to_storage(url: str) -> HttpResponseBase:
    """A 302 to a short-lived URL that serves the ZIP as an attachment.

    ``on_close`` is never called: the bytes go from storage to the client, so how many
    arrive cannot be known here.
    """
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _send_through_nginx(archive: Archive) -> HttpResponseBase:
    """An empty 200 naming the file for nginx's internal location. nginx keeps only some
    of these headers (Content-Type, Content-Disposition, Cache-Control); its config adds
    the rest back from ``$upstream_http_*`` (deploy/nginx/)."""
    # Checks that the name stays under the storage root, as serving it directly would.
    storage.local_path(archive.zip_name)
    response = HttpResponse()
    _common_headers(response, archive)
    # nginx announces ranges itself and would keep ours too, sending the header twice.
    del response["Accept-Ranges"]
    response["X-Accel-Redirect"] = settings.DOWNLOAD_ACCEL_LOCATION + quote(archive.zip_name)
    return response


class HeadersOnlyResponse(HttpResponse):
    """A response whose headers announce a body it does not send: once the server has
    written them, the client's connection is shut, so the client sees a transfer broken
    after the headers instead of waiting for the bytes."""

    def __init__(self, *, connection: Any = None) -> None:
        super().__init__()
        self._connection = connection

    def close(self) -> None:
        super().close()
        if self._connection is not None:
            # A client already gone leaves nothing to shut.
            with contextlib.suppress(OSError):
                self._connection.shutdown(socket.SHUT_RDWR)


def send_headers_only(archive: Archive, *, connection: Any = None) -> HttpResponseBase:
    """The headers of a 200 carrying the whole ZIP, and none of its bytes: the connection
    (the client's socket, when the server exposes it) ends after them."""
    response = HeadersOnlyResponse(connection=connection)
    _common_headers(response, archive)
    response["Content-Length"] = str(archive.size or 0)
    return response


def send_unsatisfiable(archive: Archive) -> HttpResponse:
    return unsatisfiable_response(size=archive.size or 0, etag=etag_of(archive))


def unsatisfiable_response(*, size: int, etag: str) -> HttpResponse:
    """The 416 of a range past the end of a file of ``size`` bytes and ``etag``."""
    response = HttpResponse(status=416)
    response["Content-Range"] = f"bytes */{size}"
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    return response
