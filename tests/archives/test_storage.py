"""Local storage: removal in batches, never outside the storage root."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.core.exceptions import SuspiciousFileOperation

from archives import storage

if TYPE_CHECKING:
    from pathlib import Path


def stored(name: str, data: bytes = b"x") -> Path:
    path = storage.local_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_delete_many_removes_the_files_and_their_emptied_folder() -> None:
    paths = [stored(storage.source_name("abc", position)) for position in range(3)]
    kept = stored(storage.source_name("other", 0))

    storage.delete_many([storage.source_name("abc", p) for p in range(3)] + ["", "uploads/abc/9"])

    assert not any(path.exists() for path in paths)
    assert not paths[0].parent.exists()
    assert kept.exists()


@pytest.mark.parametrize("name", ["uploads/../../victim", "uploads/abc/..", "../victim"])
def test_delete_many_refuses_names_outside_the_root(name: str) -> None:
    victim = storage.root().parent / "victim"
    victim.write_bytes(b"keep me")
    try:
        with pytest.raises(SuspiciousFileOperation):
            storage.delete_many([name])
        assert victim.read_bytes() == b"keep me"
    finally:
        victim.unlink()


def test_delete_many_removes_a_link_and_not_what_it_points_to(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_bytes(b"keep me")
    link = storage.local_path("uploads/abc/00000")
    link.parent.mkdir(parents=True)
    link.symlink_to(target)

    storage.delete_many(["uploads/abc/00000"])

    assert not link.is_symlink()
    assert target.read_bytes() == b"keep me"


def test_check_stored_raises_for_a_gone_or_unreadable_file() -> None:
    stored("archives/here.zip")
    storage.local_path("archives/folder.zip").mkdir(parents=True)

    storage.check_stored("archives/here.zip")
    with pytest.raises(FileNotFoundError):
        storage.check_stored("archives/gone.zip")
    with pytest.raises(IsADirectoryError):
        storage.check_stored("archives/folder.zip")


def test_a_build_temporary_zip_is_known_by_its_archive_id() -> None:
    building = storage.temporary_zip_path("abc123")
    name = building.relative_to(storage.root()).as_posix()

    assert storage.partial_build_archive_id(name) == "abc123"
    assert storage.partial_build_archive_id(storage.zip_name("abc123")) is None
    assert storage.partial_build_archive_id(storage.source_name("abc123", 0)) is None


def test_local_files_lists_regular_files_with_their_last_change() -> None:
    source = storage.local_path(storage.source_name("abc123", 0))
    source.parent.mkdir(parents=True)
    source.write_bytes(b"x")
    (source.parent / "link").symlink_to(source)

    [(name, changed)] = storage.local_files(["uploads", "archives"])

    assert name == "uploads/abc123/00000"
    assert changed == max(source.stat().st_mtime, source.stat().st_ctime)
