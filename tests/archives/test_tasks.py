"""The archive tasks: what each retries, and what a second run does."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from archives import storage
from archives.tasks import remove_archive_files_task

if TYPE_CHECKING:
    import pytest

    from tests.conftest import MediaMount

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
