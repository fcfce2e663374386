"""The one upload limit rule, for archives uploaded whole and for resumable uploads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from archives.limits import check_upload_limits
from core.limits import LimitExceeded

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User

pytestmark = pytest.mark.django_db


def test_quota_refuses_past_it_and_says_to_delete_archives(
    user: User, settings: DjangoSettings
) -> None:
    settings.USER_QUOTA_BYTES = 1000
    check_upload_limits(user, sizes=[600, 400])
    with pytest.raises(LimitExceeded) as refused:
        check_upload_limits(user, sizes=[600, 401])
    assert refused.value.status_code == 413
    assert "USER_QUOTA_BYTES" in str(refused.value)
    assert "Delete archives you no longer share" in str(refused.value)


def test_quota_counts_what_open_uploads_hold(user: User, settings: DjangoSettings) -> None:
    settings.USER_QUOTA_BYTES = 1000
    check_upload_limits(user, sizes=[500], reserved=500)
    with pytest.raises(LimitExceeded) as refused:
        check_upload_limits(user, sizes=[501], reserved=500)
    assert "with the uploads still open (500 bytes)" in str(refused.value)
    assert "Finish or cancel open uploads" in str(refused.value)


def test_count_and_sizes_come_before_the_quota(user: User, settings: DjangoSettings) -> None:
    settings.ARCHIVE_FILE_MAX_BYTES = 100
    settings.USER_QUOTA_BYTES = 10
    with pytest.raises(LimitExceeded, match="ARCHIVE_FILE_MAX_BYTES"):
        check_upload_limits(user, sizes=[101], reserved=50)
    with pytest.raises(LimitExceeded, match="at least one file") as empty:
        check_upload_limits(user, sizes=[])
    assert empty.value.status_code == 400
