"""The bytes of uploads in progress: created once, written from an offset in blocks up to
a limit, kept when the client goes away, handed on as a file to rename."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest

from core.media import StorageFull
from resumable import partials
from resumable.partials import (
    FinishedUpload,
    create_partial,
    cut_partial,
    delete_partial,
    partial_path,
    write_partial,
)

if TYPE_CHECKING:
    from tests.conftest import MediaMount


def write(upload_id: str, body: io.BytesIO | None, **overrides: object) -> int:
    options: dict = {
        "offset": 0,
        "limit": 1 << 20,
        "keep_claim": lambda reached: True,
        "renew_every": 3600.0,
    }
    options.update(overrides)
    return write_partial(upload_id, body=body, **options)


def test_a_partial_is_created_empty_once_and_deleted_even_twice() -> None:
    create_partial("u1")
    assert partial_path("u1").read_bytes() == b""
    with pytest.raises(FileExistsError):
        create_partial("u1")

    delete_partial("u1")
    delete_partial("u1")
    assert not partial_path("u1").exists()


def test_writes_continue_from_the_offset_up_to_the_limit() -> None:
    create_partial("u2")

    assert write("u2", io.BytesIO(b"hello")) == 5
    assert write("u2", io.BytesIO(b" world, and more"), offset=5, limit=6) == 11
    assert write("u2", None, offset=11) == 11
    assert partial_path("u2").read_bytes() == b"hello world"


def test_the_body_is_read_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(partials, "READ_BYTES", 4)
    sizes: list[int] = []

    class Body(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            sizes.append(size or 0)
            return super().read(size)

    create_partial("u3")

    assert write("u3", Body(b"0123456789"), limit=10) == 10
    assert sizes == [4, 4, 2]


def test_a_lost_claim_stops_the_writing_at_what_is_flushed() -> None:
    create_partial("u4")
    reached: list[int] = []

    def lost(offset: int) -> bool:
        reached.append(offset)
        return False

    assert write("u4", io.BytesIO(b"data"), keep_claim=lost, renew_every=0.0) == 0
    assert reached == [0]
    assert partial_path("u4").read_bytes() == b""


def test_a_broken_connection_keeps_what_arrived(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(partials, "READ_BYTES", 3)

    class Broken(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            if self.tell() >= 3:
                raise ConnectionResetError
            return super().read(size)

    create_partial("u5")

    assert write("u5", Broken(b"abcdef")) == 3
    assert partial_path("u5").read_bytes() == b"abc"


def test_a_partial_is_cut_back_to_a_size() -> None:
    create_partial("u7")
    write("u7", io.BytesIO(b"kept, then dropped"))

    cut_partial("u7", size=4)

    assert partial_path("u7").read_bytes() == b"kept"


def test_a_finished_upload_is_a_file_to_rename_or_read() -> None:
    create_partial("u6")
    write("u6", io.BytesIO(b"payload"))

    finished = FinishedUpload("u6", name="a.txt", size=7)

    assert finished.temporary_file_path() == str(partial_path("u6"))
    assert finished.name == "a.txt"
    assert finished.size == 7
    assert finished.seek(0) == 0
    assert finished.read() == b"payload"
    finished.close()


def test_a_write_on_a_full_disk_is_cut_back_to_the_offset(media_mount: MediaMount) -> None:
    create_partial("u9")
    assert write("u9", io.BytesIO(b"kept")) == 4
    media_mount.fill()

    with pytest.raises(StorageFull):
        write("u9", io.BytesIO(b"x" * 100_000), offset=4)

    assert partial_path("u9").read_bytes() == b"kept"
