"""Request bodies received in large blocks, for the uploads of any size.

Behind gunicorn a body is received straight from the client's socket into the reader's
own buffer: gunicorn's body reader copies every block several times over, which halved
the speed of a 1 GiB upload. Elsewhere (the test server, any other WSGI server, a
chunked body) it is read from ``wsgi.input``.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any, Protocol

from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import Unreader

if TYPE_CHECKING:
    from django.http import HttpRequest

# Bytes received at a time.
READ_BYTES = 1024 * 1024


class BodySource(Protocol):
    def readinto(self, view: memoryview) -> int:
        """Fill the start of ``view`` with the next bytes of the body; 0 at its end."""
        ...

    def finish(self) -> None:
        """The reader is done, maybe before the end of the body."""
        ...


class StreamSource:
    """The body as ``wsgi.input`` (through the request) gives it, ``remaining`` bytes."""

    def __init__(self, stream: Any, remaining: int) -> None:
        self._stream = stream
        self._remaining = remaining

    def readinto(self, view: memoryview) -> int:
        if self._remaining <= 0:
            return 0
        data = self._stream.read(min(len(view), self._remaining))
        view[: len(data)] = data
        self._remaining -= len(data)
        return len(data)

    def finish(self) -> None:
        # The server drops what is left of a body the application did not read.
        return None


class GunicornSocketSource:
    """The body received from gunicorn's client socket itself, after the bytes gunicorn
    had already received with the headers.

    While the parser reads, gunicorn's reader of the body is told it has nothing left;
    ``finish`` gives it back what the parser left unread. gunicorn drops that before it
    reads the next request on the connection, or closes the connection when it is more
    than gunicorn drains."""

    def __init__(self, sock: Any, reader: LengthReader, unreader: Unreader, length: int) -> None:
        self._sock = sock
        self._reader = reader
        self._unreader = unreader
        # What gunicorn received with the headers: the start of the body, and perhaps
        # the start of a next request, which stays in its buffer. The buffer is read
        # and set whole: gunicorn's own unread() has prepended or appended by version.
        received = unreader.buf.getvalue()
        self._buffered = received[:length]
        unreader.buf = io.BytesIO(received[length:])
        unreader.buf.seek(0, os.SEEK_END)
        self._remaining = length - len(self._buffered)
        reader.length = 0

    @classmethod
    def of(cls, request: HttpRequest, length: int) -> GunicornSocketSource | None:
        """The source for ``request`` when gunicorn serves it and nothing of its body
        has been read yet; None otherwise."""
        sock = request.META.get("gunicorn.socket")
        body = request.META.get("wsgi.input")
        if sock is None or not isinstance(body, Body) or body.buf.tell():
            return None
        reader = body.reader
        if not isinstance(reader, LengthReader) or reader.length != length:
            return None
        unreader = reader.unreader
        if not isinstance(unreader, Unreader):
            return None
        return cls(sock, reader, unreader, length)

    def readinto(self, view: memoryview) -> int:
        if self._buffered:
            count = min(len(view), len(self._buffered))
            view[:count] = self._buffered[:count]
            self._buffered = self._buffered[count:]
            return count
        if self._remaining <= 0:
            return 0
        count = self._sock.recv_into(view, min(len(view), self._remaining))
        self._remaining -= count
        if not count:
            self._remaining = 0
        return count

    def finish(self) -> None:
        following = self._unreader.buf.getvalue()
        self._unreader.buf = io.BytesIO(self._buffered + following)
        self._unreader.buf.seek(0, os.SEEK_END)
        self._reader.length = len(self._buffered) + self._remaining
        self._buffered = b""
        self._remaining = 0


def body_source(request: HttpRequest, stream: Any, *, length: int) -> BodySource:
    """Where to read the ``length`` bytes of ``request``'s body from: gunicorn's socket
    when it can be, else ``stream`` (the request, or ``wsgi.input``). The caller calls
    ``finish()`` when done, also when it stops early."""
    return GunicornSocketSource.of(request, length) or StreamSource(stream, length)
