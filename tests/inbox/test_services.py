"""The services of upload requests: hashing, edits, refusals and a submission's archive."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.hashers import check_password
from django.utils import timezone

from archives.models import Archive
from core.limits import LimitExceeded
from core.models import FailureWindow
from inbox.models import UploadRequest
from inbox.services import (
    PasswordRefused,
    RequestGone,
    Sender,
    check_sender_password,
    create_request,
    find_open_request,
    password_scope,
    submit,
    update_request,
)
from tests.conftest import upload
from tests.factories import UploadRequestFactory, UserFactory

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings

pytestmark = pytest.mark.django_db


def new_request(**fields: object) -> UploadRequest:
    values: dict = {
        "name": "Scans", "message": "", "password": "", "expires_at": None, "ttl": None,
        "max_submissions": None, "max_files": None, "max_bytes": None, "archive_ttl": None,
        "archive_max_downloads": None, "archive_password": "", "now": timezone.now(),
        **fields,
    }  # fmt: skip
    return create_request(UserFactory(), **values)


def test_create_hashes_both_passwords_and_defaults_the_expiry(
    settings: DjangoSettings,
) -> None:
    now = timezone.now()
    created = new_request(password="in", archive_password="out", now=now)

    assert check_password("in", created.password)
    assert check_password("out", created.archive_password)
    assert created.expires_at == now + timedelta(seconds=settings.UPLOAD_REQUEST_DEFAULT_TTL)


def test_update_hashes_clears_closes_and_sets_the_expiry_from_now() -> None:
    created = new_request(password="in")
    now = timezone.now()

    changed = update_request(created, now=now, password="", closed=True, ttl=600)
    assert changed.password == ""
    assert changed.closed_at == now
    assert changed.expires_at == now + timedelta(seconds=600)
    # Closing again keeps the first closing time.
    again = update_request(changed, now=now + timedelta(hours=1), closed=True)
    assert again.closed_at == now
    assert update_request(again, now=now, closed=False).closed_at is None


def test_find_open_request_says_why_it_is_gone() -> None:
    now = timezone.now()
    closed = UploadRequestFactory(closed_at=now)
    full = UploadRequestFactory(max_submissions=1, submissions_count=1)

    with pytest.raises(RequestGone, match="closed"):
        find_open_request(closed.slug, now=now)
    with pytest.raises(RequestGone, match="all the submissions"):
        find_open_request(full.slug, now=now)


def test_a_password_guess_is_reserved_first_and_given_back_when_right(
    settings: DjangoSettings,
) -> None:
    settings.PASSWORD_ATTEMPTS_LIMIT = 3
    request = new_request(password="right")
    now = timezone.now()

    check_sender_password(request, "right", client="192.0.2.1", now=now)
    with pytest.raises(PasswordRefused) as wrong:
        check_sender_password(request, "wrong", client="192.0.2.1", now=now)

    assert wrong.value.status_code == 403
    window = FailureWindow.objects.get(scope=password_scope(request), key="192.0.2.1")
    assert window.failures == 1


def test_a_refused_submission_gives_its_count_back_and_keeps_nothing() -> None:
    request = UploadRequestFactory(max_submissions=1, max_files=1)

    with pytest.raises(LimitExceeded):
        submit(
            request, files=[upload("a", b"1"), upload("b", b"2")], paths=None,
            sender=Sender(), now=timezone.now(),
        )  # fmt: skip

    assert UploadRequest.objects.get().submissions_count == 0
    assert not Archive.objects.exists()


def test_submit_names_the_archive_after_request_and_sender() -> None:
    request = UploadRequestFactory(name="Scans")

    receipt = submit(
        request, files=[upload("a.txt", b"1")], paths=["folder/a.txt"],
        sender=Sender(name="Ann\x07", ip="192.0.2.9"), now=timezone.now(),
    )  # fmt: skip

    archive = Archive.objects.get()
    assert archive.name == "Scans (Ann)"
    assert [received.name for received in receipt.files] == ["folder/a.txt"]
    assert receipt.request == "Scans"
