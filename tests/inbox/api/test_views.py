"""The upload request API: the owner's requests and the sender's submissions, with every
refusal of DESIGN §11."""

from __future__ import annotations

import errno
import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from archives import storage
from archives.models import Archive, AuditEntry
from core.models import FailureWindow
from inbox.models import Submission, UploadRequest
from notifications.models import Event, WebhookDelivery
from tests.conftest import upload
from tests.factories import ArchiveFactory, UploadRequestFactory, UserFactory, WebhookFactory

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import APIClient

    from accounts.models import User

pytestmark = pytest.mark.django_db


def create(api: APIClient, **fields: object) -> dict:
    response = api.post("/api/requests/", {"name": "Tax papers", **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def send(
    anon: APIClient,
    slug: str,
    files: dict[str, bytes] | None = None,
    *,
    password: str | None = None,
    **fields: str,
):
    contents = files if files is not None else {"scan.pdf": b"%PDF" * 100}
    data = {"files": [upload(name, body) for name, body in contents.items()], **fields}
    headers = {"X-Request-Password": password} if password is not None else {}
    return anon.post(
        f"/api/requests/public/{slug}/submissions/", data, format="multipart", headers=headers
    )


# The owner's API.


def test_create_answers_the_request_with_its_link(api: APIClient) -> None:
    body = create(api, message="Please send the scans", max_submissions=3, password="s3cret")

    stored = UploadRequest.objects.get(pk=body["id"])
    assert body["url"] == f"http://testserver/r/{stored.slug}/"
    assert body["status"] == "open"
    assert body["has_password"] is True
    assert body["submissions_left"] == 3
    assert stored.password.startswith("md5$")  # hashed (the tests' hasher), never in clear
    assert len(stored.slug) == 24 and stored.slug != stored.pk


def test_create_takes_ttl_or_expires_at_not_both(api: APIClient) -> None:
    later = (timezone.now() + timedelta(days=1)).isoformat()
    response = api.post(
        "/api/requests/", {"name": "x", "ttl": 3600, "expires_at": later}, format="json"
    )
    assert response.status_code == 400
    assert "ttl" in response.json()
    assert create(api, expires_at=later)["expires_at"].startswith(later[:16])


def test_create_refuses_other_body_types_and_unknown_fields(api: APIClient) -> None:
    assert api.post("/api/requests/", {"name": "x"}, format="multipart").status_code == 415
    response = api.post("/api/requests/", {"name": "x", "colour": "red"}, format="json")
    assert response.status_code == 400
    assert response.json()["colour"] == ["Unknown field."]


def test_list_is_paginated_and_only_own(api: APIClient, user: User) -> None:
    UploadRequestFactory.create_batch(3, owner=user)
    UploadRequestFactory()

    body = api.get("/api/requests/").json()

    assert body["count"] == 3
    assert len(body["results"]) == 3


def test_someone_elses_request_is_404(api: APIClient) -> None:
    theirs = UploadRequestFactory()
    for method in ("get", "patch", "delete"):
        assert getattr(api, method)(f"/api/requests/{theirs.pk}/").status_code == 404
    assert api.get(f"/api/requests/{theirs.pk}/submissions/").status_code == 404


def test_patch_closes_and_reopens(api: APIClient, anon: APIClient) -> None:
    body = create(api)

    closed = api.patch(f"/api/requests/{body['id']}/", {"closed": True}, format="json").json()
    assert closed["status"] == "closed"
    assert send(anon, body["slug"]).status_code == 410

    reopened = api.patch(f"/api/requests/{body['id']}/", {"closed": False}, format="json")
    assert reopened.json()["status"] == "open"
    assert send(anon, body["slug"]).status_code == 201


def test_patch_cannot_set_the_limit_below_what_was_received(api: APIClient, user: User) -> None:
    request = UploadRequestFactory(owner=user, max_submissions=5, submissions_count=3)

    response = api.patch(f"/api/requests/{request.pk}/", {"max_submissions": 2}, format="json")

    assert response.status_code == 400
    assert "3 submissions" in response.json()["max_submissions"][0]
    ok = api.patch(f"/api/requests/{request.pk}/", {"max_submissions": 3}, format="json")
    assert ok.json()["status"] == "full"


def test_delete_keeps_the_archives_made(api: APIClient, anon: APIClient) -> None:
    body = create(api)
    assert send(anon, body["slug"]).status_code == 201

    assert api.delete(f"/api/requests/{body['id']}/").status_code == 204

    assert not UploadRequest.objects.exists()
    assert not Submission.objects.exists()
    assert Archive.objects.count() == 1


# The sender's API.


def test_public_view_shows_message_and_limits_but_nothing_of_the_owner(
    api: APIClient, anon: APIClient, settings: DjangoSettings
) -> None:
    body = create(api, message="Hi", max_files=3, max_bytes=1000, password="pw")

    public = anon.get(f"/api/requests/public/{body['slug']}/").json()

    assert public == {
        "slug": body["slug"],
        "name": "Tax papers",
        "message": "Hi",
        "has_password": True,
        "expires_at": body["expires_at"],
        "max_files": 3,
        "max_bytes": 1000,
        "max_file_bytes": settings.ARCHIVE_FILE_MAX_BYTES,
        "submissions_left": None,
    }


def test_a_submission_becomes_an_archive_of_the_owner_under_the_request_rules(
    api: APIClient, anon: APIClient, user: User
) -> None:
    body = create(api, archive_ttl=7200, archive_max_downloads=4, archive_password="arch")
    content = b"%PDF" * 100

    response = send(
        anon, body["slug"], {"scan.pdf": content}, sender_name="Ann",
        sender_email="ann@example.com", note="Here you are",
    )  # fmt: skip

    assert response.status_code == 201
    receipt = response.json()["receipt"]
    assert receipt["files"] == [
        {"name": "scan.pdf", "size": 400, "sha256": hashlib.sha256(content).hexdigest()}
    ]
    assert receipt["total_size"] == 400
    archive = Archive.objects.get()
    assert archive.owner == user
    assert archive.max_downloads == 4
    assert archive.password == UploadRequest.objects.get().archive_password
    assert 7190 < (archive.expires_at - archive.created_at).total_seconds() <= 7200
    # The archive's description is public on its share page: the sender's e-mail and
    # note stay in the submission, for the owner.
    assert archive.description == "Sent through the upload request “Tax papers” by Ann."
    submission = Submission.objects.get()
    assert (submission.archive, submission.sender_name, submission.sender_email,
            submission.note) == (archive, "Ann", "ann@example.com", "Here you are")  # fmt: skip
    assert submission.ip == "127.0.0.1"
    assert AuditEntry.objects.filter(archive_id=archive.pk, action="create").exists()
    assert UploadRequest.objects.get().submissions_count == 1
    listed = api.get(f"/api/requests/{body['id']}/submissions/").json()
    assert listed["count"] == 1
    assert listed["results"][0]["archive"]["id"] == archive.pk


def test_a_submission_notifies_the_owner(
    api: APIClient, anon: APIClient, user: User, django_capture_on_commit_callbacks
) -> None:
    WebhookFactory(owner=user, events=[Event.SUBMITTED.value])
    body = create(api)

    with django_capture_on_commit_callbacks(execute=False):
        send(anon, body["slug"], sender_name="Ann")

    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "request.submitted"
    assert delivery.payload["request"] == {"id": body["id"], "name": "Tax papers"}
    assert delivery.payload["submission"]["sender_name"] == "Ann"
    assert delivery.payload["archive"]["id"] == Archive.objects.get().pk


def test_unknown_slug_is_404(anon: APIClient) -> None:
    assert anon.get("/api/requests/public/nope/").status_code == 404
    assert send(anon, "nope").status_code == 404


def test_expired_is_410(anon: APIClient) -> None:
    request = UploadRequestFactory()
    with time_machine.travel(request.expires_at + timedelta(seconds=1)):
        assert anon.get(f"/api/requests/public/{request.slug}/").status_code == 410
        response = send(anon, request.slug)
    assert response.status_code == 410
    assert "expired" in response.json()["detail"]
    assert not Archive.objects.exists()


def test_all_submissions_used_is_410(anon: APIClient) -> None:
    request = UploadRequestFactory(max_submissions=1)

    assert send(anon, request.slug).status_code == 201
    response = send(anon, request.slug)

    assert response.status_code == 410
    assert "all the submissions" in response.json()["detail"]
    assert Archive.objects.count() == 1


def test_password_is_required_checked_and_throttled(
    anon: APIClient, settings: DjangoSettings
) -> None:
    settings.PASSWORD_ATTEMPTS_LIMIT = 2
    request = UploadRequestFactory(password=make_password("right"))

    assert send(anon, request.slug).status_code == 401
    assert send(anon, request.slug, password="wrong").status_code == 403
    assert send(anon, request.slug, password="right").status_code == 201
    assert send(anon, request.slug, password="wrong").status_code == 403
    throttled = send(anon, request.slug, password="right")
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert Archive.objects.count() == 1


def test_too_many_files_is_400(anon: APIClient) -> None:
    request = UploadRequestFactory(max_files=2)

    response = send(anon, request.slug, {"a": b"1", "b": b"2", "c": b"3"})

    assert response.status_code == 400
    assert "at most 2 files" in response.json()["detail"]
    assert not Archive.objects.exists()
    assert UploadRequest.objects.get().submissions_count == 0


def test_too_many_bytes_is_413_before_the_body_is_read(
    anon: APIClient, settings: DjangoSettings
) -> None:
    # The Content-Length allows for the text fields and each file part's framing.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.ARCHIVE_MAX_FILES = 2
    request = UploadRequestFactory(max_bytes=100)

    response = send(anon, request.slug, {"big.bin": b"x" * 20_000})

    assert response.status_code == 413
    assert "larger than any upload" in response.json()["detail"]
    assert not Archive.objects.exists()
    assert not (storage.root() / "uploads").exists()


def test_too_many_bytes_while_streaming_is_413(anon: APIClient) -> None:
    # Under the Content-Length pre-check (the framing allowance), over the cap once read.
    request = UploadRequestFactory(max_bytes=100)

    response = send(anon, request.slug, {"a.bin": b"x" * 60, "b.bin": b"y" * 60})

    assert response.status_code == 413
    assert "that this upload request takes at once" in response.json()["detail"]
    assert not Archive.objects.exists()
    assert UploadRequest.objects.get().submissions_count == 0


def test_the_owners_quota_full_is_413(anon: APIClient, settings: DjangoSettings) -> None:
    owner = UserFactory()
    ArchiveFactory(owner=owner, source_size=990)
    settings.USER_QUOTA_BYTES = 1000
    request = UploadRequestFactory(owner=owner)

    response = send(anon, request.slug, {"a.bin": b"x" * 20})

    assert response.status_code == 413
    assert "USER_QUOTA_BYTES" in response.json()["detail"]
    assert Archive.objects.count() == 1


def test_a_full_disk_is_507_and_keeps_nothing(
    anon: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = UploadRequestFactory()

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage, "save_source", full)
    response = send(anon, request.slug)

    assert response.status_code == 507
    assert not Archive.objects.exists()
    assert not Submission.objects.exists()
    assert UploadRequest.objects.get().submissions_count == 0


def test_a_flood_from_one_address_is_429(anon: APIClient, settings: DjangoSettings) -> None:
    settings.UPLOAD_REQUEST_SUBMISSIONS_PER_ADDRESS = 2
    first, second = UploadRequestFactory(), UploadRequestFactory()

    assert send(anon, first.slug).status_code == 201
    assert send(anon, second.slug).status_code == 201
    flooded = send(anon, first.slug)

    assert flooded.status_code == 429
    assert int(flooded["Retry-After"]) > 0
    assert Archive.objects.count() == 2
    assert FailureWindow.objects.get(scope="upload-request-submissions").failures == 2


def test_a_bad_sender_field_is_400_and_counts_nothing(anon: APIClient) -> None:
    request = UploadRequestFactory()

    response = send(anon, request.slug, sender_email="not an address")

    assert response.status_code == 400
    assert "sender_email" in response.json()
    assert UploadRequest.objects.get().submissions_count == 0
