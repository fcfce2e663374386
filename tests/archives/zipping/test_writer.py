"""The ZIP writer's encodings that ordinary builds do not reach: ZIP64 and many members."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import zipfile
import zlib
from typing import TYPE_CHECKING

import pytest

from archives.zipping import writer
from archives.zipping.writer import DEFLATED, LIMIT_32, STORED, ZipWriter, needs_zip64

if TYPE_CHECKING:
    from pathlib import Path
    from typing import BinaryIO

STAMP = (2024, 5, 17, 13, 45, 30)
TEXT = b"twenty bytes of text" * 2000
# Larger than the pieces the writer gathers before writing, so small and large writes mix.
LONG = bytes(range(256)) * 400


def write_sample(handle: BinaryIO) -> tuple[int, str]:
    writer = ZipWriter(handle, stamp=STAMP)
    payload = zlib.compress(TEXT, 6, -15)
    writer.write_member(
        "whole.txt", method=DEFLATED, crc=zlib.crc32(TEXT), size=len(TEXT), payload=payload
    )
    writer.start_member("streamed/Привет.bin", method=STORED, size=len(LONG))
    writer.write_data(LONG[:1000])
    writer.write_data(LONG[1000:])
    writer.finish_member(crc=zlib.crc32(LONG), size=len(LONG))
    writer.write_member("empty", method=STORED, crc=0, size=0, payload=b"")
    return writer.close()


def check_with_readers(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["whole.txt", "streamed/Привет.bin", "empty"]
        assert archive.read("whole.txt") == TEXT
        assert archive.read("streamed/Привет.bin") == LONG
        info = archive.getinfo("whole.txt")
        assert info.date_time == STAMP
    if shutil.which("unzip"):
        result = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_written_zip_is_read_by_zipfile_and_unzip(tmp_path: Path) -> None:
    path = tmp_path / "plain.zip"
    with path.open("wb") as handle:
        size, _ = write_sample(handle)
    assert path.stat().st_size == size
    check_with_readers(path)


def test_zip64_fields_are_read_by_zipfile_and_unzip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Members past 4 GiB are out of reach of the suite (the benchmark builds one); the
    # same fields written for small members show they are encoded right.
    monkeypatch.setattr(writer, "needs_zip64", lambda size: True)
    path = tmp_path / "zip64.zip"
    with path.open("wb") as handle:
        write_sample(handle)
    check_with_readers(path)
    with zipfile.ZipFile(path) as archive:
        assert all(info.extract_version == 45 for info in archive.infolist())


def test_more_than_65535_members_get_zip64_end_records(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    count = 70_000
    with path.open("wb") as handle:
        writer = ZipWriter(handle, stamp=STAMP)
        for number in range(count):
            writer.write_member(f"f{number:05d}", method=STORED, crc=0, size=0, payload=b"")
        writer.close()
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        start = archive.start_dir
    # The ZIP64 end records are part of what the writer keeps as its directory.
    assert path.read_bytes()[start:] == writer.directory
    assert len(names) == count
    assert names[-1] == "f69999"
    if shutil.which("unzip"):
        result = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_sha256_and_size_are_those_of_the_bytes_written() -> None:
    buffer = io.BytesIO()
    size, digest = write_sample(buffer)
    assert size == len(buffer.getvalue())
    assert digest == hashlib.sha256(buffer.getvalue()).hexdigest()


def test_directory_is_the_tail_a_reader_lists_the_members_from() -> None:
    buffer = io.BytesIO()
    writer = ZipWriter(buffer, stamp=STAMP)
    assert writer.directory == b""
    writer.write_member("a.txt", method=STORED, crc=zlib.crc32(b"a"), size=1, payload=b"a")
    writer.close()
    with zipfile.ZipFile(buffer) as archive:
        start = archive.start_dir
    assert start == 30 + len("a.txt") + 1
    assert buffer.getvalue()[start:] == writer.directory


def test_members_near_4_gib_are_written_as_zip64() -> None:
    assert not needs_zip64(0)
    assert not needs_zip64(3 * 1024**3)
    assert needs_zip64(LIMIT_32 - 1024)
    assert needs_zip64(5 * 1024**3)


def test_streamed_member_past_4_gib_without_zip64_is_refused() -> None:
    writer = ZipWriter(io.BytesIO(), stamp=STAMP)
    writer.start_member("small", method=STORED, size=10)
    with pytest.raises(ValueError, match="without ZIP64"):
        writer.finish_member(crc=0, size=LIMIT_32 + 1)
