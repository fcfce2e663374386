"""tus uploads without an account into an upload request: bound to the request and to the
token their creation answered, so nobody else can read, resume or submit them."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from archives.models import Archive
from inbox.models import Submission, UploadRequest
from resumable.models import ResumableUpload
from resumable.services import purge_expired_uploads
from tests.factories import UploadRequestFactory

if TYPE_CHECKING:
    from django.http.response import HttpResponseBase
    from rest_framework.test import APIClient
    from rest_framework.test import _MonkeyPatchedResponse as TestResponse

    from accounts.models import User

pytestmark = pytest.mark.django_db

OCTETS = "application/offset+octet-stream"


def start(
    client: APIClient, slug: str, data: bytes, *, name: str = "a.txt", **headers: str
) -> TestResponse:
    """A creation with all of the upload's bytes (creation-with-upload)."""
    return client.post(
        f"/api/requests/public/{slug}/uploads/",
        data,
        content_type=OCTETS,
        headers={
            "Upload-Length": str(len(data)),
            "Upload-Metadata": f"filename {base64.b64encode(name.encode()).decode()}",
            "Tus-Resumable": "1.0.0",
            **headers,
        },
    )


def upload_id(response: TestResponse) -> str:
    return response["Location"].rsplit("/", 1)[1]


def head(client: APIClient, location: str, **headers: str) -> HttpResponseBase:
    return client.head(location, headers={"Tus-Resumable": "1.0.0", **headers})


def submit(client: APIClient, slug: str, ids: list[str], token: str) -> TestResponse:
    return client.post(
        f"/api/requests/public/{slug}/submissions/",
        {"uploads": ids, "sender_name": "Ann"},
        format="json",
        headers={"Upload-Token": token},
    )


def test_a_sender_uploads_with_tus_and_submits_with_the_token(anon: APIClient, user: User) -> None:
    request = UploadRequestFactory(owner=user)
    first = start(anon, request.slug, b"one", name="one.txt")
    token = first["Upload-Token"]
    # The token of the first upload binds the second one too.
    second = start(anon, request.slug, b"two!", name="two.txt", **{"Upload-Token": token})

    assert first.status_code == second.status_code == 201
    assert second["Upload-Token"] == token
    assert first["Location"].startswith(f"http://testserver/api/requests/public/{request.slug}/")
    assert head(anon, first["Location"], **{"Upload-Token": token})["Upload-Offset"] == "3"

    response = submit(anon, request.slug, [upload_id(first), upload_id(second)], token)

    assert response.status_code == 201
    assert response.json()["receipt"]["files"] == [
        {"name": "one.txt", "size": 3, "sha256": hashlib.sha256(b"one").hexdigest()},
        {"name": "two.txt", "size": 4, "sha256": hashlib.sha256(b"two!").hexdigest()},
    ]
    assert Archive.objects.get().owner == user
    assert Submission.objects.get().sender_name == "Ann"
    assert not ResumableUpload.objects.exists()


def test_without_the_token_nobody_reads_resumes_or_submits_an_upload(
    anon: APIClient, api: APIClient, user: User
) -> None:
    request = UploadRequestFactory(owner=user)
    created = start(anon, request.slug, b"secret")
    location, token = created["Location"], created["Upload-Token"]
    other = start(anon, request.slug, b"mine")["Upload-Token"]

    assert head(anon, location).status_code == 404
    assert head(anon, location, **{"Upload-Token": other}).status_code == 404
    patched = anon.patch(
        location, b"x", content_type=OCTETS,
        headers={"Tus-Resumable": "1.0.0", "Upload-Offset": "6", "Upload-Token": other},
    )  # fmt: skip
    assert patched.status_code == 404
    refused = submit(anon, request.slug, [upload_id(created)], other)
    assert refused.status_code == 400
    assert "No such upload" in refused.json()["uploads"][0]
    # Nor the owner through the signed-in tus path: the owner's own uploads only.
    own = api.head(f"/api/uploads/{upload_id(created)}", headers={"Tus-Resumable": "1.0.0"})
    assert own.status_code == 404
    assert ResumableUpload.objects.count() == 2
    assert UploadRequest.objects.get().submissions_count == 0
    assert submit(anon, request.slug, [upload_id(created)], token).status_code == 201


def test_an_upload_of_another_request_cannot_be_submitted_here(anon: APIClient) -> None:
    here, there = UploadRequestFactory(), UploadRequestFactory()
    created = start(anon, there.slug, b"data")

    response = submit(anon, here.slug, [upload_id(created)], created["Upload-Token"])

    assert response.status_code == 400
    assert not Archive.objects.exists()


def test_creation_refusals(anon: APIClient) -> None:
    closed = UploadRequestFactory(closed_at=timezone.now())
    small = UploadRequestFactory(max_bytes=3)
    guarded = UploadRequestFactory(password=make_password("right"))

    assert start(anon, "nope", b"x").status_code == 404
    assert start(anon, closed.slug, b"x").status_code == 410
    assert start(anon, small.slug, b"four").status_code == 413
    assert start(anon, guarded.slug, b"x").status_code == 401
    assert start(anon, guarded.slug, b"x", **{"X-Request-Password": "no"}).status_code == 403
    assert start(anon, guarded.slug, b"x", **{"X-Request-Password": "right"}).status_code == 201
    assert ResumableUpload.objects.count() == 1


def test_the_owners_quota_holds_what_anonymous_uploads_announce(
    anon: APIClient, user: User, settings: object
) -> None:
    settings.USER_QUOTA_BYTES = 10  # type: ignore[attr-defined]
    request = UploadRequestFactory(owner=user)

    assert start(anon, request.slug, b"x" * 8).status_code == 201
    refused = start(anon, request.slug, b"x" * 8)

    assert refused.status_code == 413
    assert "USER_QUOTA_BYTES" in refused.json()["detail"]


def test_expired_unattached_uploads_are_swept(anon: APIClient) -> None:
    request = UploadRequestFactory()
    created = start(anon, request.slug, b"left behind")
    upload = ResumableUpload.objects.get()

    with time_machine.travel(upload.expires_at + timedelta(seconds=1)):
        assert purge_expired_uploads(now=timezone.now()) == 1
        gone = head(anon, created["Location"], **{"Upload-Token": created["Upload-Token"]})

    assert gone.status_code == 404
    assert not ResumableUpload.objects.exists()


def test_a_flood_of_anonymous_uploads_from_one_address_is_429(
    anon: APIClient, settings: object
) -> None:
    settings.UPLOAD_REQUEST_UPLOADS_PER_ADDRESS = 2  # type: ignore[attr-defined]
    first, second = UploadRequestFactory(), UploadRequestFactory()

    assert start(anon, first.slug, b"a").status_code == 201
    assert start(anon, second.slug, b"b").status_code == 201
    flooded = start(anon, first.slug, b"c")

    assert flooded.status_code == 429
    assert "Too many uploads from your address" in flooded.json()["detail"]
    assert int(flooded["Retry-After"]) > 0
    assert ResumableUpload.objects.count() == 2
    # The window passes; another address was never held back.
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        assert start(anon, first.slug, b"d").status_code == 201
    anon.defaults["REMOTE_ADDR"] = "192.0.2.9"
    assert start(anon, first.slug, b"e").status_code == 201
    assert ResumableUpload.objects.count() == 4
