"""Request bodies that arrive too slowly, or too many at once from one address.

gunicorn's threaded worker gives each request a thread, which blocks while the body
arrives, and it has no setting for the slowest rate it accepts. Without a guard, a few
hundred sockets each sending a byte now and then hold every thread, and the service stops
answering, ``/healthz`` included. ``BodyGuard`` wraps the WSGI application (outermost, in
``config.wsgi``) and keeps two rules for every request that has a body:

- At most ``BODIES_PER_ADDRESS`` bodies are read at once from one client address (an IPv6
  /64 counts as one address) in one server process. One more gets 429 at once: its body
  is never read and its connection is closed.
- A body that arrives slower than ``BODY_MIN_RATE`` bytes a second, averaged over the time
  spent waiting for it, is cut off once that wait passes ``BODY_GRACE_SECONDS``: a watchdog
  thread shuts the reading side of the connection (the server's socket, which gunicorn
  hands to the application as ``environ["gunicorn.socket"]``), the blocked read returns,
  and the client gets 408.

Only time spent waiting for the client counts, so a slow disk on our side never cuts a
client off. Behind nginx (production) the proxy buffers bodies and keeps its own limits
(``deploy/nginx``); this guard still applies, per client address as ``TRUSTED_PROXIES``
resolves it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from core.clients import client_ip

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    StartResponse = Callable[..., Any]
    WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

logger = logging.getLogger(__name__)

# Until a client has shown it sends fast, one read asks the server for at most STEP bytes:
# a read blocks until it has what it asked for (or the body ends), so that is how far the
# guard can be behind a slow client's real progress, and a stalled body is cut at the
# latest (BODY_GRACE_SECONDS + STEP / BODY_MIN_RATE) seconds into its wait. A client that
# sent PROVEN_BYTES at FAST_FACTOR times the floor or more reads as the application asks,
# in big reads, which the upload path needs for its speed.
STEP = 64 * 1024
PROVEN_BYTES = 1024 * 1024
FAST_FACTOR = 16
WATCH_INTERVAL = 0.5


class SlowBody(OSError):
    """The body was cut off for arriving below the floor rate."""


@dataclass(eq=False)
class Body:
    """One body being read: what arrived, and how long we have waited for it."""

    length: int | None
    sock: Any = None
    received: int = 0
    waited: float = 0.0
    # Size and start (monotonic) of the read in progress, if one is.
    pending: int = 0
    reading_since: float | None = None
    cut: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def step(self, left: int) -> int:
        """How much the next read asks for, of the ``left`` bytes wanted."""
        rate = settings.BODY_MIN_RATE
        proven = self.received >= PROVEN_BYTES and self.received >= FAST_FACTOR * rate * self.waited
        return left if rate <= 0 or proven else min(left, STEP)

    def overdue(self, now: float, *, rate: int, grace: float) -> bool:
        """Whether the client is behind the floor: we have waited longer than the grace
        plus the time the floor allows for what arrived and the read in progress."""
        if rate <= 0 or self.reading_since is None:
            return False
        waited = self.waited + (now - self.reading_since)
        return waited > grace + (self.received + self.pending) / rate


class GuardedInput:
    """``wsgi.input`` for a guarded body: reads in steps of at most ``STEP`` bytes and
    notes what arrived and how long each read waited."""

    def __init__(self, stream: Any, body: Body) -> None:
        self._stream = stream
        self._body = body

    def _step(self, read: Callable[[int], bytes], size: int) -> bytes:
        body = self._body
        with body.lock:
            if body.cut:
                raise SlowBody("the request body arrived too slowly")
            body.pending = size
            body.reading_since = time.monotonic()
        try:
            data = read(size)
        except OSError as exc:
            if body.cut:
                raise SlowBody("the request body arrived too slowly") from exc
            raise
        finally:
            with body.lock:
                if body.reading_since is not None:
                    body.waited += time.monotonic() - body.reading_since
                body.reading_since = None
                body.pending = 0
        body.received += len(data)
        if body.cut:
            raise SlowBody("the request body arrived too slowly")
        return data

    def read(self, size: int | None = -1) -> bytes:
        left = self._left(size)
        chunks = []
        while left > 0:
            data = self._step(self._stream.read, self._body.step(left))
            if not data:
                break
            chunks.append(data)
            left -= len(data)
        return b"".join(chunks)

    def readline(self, size: int | None = -1) -> bytes:
        return self._step(self._stream.readline, self._body.step(self._left(size)))

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def _left(self, size: int | None) -> int:
        unread = self._body.length - self._body.received if self._body.length is not None else None
        if size is None or size < 0:
            return unread if unread is not None else 1 << 62
        return size if unread is None else min(size, unread)


class Watchdog:
    """One thread per server process that cuts off bodies behind the floor."""

    def __init__(self) -> None:
        self._bodies: set[Body] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, body: Body) -> None:
        with self._lock:
            self._bodies.add(body)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="body-watchdog", daemon=True)
                self._thread.start()

    def discard(self, body: Body) -> None:
        with self._lock:
            self._bodies.discard(body)

    def check(self, now: float) -> list[Body]:
        """Cut off every body behind the floor at ``now``; the ones cut."""
        rate, grace = settings.BODY_MIN_RATE, settings.BODY_GRACE_SECONDS
        with self._lock:
            bodies = list(self._bodies)
        cut = []
        for body in bodies:
            with body.lock:
                if body.cut or not body.overdue(now, rate=rate, grace=grace):
                    continue
                body.cut = True
                waited = body.waited + now - (body.reading_since or now)
            cut.append(body)
            _stop_reading(body.sock)
            logger.warning(
                "request body cut off: %d bytes in %.1f s of waiting, under %d bytes/s",
                body.received,
                waited,
                rate,
            )
        return cut

    def _run(self) -> None:
        while True:
            time.sleep(WATCH_INTERVAL)
            self.check(time.monotonic())


def _stop_reading(sock: Any) -> None:
    """Shut the reading side: a read blocked on it returns at once; the answer can still
    be written."""
    if sock is None:
        return
    with contextlib.suppress(OSError):  # the client closed it already
        sock.shutdown(socket.SHUT_RD)


def address_key(environ: dict[str, Any]) -> str:
    """The client address the per-address cap counts: IPv6 by its /64, as one client
    usually holds the whole prefix."""
    address = client_ip(environ)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


def _length(environ: dict[str, Any]) -> int | None:
    try:
        return int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _has_body(environ: dict[str, Any]) -> bool:
    if "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower():
        return True
    return (_length(environ) or 0) > 0


class _Refusal:
    """A JSON answer whose body is never read; closing it shuts the reading side so the
    server does not wait for the rest of the body."""

    def __init__(self, sock: Any, payload: bytes) -> None:
        self._sock = sock
        self._payload = payload

    def __iter__(self) -> Iterator[bytes]:
        yield self._payload

    def close(self) -> None:
        _stop_reading(self._sock)


def _json(detail: str) -> bytes:
    return json.dumps({"detail": detail}).encode()


class BodyGuard:
    """WSGI middleware: the per-address cap and the floor rate for request bodies."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.watchdog = Watchdog()
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not _has_body(environ):
            return self.app(environ, start_response)
        sock = environ.get("gunicorn.socket")
        key = address_key(environ)
        if not self._enter(key):
            start_response(
                "429 Too Many Requests",
                [("Content-Type", "application/json"), ("Retry-After", "5")],
            )
            return _Refusal(
                sock,
                _json(
                    "Too many uploads at once from your address; "
                    "send the next one when one has finished."
                ),
            )
        body = Body(length=_length(environ), sock=sock)
        try:
            environ["wsgi.input"] = GuardedInput(environ["wsgi.input"], body)
            self.watchdog.add(body)
            return self._respond(environ, start_response, body)
        finally:
            self.watchdog.discard(body)
            self._leave(key)

    def _respond(
        self, environ: dict[str, Any], start_response: StartResponse, body: Body
    ) -> Iterable[bytes]:
        # The application's answer is held back until it returns: a body cut off meanwhile
        # gets 408 instead of whatever the application made of a truncated body.
        captured: list[tuple[Any, ...]] = []

        def capture(*args: Any) -> Callable[[bytes], object]:
            captured.append(args)
            return lambda data: None

        try:
            result = self.app(environ, capture)
        except SlowBody:
            if not body.cut:
                raise
            result = None
        if body.cut:
            if result is not None and hasattr(result, "close"):
                result.close()
            start_response("408 Request Timeout", [("Content-Type", "application/json")])
            rate = settings.BODY_MIN_RATE
            return [_json(f"The request body arrived too slowly (under {rate} bytes a second).")]
        assert result is not None  # only a body cut off raises SlowBody
        start_response(*captured[-1])
        return result

    def _enter(self, key: str) -> bool:
        limit = settings.BODIES_PER_ADDRESS
        with self._lock:
            count = self._open.get(key, 0)
            if limit and count >= limit:
                return False
            self._open[key] = count + 1
            return True

    def _leave(self, key: str) -> None:
        with self._lock:
            count = self._open.get(key, 1) - 1
            if count:
                self._open[key] = count
            else:
                self._open.pop(key, None)
