"""The sweep of stored files that no row names: orphans older than the grace period go,
named files and young orphans stay, and each removal is logged."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.utils import timezone

from archives import periodic, storage
from archives.orphans import remove_orphan_files

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.fixtures import Settings as DjangoSettings

    from archives.models import Archive

pytestmark = pytest.mark.django_db

GRACE = 3600


def store(name: str) -> None:
    path = storage.local_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left behind")


def test_orphans_older_than_the_grace_go_and_named_or_young_files_stay(
    make_archive: Callable[..., Archive],
    settings: DjangoSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.ORPHAN_GRACE_SECONDS = GRACE
    built = make_archive()
    pending = make_archive(build=False)
    named = [built.zip_name, *pending.files.values_list("source_name", flat=True)]
    building = storage.temporary_zip_path(pending.id)
    building.write_bytes(b"a build in progress")
    orphans = [
        "uploads/gone000000000000000000000000000/00000",
        "uploads/gone000000000000000000000000000/00001",
        "archives/gone000000000000000000000000000.zip",
        "archives/.gone000000000000000000000000000.zip.0123456789ab.part",
    ]
    for name in orphans:
        store(name)
    stored_at = timezone.now()

    with time_machine.travel(stored_at + timedelta(seconds=GRACE - 60), tick=False):
        assert periodic.remove_orphan_files_task() == 0
    assert all(storage.local_path(name).exists() for name in orphans)

    with (
        caplog.at_level(logging.INFO, logger="archives.orphans"),
        time_machine.travel(stored_at + timedelta(seconds=GRACE + 60), tick=False),
    ):
        assert periodic.remove_orphan_files_task() == len(orphans)

    assert not any(storage.local_path(name).exists() for name in orphans)
    assert not storage.local_path("uploads/gone000000000000000000000000000").exists()
    assert all(storage.local_path(name).exists() for name in named)
    assert building.exists()
    logged = caplog.text
    assert all(f"removed orphan file {name}" in logged for name in orphans)


def test_nothing_stored_is_nothing_removed(settings: DjangoSettings) -> None:
    settings.ORPHAN_GRACE_SECONDS = GRACE
    assert remove_orphan_files(now=timezone.now() + timedelta(days=30)) == []
