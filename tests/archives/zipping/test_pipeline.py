"""The compression engine's output: parallel blocks that inflate as one stream, every
member matching its source and CRC, deflate or store chosen by content."""

from __future__ import annotations

import struct
import zipfile
import zlib
from typing import TYPE_CHECKING

import pytest

from archives.zipping.pipeline import BLOCK
from tests.archives.test_build import build_now, create, log_text, random_bytes, zip_path

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User


def member_data(path: Path, info: zipfile.ZipInfo) -> bytes:
    """The bytes stored for ``info``, located through its local header."""
    with path.open("rb") as handle:
        handle.seek(info.header_offset)
        header = handle.read(30)
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        handle.seek(info.header_offset + 30 + name_length + extra_length)
        return handle.read(info.compress_size)


def serial_inflate(data: bytes) -> bytes:
    """Decompress a raw deflate stream in one pass with the standard library."""
    inflater = zlib.decompressobj(-15)
    result = inflater.decompress(data) + inflater.flush()
    assert inflater.eof, "the deflate stream has no final block"
    assert not inflater.unused_data
    return result


@pytest.mark.parametrize("size", [BLOCK + 1, 5 * BLOCK, 5 * BLOCK + 4321])
def test_parallel_blocks_decompress_serially_to_the_source(user: User, size: int) -> None:
    text = log_text(size, seed=size)
    files = [("big.log", text), ("second.log", log_text(2 * BLOCK + 99, seed=7))]
    archive = build_now(create(user, files))
    path = zip_path(archive)

    with zipfile.ZipFile(path) as built:
        infos = built.infolist()
    for info, (_, source) in zip(infos, files, strict=True):
        assert info.compress_type == zipfile.ZIP_DEFLATED
        data = member_data(path, info)
        assert serial_inflate(data) == source
        assert zlib.crc32(source) == info.CRC
        assert info.file_size == len(source)
        # Blocks primed with their predecessor's window cost almost nothing in ratio.
        assert len(data) <= len(zlib.compress(source, 6)) * 1.03


def test_every_member_matches_its_source_and_crc(user: User) -> None:
    files = [(f"part-{i:03d}.txt", log_text(100 + i * 997, seed=i)) for i in range(300)]
    files += [("tail.bin", random_bytes(BLOCK + 5)), ("tail.txt", log_text(3 * BLOCK, seed=9))]
    archive = build_now(create(user, files))
    path = zip_path(archive)

    with zipfile.ZipFile(path) as built:
        infos = built.infolist()
    assert [info.filename for info in infos] == [name for name, _ in files]
    for info, (_, source) in zip(infos, files, strict=True):
        data = member_data(path, info)
        unpacked = serial_inflate(data) if info.compress_type == zipfile.ZIP_DEFLATED else data
        assert unpacked == source, info.filename
        assert zlib.crc32(source) == info.CRC, info.filename


@pytest.mark.parametrize(
    ("name", "data", "method"),
    [
        ("photo.jpg", random_bytes(200_000), zipfile.ZIP_STORED),
        ("noise.txt", random_bytes(3 * BLOCK), zipfile.ZIP_STORED),
        ("notes.bin", b"the same line again and again\n" * 5000, zipfile.ZIP_DEFLATED),
        ("server.jpg", log_text(3 * BLOCK), zipfile.ZIP_DEFLATED),
        ("tiny.txt", b"ab", zipfile.ZIP_STORED),
    ],
)
def test_compression_is_chosen_by_content_not_name(
    user: User, name: str, data: bytes, method: int
) -> None:
    archive = build_now(create(user, [(name, data)]))

    with zipfile.ZipFile(zip_path(archive)) as built:
        info = built.getinfo(name)
        assert info.compress_type == method
        assert built.read(name) == data


def test_level_zero_stores_everything(user: User, settings: DjangoSettings) -> None:
    settings.BUILD_COMPRESSION_LEVEL = 0
    files = [("a.txt", log_text(50_000)), ("b.txt", log_text(2 * BLOCK, seed=4))]
    archive = build_now(create(user, files))

    with zipfile.ZipFile(zip_path(archive)) as built:
        assert [i.compress_type for i in built.infolist()] == [zipfile.ZIP_STORED] * 2
        assert built.testzip() is None
