"""Which uploads are live, expired, complete, or free to be written to."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from resumable.models import ResumableUpload
from tests.factories import ResumableUploadFactory

pytestmark = pytest.mark.django_db


def test_live_and_expired_split_at_the_expiry() -> None:
    now = timezone.now()
    live = ResumableUploadFactory(expires_at=now + timedelta(seconds=1))
    expired = ResumableUploadFactory(expires_at=now)

    assert list(ResumableUpload.objects.live(now=now)) == [live]
    assert list(ResumableUpload.objects.expired(now=now)) == [expired]
    assert not live.is_expired(now=now)
    assert expired.is_expired(now=now)


def test_an_upload_is_complete_once_its_offset_reaches_its_length() -> None:
    upload = ResumableUploadFactory(length=10, offset=9)
    assert not upload.is_complete

    upload.offset = 10
    assert upload.is_complete


def test_claimable_uploads_are_idle_or_left_by_a_silent_writer() -> None:
    now = timezone.now()
    idle = ResumableUploadFactory()
    stale = ResumableUploadFactory(claim="old", claimed_at=now - timedelta(minutes=5))
    ResumableUploadFactory(claim="busy", claimed_at=now)

    claimable = ResumableUpload.objects.claimable(stale_before=now - timedelta(minutes=1))

    assert set(claimable) == {idle, stale}


def test_owned_by_keeps_the_owners_uploads() -> None:
    mine = ResumableUploadFactory()
    ResumableUploadFactory()

    assert list(ResumableUpload.objects.owned_by(mine.owner)) == [mine]
