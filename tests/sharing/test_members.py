"""Sending one member: its headers, its budget charge, and inflating it in a stream."""

from __future__ import annotations

import io
import random
import zlib
from typing import TYPE_CHECKING

import pytest

from archives.models import ArchiveFile
from sharing.members import (
    DEFLATED,
    STORED,
    MemberBody,
    attachment_header,
    charge,
    member_filename,
    member_headers,
    send_member,
)
from sharing.sending import ByteRange

if TYPE_CHECKING:
    from collections.abc import Iterable

DATA = random.Random(3).randbytes(50_000) * 40  # 2 MB, compresses 40 to 1


def deflated(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def member(method: int, payload: bytes, size: int, name: str = "a/b.bin") -> ArchiveFile:
    return ArchiveFile(
        name=name, size=size, sha256="ab" * 32, method=method, compressed_size=len(payload)
    )


class OneWay(io.RawIOBase):
    """A stream that cannot seek, as a bucket's body, serving short reads."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self._data.read(min(len(buffer), 7_000))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def joined(pieces: Iterable[bytes]) -> bytes:
    return b"".join(pieces)


@pytest.mark.parametrize(("start", "end"), [(0, len(DATA) - 1), (1, 1), (1_500_000, len(DATA) - 1)])
def test_a_deflated_member_is_inflated_range_by_range(start: int, end: int) -> None:
    payload = deflated(DATA)
    sent: list[int] = []
    # Followed by the next member's bytes, which are never read as this one's.
    handle = io.BufferedReader(OneWay(payload + b"NEXT MEMBER"))
    body = MemberBody(
        handle, member(DEFLATED, payload, len(DATA)), start=start, end=end, on_close=sent.append
    )

    assert joined(body) == DATA[start : end + 1]
    body.close()
    assert sent == [end + 1 - start]


def test_a_stored_member_read_through_a_stream_that_cannot_seek() -> None:
    # As a bucket's GET from the range's first byte (open_member), running on past it.
    handle = io.BufferedReader(OneWay(DATA[99_990:100_000] + b"NEXT"))
    body = MemberBody(handle, member(STORED, DATA[:100_000], 100_000), start=99_990, end=99_999)

    assert joined(body) == DATA[99_990:100_000]


def test_a_stored_member_is_sent_from_the_range_s_first_byte() -> None:
    handle = io.BytesIO(b"HEADER" + DATA[:1000] + b"TRAILER")
    handle.seek(6 + 10)
    response = send_member(member(STORED, DATA[:1000], 1000), handle, byte_range=ByteRange(10, 19))
    # A BytesIO has no file descriptor: the bytes are read, still only the range.
    assert joined(response.streaming_content) == DATA[10:20]  # type: ignore[attr-defined]
    assert response["Content-Range"] == "bytes 10-19/1000"


def test_charge_is_the_share_of_the_member_in_the_zip() -> None:
    big = member(DEFLATED, b"x" * 100, 10_000)
    assert charge(big, 10_000) == 100
    assert charge(big, 1) == 1
    assert charge(big, 150) == 2
    assert charge(member(STORED, b"y" * 10, 10), 7) == 7
    assert charge(member(STORED, b"", 0), 0) == 0


def test_the_name_and_the_headers_of_an_attachment() -> None:
    assert member_filename(member(STORED, b"", 0, name='dir/sub/Файл "x".txt')) == 'Файл "x".txt'
    assert attachment_header('Файл "x".txt') == (
        'attachment; filename="____ _x_.txt"; '
        "filename*=UTF-8''%D0%A4%D0%B0%D0%B9%D0%BB%20%22x%22.txt"
    )


@pytest.mark.parametrize(
    ("content_type", "inline"),
    [
        ("image/png", True),
        ("text/plain; charset=utf-8", True),
        ("application/pdf", True),
        ("image/svg+xml", False),
        ("text/html", False),
        ("", False),
    ],
)
def test_only_the_allow_list_is_ever_inline(content_type: str, inline: bool) -> None:
    from django.http import HttpResponse

    response = HttpResponse()
    file = member(STORED, b"", 0)
    file.content_type = content_type
    member_headers(response, file, inline=True)

    assert (response["Content-Disposition"] == "inline") is inline
    assert response["Content-Type"] == (content_type if inline else "application/octet-stream")
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
