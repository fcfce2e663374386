"""``may_see_hashes``: who sees the sha256 of a share's ZIP and members."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from sharing.disclosure import may_see_hashes
from sharing.downloads import find_share, unlock_mark

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User
    from archives.models import Archive
    from sharing.downloads import Share

pytestmark = pytest.mark.django_db

CLIENT = "198.51.100.7"


def sees(
    share: Share,
    *,
    viewer_id: object | None = None,
    password: str | None = None,
    unlocked: str | None = None,
) -> bool:
    return may_see_hashes(
        share,
        viewer_id=viewer_id,
        password=password,
        unlocked=unlocked,
        client=CLIENT,
        now=timezone.now(),
    )


def test_a_share_without_password_shows_its_hashes_to_anyone(
    make_archive: Callable[..., Archive],
) -> None:
    assert sees(find_share(make_archive().slug))


def test_a_password_share_shows_its_hashes_only_to_whoever_may_download(
    make_archive: Callable[..., Archive], user: User, other_user: User
) -> None:
    share = find_share(make_archive(password="s3cret").slug)

    assert not sees(share)
    assert not sees(share, viewer_id=other_user.pk)
    assert not sees(share, password="guess")
    assert not sees(share, unlocked="forged")
    assert sees(share, viewer_id=user.pk)
    assert sees(share, password="s3cret")
    assert sees(share, unlocked=unlock_mark(share))


def test_a_throttled_client_is_not_shown_the_hashes_even_with_the_password(
    make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    settings.PASSWORD_ATTEMPTS_LIMIT = 2
    share = find_share(make_archive(password="s3cret").slug)

    # A right password gives its reservation back: it never adds up to a block.
    for _ in range(3):
        assert sees(share, password="s3cret")
    for _ in range(2):
        assert not sees(share, password="guess")

    assert not sees(share, password="s3cret")
