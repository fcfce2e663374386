"""What an upload request says of itself: submissions left, and whether it is open."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from tests.factories import UploadRequestFactory

pytestmark = pytest.mark.django_db


def test_submissions_left_without_and_with_a_limit() -> None:
    assert UploadRequestFactory().submissions_left is None
    assert UploadRequestFactory(max_submissions=3, submissions_count=1).submissions_left == 2


def test_is_open_until_closed_expired_or_full() -> None:
    now = timezone.now()
    assert UploadRequestFactory().is_open(now=now)
    assert not UploadRequestFactory(closed_at=now).is_open(now=now)
    assert not UploadRequestFactory(expires_at=now - timedelta(seconds=1)).is_open(now=now)
    assert not UploadRequestFactory(max_submissions=2, submissions_count=2).is_open(now=now)


def test_the_database_never_counts_past_the_limit() -> None:
    with pytest.raises(IntegrityError):
        UploadRequestFactory(max_submissions=2, submissions_count=3)
