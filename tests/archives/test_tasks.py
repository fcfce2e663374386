"""The tasks the archives queue: the build, then the removal of its sources by a task of
its own, which leaves them named by their rows until they are gone; the removal of a
deleted archive's files, retried while storage fails."""

from __future__ import annotations

import errno
import logging
import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from archives import build, storage
from archives.build import is_transient, remove_sources
from archives.models import Archive, Status
from archives.orphans import remove_orphan_files
from archives.services import purge_expired
from archives.tasks import build_archive_task, remove_archive_files_task, remove_sources_task
from archives.zipping.pipeline import BuildError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from pytest_django import DjangoCaptureOnCommitCallbacks as CaptureCallbacks

    from tests.conftest import MediaMount

pytestmark = pytest.mark.django_db

ZIP = "archives/gone.zip"


def _stored_zip() -> None:
    path = storage.local_path(ZIP)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK")


def test_file_removal_is_retried_while_storage_fails_then_done(
    media_mount: MediaMount, caplog: pytest.LogCaptureFixture
) -> None:
    _stored_zip()
    caplog.set_level(logging.INFO, logger="celery.app.trace")

    with media_mount.read_only():
        failed = remove_archive_files_task.apply(args=("gone", [ZIP]))

    assert failed.state == "FAILURE"
    assert isinstance(failed.result, OSError)
    retries = [record for record in caplog.records if "retry: Retry in" in record.getMessage()]
    assert len(retries) == remove_archive_files_task.max_retries
    assert storage.local_path(ZIP).exists()

    assert remove_archive_files_task.apply(args=("gone", [ZIP])).state == "SUCCESS"
    assert not storage.local_path(ZIP).exists()
    assert remove_archive_files_task.apply(args=("gone", [ZIP])).state == "SUCCESS"


def test_file_removal_is_not_retried_for_a_name_outside_storage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="celery.app.trace")

    failed = remove_archive_files_task.apply(args=("gone", ["../outside.zip"]))

    assert failed.state == "FAILURE"
    assert not any("retry: Retry in" in record.getMessage() for record in caplog.records)


@pytest.fixture
def built(
    make_archive: Callable[..., Archive],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> tuple[Archive, list[str]]:
    """A ready archive of two files, and the archive ids whose sources' removal was
    queued (not run)."""
    queued: list[str] = []
    monkeypatch.setattr(remove_sources_task, "delay", queued.append)
    archive = make_archive({"a.txt": b"alpha", "b.txt": b"beta"}, build=False)
    with django_capture_on_commit_callbacks(execute=True):
        build_archive_task(archive.id)
    archive.refresh_from_db()
    assert archive.status == Status.READY, archive.error
    return archive, queued


def _sources(archive: Archive) -> list[str]:
    return list(archive.files.order_by("position").values_list("source_name", flat=True))


def test_sources_stay_named_until_their_queued_removal_runs(
    built: tuple[Archive, list[str]],
) -> None:
    archive, queued = built
    names = _sources(archive)

    assert queued == [archive.id]
    assert all(storage.local_path(name).exists() for name in names)

    assert remove_sources(archive.id) == 2
    assert not any(storage.local_path(name).exists() for name in names)
    assert not (storage.root() / "uploads" / archive.id).exists()
    assert _sources(archive) == ["", ""]
    assert remove_sources(archive.id) == 0  # a redelivered message finds nothing to do


def test_sources_are_forgotten_before_they_are_removed_and_a_failure_leaves_orphans(
    built: tuple[Archive, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker killed between the two steps must not leave rows naming files that are
    # gone: the names go first, and what storage keeps is the orphan sweep's.
    archive, _ = built
    names = _sources(archive)
    named_while_deleting: list[list[str]] = []
    real_delete = storage.delete_many

    def failing_delete(delete_names: list[str]) -> None:
        named_while_deleting.append(_sources(archive))
        raise OSError("storage unreachable")

    monkeypatch.setattr(storage, "delete_many", failing_delete)
    with pytest.raises(OSError, match="storage unreachable"):
        remove_sources(archive.id)
    assert named_while_deleting == [["", ""]]
    assert all(storage.local_path(name).exists() for name in names)
    monkeypatch.setattr(storage, "delete_many", real_delete)

    assert remove_orphan_files(now=timezone.now()) == []  # not old enough yet
    later = timezone.now() + timedelta(seconds=settings.ORPHAN_GRACE_SECONDS + 60)
    assert sorted(remove_orphan_files(now=later)) == sorted(names)
    assert not any(storage.local_path(name).exists() for name in names)
    archive.refresh_from_db()
    assert archive.status == Status.READY
    assert storage.local_path(archive.zip_name).exists()


def test_sources_of_an_archive_that_is_not_ready_are_kept(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive(build=False)
    names = _sources(archive)

    assert remove_sources(archive.id) == 0

    assert _sources(archive) == names
    assert all(storage.local_path(name).exists() for name in names)


def test_sources_whose_removal_could_not_be_queued_go_when_the_archive_is_purged(
    make_archive: Callable[..., Archive],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: CaptureCallbacks,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broker_down(archive_id: str) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(remove_sources_task, "delay", broker_down)
    archive = make_archive({"a.txt": b"alpha"}, build=False, ttl=60)
    with django_capture_on_commit_callbacks(execute=True):
        build_archive_task(archive.id)
    archive.refresh_from_db()
    names = _sources(archive)

    assert archive.status == Status.READY
    assert f"could not queue the removal of the sources of {archive.id}" in caplog.text
    assert storage.local_path(names[0]).exists()

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert purge_expired(now=timezone.now()) == 1

    assert not storage.local_path(names[0]).exists()
    assert _sources(archive) == [""]


def _fill(mount: MediaMount) -> Path:
    """Fill the mount to its last byte; return the file that holds the space."""
    filler = mount.path / "filler"
    block = b"\0" * (1 << 20)
    with filler.open("wb") as out:
        try:
            while True:
                out.write(block)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def _retries(caplog: pytest.LogCaptureFixture) -> int:
    return sum("retry: Retry in" in record.getMessage() for record in caplog.records)


@pytest.fixture
def incompressible(make_archive: Callable[..., Archive]) -> Archive:
    """A pending archive of 3 MB that does not compress: its ZIP needs 3 MB more."""
    return make_archive({"noise.bin": os.urandom(3 << 20)}, build=False)


def test_a_build_on_a_full_disk_is_retried_and_ready_once_space_is_back(
    media_mount: MediaMount,
    incompressible: Archive,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="celery.app.trace")
    filler = _fill(media_mount)
    seen: list[tuple[str, str, bool]] = []
    real_defer = build.defer_build

    def defer_then_free_space(archive_id: str, **kwargs: Any) -> bool:
        deferred = real_defer(archive_id, **kwargs)
        archive = Archive.objects.get(pk=archive_id)
        due = archive.queued_at is not None and archive.queued_at > timezone.now()
        seen.append((archive.status, archive.error, due))
        filler.unlink()  # the disk is cleaned up while the build waits for its retry
        return deferred

    monkeypatch.setattr(build, "defer_build", defer_then_free_space)

    result = build_archive_task.apply(args=(incompressible.id,))

    assert result.state == "SUCCESS"
    # Deferred once, with the reason kept for the owner and the reaper kept off until the
    # retry is due; then built.
    assert seen == [("pending", "The archive could not be written: No space left on device.", True)]
    assert _retries(caplog) == 1
    incompressible.refresh_from_db()
    assert incompressible.status == Status.READY
    assert incompressible.error == ""
    assert storage.local_path(incompressible.zip_name).stat().st_size > 3 << 20
    assert not list(storage.root().glob("archives/*.tmp*"))


def test_a_build_on_a_disk_that_stays_full_fails_after_its_last_retry(
    media_mount: MediaMount, incompressible: Archive, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="celery.app.trace")
    _fill(media_mount)

    result = build_archive_task.apply(args=(incompressible.id,))

    assert result.state == "SUCCESS"
    assert _retries(caplog) == settings.BUILD_RETRIES == build_archive_task.max_retries
    incompressible.refresh_from_db()
    assert incompressible.status == Status.FAILED
    assert incompressible.error == "The archive could not be written: No space left on device."


def test_a_build_whose_source_is_missing_fails_at_once(
    incompressible: Archive, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="celery.app.trace")
    storage.delete(incompressible.files.get().source_name)

    result = build_archive_task.apply(args=(incompressible.id,))

    assert result.state == "SUCCESS"
    assert _retries(caplog) == 0
    incompressible.refresh_from_db()
    assert incompressible.status == Status.FAILED


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
        (OSError(errno.EIO, "Input/output error"), True),
        (TimeoutError(errno.ETIMEDOUT, "Connection timed out"), True),
        (storage.StorageError("storing x in the bucket failed"), True),
        (FileNotFoundError(errno.ENOENT, "No such file or directory"), False),
        (BuildError("An uploaded file changed during the build."), False),
    ],
)
def test_only_passing_storage_failures_are_transient(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient
