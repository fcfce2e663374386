"""The one upload limit rule, for archives uploaded whole and for resumable uploads."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
import requests

from accounts.models import User
from accounts.services import issue_token
from archives.limits import Caps, UploadWatch, check_upload_limits, usage_of, with_usage
from archives.models import Archive
from core.limits import LimitExceeded
from tests.conftest import upload as file_upload

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.fixtures import Settings as DjangoSettings
    from pytest_django.live_server_helper import LiveServer
    from rest_framework.test import APIClient


@pytest.mark.django_db
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


@pytest.mark.django_db
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


@pytest.mark.django_db(transaction=True)
def test_parallel_uploads_stay_within_the_quota(
    live_server: LiveServer, user: User, settings: DjangoSettings
) -> None:
    settings.USER_QUOTA_BYTES = 1_000_000
    token = issue_token(user)
    parallel = 6

    def upload(n: int) -> int:
        files = {"files": (f"part-{n}.bin", b"q" * 400_000)}
        response = requests.post(
            f"{live_server.url}/api/archives/",
            files=files,
            headers={"Authorization": f"Token {token}"},
            timeout=60,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        statuses = Counter(pool.map(upload, range(parallel)))

    assert statuses == {201: 2, 413: parallel - 2}
    assert Archive.objects.filter(owner=user).count() == 2


@pytest.mark.django_db
def test_caps_are_stricter_limits_of_one_upload(user: User) -> None:
    caps = Caps(files=2, total=100)
    check_upload_limits(user, sizes=[60, 40], caps=caps)
    with pytest.raises(LimitExceeded) as files:
        check_upload_limits(user, sizes=[1, 1, 1], caps=caps)
    with pytest.raises(LimitExceeded) as total:
        check_upload_limits(user, sizes=[60, 41], caps=caps)

    assert files.value.status_code == 400
    assert "this upload request takes at most 2 files" in str(files.value)
    assert total.value.status_code == 413
    assert "100 bytes that this upload request takes at once" in str(total.value)


@pytest.mark.django_db
def test_caps_narrow_what_a_body_may_announce(user: User, settings: DjangoSettings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 0
    settings.ARCHIVE_MAX_FILES = 1
    watch = UploadWatch(user, caps=Caps(total=100))
    framing = 2048

    watch.check_length(100 + framing)
    with pytest.raises(LimitExceeded):
        watch.check_length(101 + framing)
    with pytest.raises(LimitExceeded):
        watch.check_received([101])


@pytest.mark.django_db
def test_staffs_override_is_the_quota_the_upload_meets(
    user: User, settings: DjangoSettings
) -> None:
    settings.USER_QUOTA_BYTES = 1000
    user.quota_bytes = 5000
    check_upload_limits(user, sizes=[4000])
    user.quota_bytes = 100
    with pytest.raises(LimitExceeded) as refused:
        check_upload_limits(user, sizes=[101])
    assert "over your quota of 100 bytes (set for your account)" in str(refused.value)


@pytest.mark.django_db
def test_an_upload_through_the_api_meets_the_override(
    api: APIClient, user: User, settings: DjangoSettings
) -> None:
    settings.USER_QUOTA_BYTES = 10**9
    user.quota_bytes = 8
    user.save()

    refused = api.post(
        "/api/archives/", {"files": [file_upload("a.txt", b"123456789")]}, format="multipart"
    )
    user.quota_bytes = 9
    user.save()
    accepted = api.post(
        "/api/archives/", {"files": [file_upload("a.txt", b"123456789")]}, format="multipart"
    )

    assert refused.status_code == 413
    assert "set for your account" in refused.json()["detail"]
    assert accepted.status_code == 201


@pytest.mark.django_db
def test_usage_counts_stored_archives_only(
    user: User, other_user: User, make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    settings.USER_QUOTA_BYTES = 4000
    make_archive({"a.txt": b"a" * 1000}, build=False)
    make_archive({"b.txt": b"b" * 500}, build=False)
    purged = make_archive({"c.txt": b"c" * 300}, build=False)
    Archive.objects.filter(pk=purged.pk).update(purged_at=purged.created_at)
    make_archive({"d.txt": b"d" * 7}, owner=other_user, build=False)

    usage = usage_of(user)
    listed = {
        row["pk"]: (row["stored_bytes"], row["archive_count"])
        for row in with_usage(User.objects.all()).values("pk", "stored_bytes", "archive_count")
    }

    assert (usage.stored, usage.archives, usage.percent) == (1500, 2, 37)
    assert listed[user.pk] == (1500, 2)
    assert listed[other_user.pk] == (7, 1)


@pytest.mark.django_db
def test_usage_past_the_quota_shows_a_full_bar(
    user: User, make_archive: Callable[..., Archive]
) -> None:
    make_archive({"a.txt": b"a" * 100}, build=False)
    user.quota_bytes = 10

    assert usage_of(user).percent == 100
