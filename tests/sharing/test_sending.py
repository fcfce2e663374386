"""Sending a built ZIP: the range a header asks for, a body gunicorn can send with
``sendfile`` on a corked connection, what a transfer cut short counts, and headers
without a body."""

from __future__ import annotations

import contextlib
import os
import socket
from typing import TYPE_CHECKING

import pytest
from django.http import FileResponse, HttpResponse

from archives import storage
from sharing.sending import (
    ByteRange,
    RangeFile,
    Unsatisfiable,
    acknowledged,
    open_archive,
    parse_range,
    send_archive,
    send_headers_only,
)
from tests.conftest import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from archives.models import Archive


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", ByteRange(0, 9)),
        ("bytes = 10 - 19", ByteRange(10, 19)),
        ("bytes=-10", ByteRange(90, 99)),
        ("bytes=-1000", ByteRange(0, 99)),
        ("bytes=50-", ByteRange(50, 99)),
        ("bytes=90-1000", ByteRange(90, 99)),
        ("bytes=9-5", None),
        ("bytes=-", None),
        ("bytes=0-1,5-6", None),
        ("items=0-9", None),
    ],
)
def test_parse_range_reads_one_range_and_ignores_the_rest(
    header: str, expected: ByteRange | None
) -> None:
    assert parse_range(header, size=100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0", "bytes=250-300"])
def test_parse_range_past_the_end_is_unsatisfiable(header: str) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, size=100)


@pytest.mark.django_db
def test_body_has_a_real_file_descriptor_for_sendfile(
    make_archive: Callable[..., Archive],
) -> None:
    """gunicorn sends a body with a fileno() through os.sendfile (zero-copy), from the
    range's first byte for Content-Length bytes."""
    archive = make_archive()

    response = send_archive(
        archive, open_archive(archive, head=False), byte_range=ByteRange(10, 19), head=False
    )

    assert isinstance(response, FileResponse)
    body = response.file_to_stream
    assert body is not None
    assert os.lseek(body.fileno(), 0, os.SEEK_CUR) == 10
    assert response["Content-Length"] == "10"
    response.close()


@pytest.mark.django_db
def test_the_connection_is_corked_while_the_file_is_sent(
    make_archive: Callable[..., Archive],
) -> None:
    """Headers and file leave in full segments (TCP_CORK) and the rest is let go once
    the server is done with the body."""
    archive = make_archive()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        connection, _ = listener.accept()
        with client, connection:

            def corked() -> int:
                return connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK)

            response = send_archive(
                archive,
                open_archive(archive, head=False),
                byte_range=None,
                head=False,
                connection=connection,
            )
            assert isinstance(response, FileResponse)
            assert corked() == 1
            body = response.file_to_stream
            assert body is not None
            body.close()
            assert corked() == 0

            head = send_archive(
                archive,
                open_archive(archive, head=True),
                byte_range=None,
                head=True,
                connection=connection,
            )
            assert head.status_code == 200
            assert corked() == 0


@pytest.mark.django_db
def test_open_archive_raises_for_a_gone_file_before_anything_is_sent(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive()
    storage.local_path(archive.zip_name).unlink()

    for head in (False, True):
        with pytest.raises(FileNotFoundError):
            open_archive(archive, head=head)


@contextlib.contextmanager
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected TCP pair on 127.0.0.1: the server's end, then the client's."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        connection, _ = listener.accept()
        with client, connection:
            yield connection, client


def receive(client: socket.socket, length: int) -> bytes:
    data = b""
    while len(data) < length:
        data += client.recv(length - len(data))
    return data


def test_acknowledged_counts_what_the_peer_received() -> None:
    assert acknowledged(None) is None
    with tcp_pair() as (connection, client):
        before = acknowledged(connection)
        assert before is not None
        connection.sendall(b"x" * 5000)
        receive(client, 5000)

        assert wait_until(lambda: acknowledged(connection) == before + 5000)


def test_a_transfer_cut_short_counts_only_what_the_client_acknowledged(tmp_path: Path) -> None:
    source = tmp_path / "archive.zip"
    source.write_bytes(os.urandom(100_000))
    closed: list[tuple[int, int]] = []
    with tcp_pair() as (connection, client):
        body = RangeFile(
            source.open("rb"),
            start=1000,
            end=99_999,
            on_close=lambda sent, reached: closed.append((sent, reached)),
            connection=connection,
        )
        # Handed to the socket, as sendfile does, then the client goes away: only 3000
        # bytes ever reached it, though the server's position says 60,000.
        connection.sendall(body.read(3000))
        receive(client, 3000)
        assert wait_until(lambda: (acknowledged(connection) or 0) >= 3000)
        body.seek(61_000)
        body.close()

    [(sent, reached)] = closed
    assert 3000 <= sent < 60_000
    assert reached == 1000 + sent


def test_a_transfer_that_reached_its_end_counts_it_all(tmp_path: Path) -> None:
    """The last bytes may still be on their way when the server is done: sent is sent."""
    source = tmp_path / "archive.zip"
    source.write_bytes(os.urandom(10_000))
    closed: list[tuple[int, int]] = []
    with tcp_pair() as (connection, _client):
        body = RangeFile(
            source.open("rb"),
            start=0,
            end=9999,
            on_close=lambda sent, reached: closed.append((sent, reached)),
            connection=connection,
        )
        body.seek(10_000)
        body.close()

    assert closed == [(10_000, 10_000)]


@pytest.mark.django_db
def test_headers_only_announce_the_whole_zip_and_end_the_connection(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive()
    with tcp_pair() as (connection, client):
        response = send_headers_only(archive, connection=connection)
        assert response.status_code == 200
        assert response["Content-Length"] == str(archive.size)
        assert response["Content-Disposition"].startswith("attachment")
        assert isinstance(response, HttpResponse)
        assert response.content == b""

        response.close()

        assert client.recv(10) == b""
