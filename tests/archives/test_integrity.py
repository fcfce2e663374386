"""The integrity scrub finds a stored ZIP that changed, and the link stops serving it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from archives import storage
from archives.integrity import MISSING, record_damage, scrub_archives

if TYPE_CHECKING:
    from collections.abc import Callable

    from rest_framework.test import APIClient

    from archives.models import Archive

pytestmark = pytest.mark.django_db


def test_a_changed_byte_marks_the_archive_damaged_and_it_is_not_served(
    anon: APIClient, api: APIClient, make_archive: Callable[..., Archive]
) -> None:
    good = make_archive({"a.txt": b"alpha" * 100})
    bad = make_archive({"b.txt": b"beta" * 100})
    path = storage.local_path(bad.zip_name)
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF
    path.write_bytes(bytes(data))

    damaged = scrub_archives(now=timezone.now(), budget=10**9)

    assert damaged == [bad.pk]
    refused = anon.get(f"/api/shares/{bad.slug}/download")
    assert refused.status_code == 409
    assert refused.json()["reason"] == "damaged"
    assert "sha256" in refused.json()["error"]
    assert anon.get(f"/api/shares/{good.slug}/download").status_code == 200
    assert api.get(f"/api/archives/{bad.pk}/").json()["integrity_error"]


def test_the_scrub_reads_at_most_its_budget_oldest_check_first(
    make_archive: Callable[..., Archive],
) -> None:
    archives = [make_archive({f"{n}.txt": b"x" * 1000}) for n in range(3)]
    size = archives[0].size or 0

    scrub_archives(now=timezone.now(), budget=size)
    checked = [a.pk for a in archives if type(a).objects.get(pk=a.pk).scrubbed_at]
    scrub_archives(now=timezone.now(), budget=size)
    checked_after = [a.pk for a in archives if type(a).objects.get(pk=a.pk).scrubbed_at]

    assert len(checked) == 1
    assert len(checked_after) == 2


def test_a_missing_file_is_reported(make_archive: Callable[..., Archive]) -> None:
    archive = make_archive()
    storage.local_path(archive.zip_name).unlink()

    assert scrub_archives(now=timezone.now(), budget=10**9) == [archive.pk]
    archive.refresh_from_db()
    assert archive.integrity_error == "The stored file is missing."


def test_record_damage_marks_the_archive_unless_it_was_purged_meanwhile(
    make_archive: Callable[..., Archive],
) -> None:
    kept, purged = make_archive(), make_archive()
    now = timezone.now()
    type(purged).objects.filter(pk=purged.pk).update(purged_at=now)

    assert record_damage(kept, error=MISSING, now=now)
    assert not record_damage(purged, error=MISSING, now=now)

    kept.refresh_from_db()
    purged.refresh_from_db()
    assert (kept.integrity_error, kept.scrubbed_at) == (MISSING, now)
    assert purged.integrity_error == ""
