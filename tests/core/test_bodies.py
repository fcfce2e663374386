"""Slow request bodies and too many at once from one address (core/bodies.py): the rules on
their own, then 600 slow sockets against gunicorn as `make run` configures it."""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from core.bodies import STEP, Body, BodyGuard, GuardedInput, Watchdog, address_key
from tests.conftest import (
    first_status_lines,
    free_port,
    healthz_status,
    service_env,
    start_process,
    stop_process,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path


def test_a_body_is_overdue_once_the_wait_passes_grace_plus_what_the_floor_allows() -> None:
    body = Body(length=100_000, received=4096, waited=5.0, pending=4096, reading_since=100.0)
    # Floor 1024 bytes/s, grace 10 s: 8192 bytes (arrived + asked for) allow 18 s of waiting.
    assert not body.overdue(112.9, rate=1024, grace=10)
    assert body.overdue(113.1, rate=1024, grace=10)
    # No floor, or no read in progress (our side is busy, not the client): never overdue.
    assert not body.overdue(10_000.0, rate=0, grace=10)
    assert not Body(length=10, waited=500.0).overdue(10_000.0, rate=1024, grace=10)


@pytest.mark.parametrize(
    ("received", "waited", "expected"),
    [
        (0, 0.0, STEP),  # a new body reads in steps
        (2 * 1024 * 1024, 0.1, 10 * 1024 * 1024),  # 2 MiB in 0.1 s: reads as asked
        (2 * 1024 * 1024, 100.0, STEP),  # 2 MiB in 100 s: under 16x the floor, still steps
    ],
)
def test_reads_go_in_steps_until_the_client_has_shown_it_sends_fast(
    settings: Any, received: int, waited: float, expected: int
) -> None:
    settings.BODY_MIN_RATE = 2048
    body = Body(length=None, received=received, waited=waited)
    assert body.step(10 * 1024 * 1024) == expected


def test_the_guarded_input_reads_the_whole_body_in_steps_and_counts_it() -> None:
    payload = bytes(range(256)) * 1024  # 256 KiB: four steps
    server, client = socket.socketpair()
    with server, client:
        sender = threading.Thread(target=client.sendall, args=(payload + b"beyond the body",))
        sender.start()
        body = Body(length=len(payload))
        stream = GuardedInput(server.makefile("rb"), body)
        assert stream.read() == payload
        assert body.received == len(payload)
        assert stream.read(10) == b""  # the body is over; what follows is not read
        sender.join()


def test_the_guarded_input_reads_lines() -> None:
    server, client = socket.socketpair()
    with server, client:
        client.sendall(b"one\ntwo\n")
        stream = GuardedInput(server.makefile("rb"), Body(length=8))
        assert list(stream) == [b"one\n", b"two\n"]


def test_the_watchdog_shuts_the_reading_side_of_an_overdue_body(settings: Any) -> None:
    settings.BODY_MIN_RATE, settings.BODY_GRACE_SECONDS = 1024, 10
    server, client = socket.socketpair()
    with server, client:
        watchdog = Watchdog()
        slow = Body(length=100_000, sock=server, reading_since=time.monotonic())
        fresh = Body(length=100_000, sock=None, reading_since=time.monotonic())
        watchdog.add(slow)
        watchdog.add(fresh)
        # Now: neither is overdue.
        assert watchdog.check(time.monotonic()) == []
        fresh.reading_since = None  # the application is busy with it, not waiting
        assert watchdog.check(time.monotonic() + 3600) == [slow]
        assert slow.cut and not fresh.cut
        assert server.recv(10) == b""  # a blocked read would return at once: end of body
        server.sendall(b"408")  # the writing side still works: the answer can go out
        assert client.recv(10) == b"408"
        watchdog.discard(slow)
        assert watchdog.check(time.monotonic() + 7200) == []


def _environ(sock: socket.socket | None, *, length: int, address: str = "192.0.2.7") -> dict:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/auth/token/",
        "REMOTE_ADDR": address,
        "CONTENT_LENGTH": str(length),
    }
    if sock is None:
        environ["wsgi.input"] = io.BytesIO(b"x" * length)
    else:
        environ["gunicorn.socket"] = sock
        environ["wsgi.input"] = sock.makefile("rb")
    return environ


class Recorder:
    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status, self.headers = status, headers
        return lambda data: None


def _reading_app(environ: dict, start_response: Any) -> Iterable[bytes]:
    data = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"read %d" % len(data)]


def test_a_request_without_a_body_passes_through_untouched() -> None:
    answer = [b"the download"]
    guard = BodyGuard(lambda environ, start_response: answer)
    environ = {"REQUEST_METHOD": "GET", "REMOTE_ADDR": "192.0.2.7"}
    # The very object: a file response keeps its sendfile wrapper.
    assert guard(environ, Recorder()) is answer
    assert "wsgi.input" not in environ


def test_a_body_that_arrives_in_time_reaches_the_application() -> None:
    server, client = socket.socketpair()
    with server, client:
        client.sendall(b"x" * 5000)
        recorder = Recorder()
        result = BodyGuard(_reading_app)(_environ(server, length=5000), recorder)
        assert recorder.status == "200 OK"
        assert list(result) == [b"read 5000"]


def test_a_body_cut_off_meanwhile_gets_408_whatever_the_application_answered(
    settings: Any,
) -> None:
    settings.BODY_MIN_RATE, settings.BODY_GRACE_SECONDS = 1024, 1
    server, client = socket.socketpair()
    with server, client:
        client.sendall(b"only a few bytes of a big body")
        guard = BodyGuard(_reading_app)
        recorder = Recorder()

        def watch() -> None:
            # As the watchdog's thread would, once the read is waiting for the rest.
            wait_until(lambda: any(b.reading_since for b in list(guard.watchdog._bodies)))
            guard.watchdog.check(time.monotonic() + 3600)

        watcher = threading.Thread(target=watch)
        watcher.start()
        result = guard(_environ(server, length=100_000), recorder)
        watcher.join()
        assert recorder.status == "408 Request Timeout"
        assert "too slowly" in json.loads(b"".join(result))["detail"]


def test_one_body_too_many_from_an_address_gets_429_and_its_connection_is_closed(
    settings: Any,
) -> None:
    settings.BODIES_PER_ADDRESS = 1
    inside, release = threading.Event(), threading.Event()

    def holding_app(environ: dict, start_response: Any) -> Iterable[bytes]:
        if not inside.is_set():  # the first request stays until released
            inside.set()
            release.wait(10)
        start_response("204 No Content", [])
        return []

    guard = BodyGuard(holding_app)
    first = threading.Thread(target=guard, args=(_environ(None, length=10), Recorder()))
    first.start()
    assert inside.wait(10)
    server, client = socket.socketpair()
    with server, client:
        recorder = Recorder()
        result = guard(_environ(server, length=100_000), recorder)
        # Another address is not held back by this one.
        other = Recorder()
        guard(_environ(None, length=10, address="198.51.100.1"), other)
        release.set()
        first.join()
        assert recorder.status == "429 Too Many Requests"
        assert dict(recorder.headers)["Retry-After"] == "5"
        assert "Too many uploads" in json.loads(b"".join(result))["detail"]
        result.close()  # type: ignore[attr-defined]  # the server closes what it sent
        assert server.recv(10) == b""  # the rest of that body is never waited for
        assert other.status == "204 No Content"
    # Once the first has finished, the address may send again.
    again = Recorder()
    guard(_environ(None, length=10), again)
    assert again.status == "204 No Content"


def test_an_ipv6_client_counts_by_its_slash_64(settings: Any) -> None:
    settings.TRUSTED_PROXIES = []
    assert address_key({"REMOTE_ADDR": "2001:db8:1:2:aaaa::1"}) == "2001:db8:1:2::/64"
    assert address_key({"REMOTE_ADDR": "2001:db8:1:2:bbbb::9"}) == "2001:db8:1:2::/64"
    assert address_key({"REMOTE_ADDR": "192.0.2.7"}) == "192.0.2.7"


# The server as `make run` configures it (gunicorn's processes and threads, the guard's cap),
# with a floor and grace that cut a stalled body after about 6 s of waiting.
SOCKETS = 600
HELD_AT_MOST = 2 * 16  # two processes, 16 bodies each from one address


@pytest.fixture
def served(media_dir: Path, tmp_path: Path, transactional_db: None) -> Iterator[tuple[int, Path]]:
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi",
        "--bind", f"127.0.0.1:{port}",
    ]  # fmt: skip
    env = service_env(media_dir, BODY_MIN_RATE="65536", BODY_GRACE_SECONDS="5")
    log = tmp_path / "web.log"
    process = start_process(command, env=env, log=log, ready=b"Booting worker")
    yield port, log
    stop_process(process)


def test_600_slow_bodies_leave_the_service_answering(served: tuple[int, Path]) -> None:
    port, log = served
    # Both processes have loaded the application (the first answers take longer).
    assert [healthz_status(port, timeout=30) for _ in range(4)] == [200] * 4
    sockets = []
    try:
        for _ in range(SOCKETS):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(
                b"POST /api/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
            )
            sockets.append(sock)
        # Beyond the cap per address, refused at once.
        early = first_status_lines(sockets, timeout=30, enough=SOCKETS - HELD_AT_MOST)
        assert set(early.values()) == {"HTTP/1.1 429 Too Many Requests"}
        held = [s for s in sockets if s not in early]
        assert len(held) == HELD_AT_MOST
        # While those are held, the service answers within a second, every time.
        assert [healthz_status(port) for _ in range(5)] == [200] * 5
        # A byte now and then is under the floor: each held body is cut off with 408.
        for sock in held:
            sock.sendall(b"[")
        late = first_status_lines(held, timeout=60)
        assert set(late.values()) == {"HTTP/1.1 408 Request Timeout"}
        assert len(late) == len(held)
        # A body cut off is the client's doing, not a server error.
        assert "Internal Server Error" not in log.read_text()
    finally:
        for sock in sockets:
            sock.close()
