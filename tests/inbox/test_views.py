"""The upload request pages: the owner's list and submissions, the sender's page with its
password form, upload form, receipt and refusals."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from archives.models import Archive
from inbox.models import Submission, UploadRequest
from tests.conftest import upload
from tests.factories import UploadRequestFactory

if TYPE_CHECKING:
    from django.test import Client
    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def test_the_owner_creates_a_request_and_sees_its_link_and_qr(
    owner_client: Client, user: User
) -> None:
    response = owner_client.post(
        "/requests/", {"name": "Scans", "days": "3", "max_submissions": "2"}, follow=True
    )

    created = UploadRequest.objects.get(owner=user)
    page = response.content.decode()
    assert created.max_submissions == 2
    assert f"http://testserver/r/{created.slug}/" in page
    assert "<svg" in page
    assert "data-copy-target" in page


def test_the_owner_closes_and_reopens(owner_client: Client, user: User) -> None:
    request = UploadRequestFactory(owner=user)

    owner_client.post(f"/requests/{request.pk}/close/")
    assert UploadRequest.objects.get().closed_at is not None
    owner_client.post(f"/requests/{request.pk}/close/")
    assert UploadRequest.objects.get().closed_at is None


def test_submissions_page_lists_sender_note_and_archive(
    owner_client: Client, user: User, client: Client
) -> None:
    request = UploadRequestFactory(owner=user)
    owner_client.logout()
    client.post(
        f"/r/{request.slug}/",
        {"files": [upload("a.txt", b"abc")], "sender_name": "Ann", "note": "for you"},
    )
    client.force_login(user)

    page = client.get(f"/requests/{request.pk}/").content.decode()

    assert "Ann" in page
    assert "for you" in page
    assert Archive.objects.get().name in page


def test_others_requests_are_404(owner_client: Client) -> None:
    theirs = UploadRequestFactory()
    assert owner_client.get(f"/requests/{theirs.pk}/").status_code == 404
    assert owner_client.post(f"/requests/{theirs.pk}/close/").status_code == 404


def test_a_sender_sends_files_and_gets_a_receipt(client: Client) -> None:
    request = UploadRequestFactory(message="Send the scans please", max_files=2)

    page = client.get(f"/r/{request.slug}/").content.decode()
    assert "Send the scans please" in page
    assert "At most 2 files" in page

    response = client.post(
        f"/r/{request.slug}/", {"files": [upload("a.txt", b"abc")], "sender_name": "Ann"}
    )

    assert response.status_code == 200
    assert hashlib.sha256(b"abc").hexdigest() in response.content.decode()
    assert Submission.objects.get().sender_name == "Ann"


def test_the_password_form_comes_first(client: Client, settings: DjangoSettings) -> None:
    settings.PASSWORD_ATTEMPTS_LIMIT = 1
    request = UploadRequestFactory(password=make_password("right"))

    assert "data-password-form" in client.get(f"/r/{request.slug}/").content.decode()
    assert client.post(f"/r/{request.slug}/", {"password": "wrong"}).status_code == 403
    assert client.post(f"/r/{request.slug}/", {"password": "right"}).status_code == 429


def test_the_right_password_opens_the_upload_form(client: Client) -> None:
    request = UploadRequestFactory(password=make_password("right"))

    response = client.post(f"/r/{request.slug}/", {"password": "right"}, follow=True)

    assert "data-send-form" in response.content.decode()


def test_refusals_have_their_pages(client: Client) -> None:
    closed = UploadRequestFactory(closed_at=timezone.now())
    small = UploadRequestFactory(max_files=1)

    assert client.get("/r/nope/").status_code == 404
    gone = client.get(f"/r/{closed.slug}/")
    assert gone.status_code == 410
    assert "closed" in gone.content.decode()
    over = client.post(f"/r/{small.slug}/", {"files": [upload("a", b"1"), upload("b", b"2")]})
    assert over.status_code == 400
    assert "at most 1 files" in over.content.decode()
    assert not Archive.objects.exists()
