"""Values the models derive from their own fields: the download limit, read alike for an
archive and a link, and the expiry that applies to a link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from archives.models import Archive, Link, remaining_downloads

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("limit", "count", "left"),
    [(None, 0, None), (None, 9, None), (3, 0, 3), (3, 2, 1), (3, 3, 0), (2, 5, 0)],
)
def test_an_archive_and_a_link_read_their_limit_alike(
    limit: int | None, count: int, left: int | None
) -> None:
    archive = Archive(max_downloads=limit, download_count=count)
    link = Link(max_downloads=limit, download_count=count)

    assert remaining_downloads(limit=limit, count=count) == left
    assert archive.downloads_left == link.downloads_left == left
    assert archive.is_used_up is link.is_used_up is (left == 0)


@pytest.mark.parametrize(
    ("own", "applies"),
    [
        (None, NOW + timedelta(days=7)),
        (NOW + timedelta(days=1), NOW + timedelta(days=1)),
        (NOW + timedelta(days=30), NOW + timedelta(days=7)),
    ],
)
def test_a_link_expires_by_its_own_lifetime_or_its_archives_whichever_first(
    own: datetime | None, applies: datetime
) -> None:
    archive = Archive(expires_at=NOW + timedelta(days=7))

    assert Link(archive=archive, expires_at=own).effective_expiry == applies
