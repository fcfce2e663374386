"""The upload request pages: the owner's list and submissions, the sender's page with its
password form, upload form, receipt and refusals."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone

from archives.models import Archive
from inbox.models import Submission, UploadRequest
from tests.conftest import upload
from tests.factories import UploadRequestFactory

if TYPE_CHECKING:
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


def temporary_files(settings: DjangoSettings) -> list[Path]:
    return sorted(Path(settings.FILE_UPLOAD_TEMP_DIR).glob("*.upload*"))


@pytest.mark.parametrize(
    ("size", "refused_by"),
    # Over even the room a body's framing may take: refused from Content-Length, unread.
    # Within that room: refused after the first block of the file, before the rest.
    [(4 * 1024 * 1024, "Content-Length"), (600 * 1024, "streaming")],
)
def test_a_form_over_the_requests_bytes_is_413_and_keeps_nothing(
    client: Client, settings: DjangoSettings, size: int, refused_by: str
) -> None:
    request = UploadRequestFactory(max_bytes=1000)
    before = temporary_files(settings)

    response = client.post(f"/r/{request.slug}/", {"files": [upload("big.bin", b"x" * size)]})

    assert response.status_code == 413, refused_by
    page = response.content.decode()
    assert "data-refusal" in page
    assert "data-send-form" in page
    # Refused while it arrived: the size said is what had arrived, not the file's.
    assert ("at least" in page) is (refused_by == "streaming")
    assert temporary_files(settings) == before
    assert not Archive.objects.exists()
    assert UploadRequest.objects.get().submissions_count == 0


def test_the_form_still_needs_its_csrf_token() -> None:
    request = UploadRequestFactory()
    guarded = Client(enforce_csrf_checks=True)

    response = guarded.post(f"/r/{request.slug}/", {"files": [upload("a.txt", b"abc")]})

    assert response.status_code == 403
    assert not Archive.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("declared", [8 * 1024 * 1024, 2 * 1024 * 1024 + 512 * 1024])
def test_through_gunicorn_a_form_too_big_is_answered_before_it_is_all_sent(
    gunicorn: str, declared: int
) -> None:
    """Against the real server: the 413 comes while most of the body is still unsent
    (before, the page read it all to disk first and refused it after)."""
    request = UploadRequestFactory(max_bytes=1024)
    boundary = "b0undary-inbox"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
        'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    # A browser has the page's CSRF cookie from showing the form.
    cookie = requests.get(f"{gunicorn}/r/{request.slug}/", timeout=20).cookies["csrftoken"]
    address = urlsplit(gunicorn)
    assert address.hostname is not None and address.port is not None

    with socket.create_connection((address.hostname, address.port), timeout=20) as conn:
        conn.sendall(
            (
                f"POST /r/{request.slug}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Cookie: csrftoken={cookie}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {declared}\r\nConnection: close\r\n\r\n"
            ).encode()
            + head
            + b"x" * (1536 * 1024)
        )
        answer = conn.recv(65536)

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert not Archive.objects.exists()
