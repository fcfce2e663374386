"""The tus 1.0 endpoints through the test client: every answer the protocol names."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import issue_token
from resumable.models import ResumableUpload
from resumable.partials import partial_path

if TYPE_CHECKING:
    from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks
    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import _MonkeyPatchedResponse as TestResponse

    from accounts.models import User
    from tests.conftest import MediaMount

pytestmark = pytest.mark.django_db

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
OCTETS = "application/offset+octet-stream"


def metadata(**values: str) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items()
    )


def start(
    client: APIClient, length: int, *, filename: str = "notes.txt", **more: str
) -> TestResponse:
    return client.post(
        "/api/uploads/",
        HTTP_UPLOAD_LENGTH=str(length),
        HTTP_UPLOAD_METADATA=metadata(filename=filename, **more),
        **TUS,
    )


def upload_id(response: TestResponse) -> str:
    return response["Location"].rsplit("/", 1)[1]


def send(client: APIClient, location: str, data: bytes, *, offset: int) -> TestResponse:
    return client.patch(
        location,
        data,
        content_type=OCTETS,
        HTTP_UPLOAD_OFFSET=str(offset),
        **TUS,
    )


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
    return client


def test_options_announce_version_extensions_and_max_size(
    anon: APIClient, settings: DjangoSettings
) -> None:
    response = anon.options("/api/uploads/")
    assert response.status_code == 204
    assert response["Tus-Resumable"] == "1.0.0"
    assert response["Tus-Version"] == "1.0.0"
    assert response["Tus-Extension"] == "creation,termination,expiration"
    assert response["Tus-Max-Size"] == str(settings.ARCHIVE_FILE_MAX_BYTES)


def test_creation_answers_201_with_location_and_expiry(api: APIClient, user: User) -> None:
    before = timezone.now()
    response = start(api, 11, relativePath="docs/notes.txt")
    assert response.status_code == 201
    assert response["Tus-Resumable"] == "1.0.0"
    assert response["Location"].startswith("http://testserver/api/uploads/")
    assert response["Upload-Expires"].endswith("GMT")
    upload = ResumableUpload.objects.get(pk=upload_id(response))
    assert len(upload.pk) >= 24
    assert (upload.owner, upload.length, upload.offset) == (user, 11, 0)
    assert (upload.filename, upload.relative_path) == ("notes.txt", "docs/notes.txt")
    assert upload.expires_at >= before + timedelta(hours=24)
    assert partial_path(upload.pk).read_bytes() == b""


def test_head_tells_offset_and_length_uncached(api: APIClient) -> None:
    location = start(api, 10)["Location"]
    send(api, location, b"hello", offset=0)
    response = api.head(location, **TUS)
    assert response.status_code == 200
    assert response["Upload-Offset"] == "5"
    assert response["Upload-Length"] == "10"
    assert response["Cache-Control"] == "no-store"
    assert response["Tus-Resumable"] == "1.0.0"
    assert response.content == b""


def test_patches_append_until_complete(api: APIClient) -> None:
    location = start(api, 10)["Location"]
    first = send(api, location, b"hello", offset=0)
    assert first.status_code == 204
    assert first["Upload-Offset"] == "5"
    assert "Upload-Expires" in first
    second = send(api, location, b"world", offset=5)
    assert second["Upload-Offset"] == "10"
    upload = ResumableUpload.objects.get(pk=location.rsplit("/", 1)[1])
    assert upload.completed_at is not None
    assert partial_path(upload.pk).read_bytes() == b"helloworld"


def test_patch_at_the_wrong_offset_is_409_and_writes_nothing(api: APIClient) -> None:
    location = start(api, 10)["Location"]
    send(api, location, b"hello", offset=0)
    response = send(api, location, b"XXXXX", offset=3)
    assert response.status_code == 409
    assert "5 bytes" in response.json()["detail"]
    assert response["Tus-Resumable"] == "1.0.0"
    assert partial_path(location.rsplit("/", 1)[1]).read_bytes() == b"hello"


def test_patch_needs_the_offset_content_type(api: APIClient) -> None:
    location = start(api, 10)["Location"]
    response = api.patch(
        location, b"hello", content_type="text/plain", HTTP_UPLOAD_OFFSET="0", **TUS
    )
    assert response.status_code == 415


def test_patch_past_the_length_is_413(api: APIClient) -> None:
    location = start(api, 4)["Location"]
    response = send(api, location, b"hello", offset=0)
    assert response.status_code == 413
    assert api.head(location, **TUS)["Upload-Offset"] == "0"


def test_patch_while_another_request_writes_is_423(api: APIClient) -> None:
    location = start(api, 10)["Location"]
    pk = location.rsplit("/", 1)[1]
    ResumableUpload.objects.filter(pk=pk).update(claim="someone", claimed_at=timezone.now())
    assert send(api, location, b"hello", offset=0).status_code == 423
    # A claim nobody renewed for a minute belongs to a request that died.
    stale = timezone.now() - timedelta(minutes=5)
    ResumableUpload.objects.filter(pk=pk).update(claimed_at=stale)
    assert send(api, location, b"hello", offset=0).status_code == 204


def test_termination_removes_the_upload_and_its_bytes(
    api: APIClient, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    location = start(api, 10)["Location"]
    send(api, location, b"hello", offset=0)
    pk = location.rsplit("/", 1)[1]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(location, **TUS)
    assert response.status_code == 204
    assert response["Tus-Resumable"] == "1.0.0"
    assert not ResumableUpload.objects.filter(pk=pk).exists()
    assert not partial_path(pk).exists()
    assert api.head(location, **TUS).status_code == 404


@pytest.mark.parametrize("version", ["0.2.2", "", "1.0"])
def test_unsupported_protocol_version_is_412(api: APIClient, version: str) -> None:
    response = api.post(
        "/api/uploads/",
        HTTP_UPLOAD_LENGTH="5",
        HTTP_UPLOAD_METADATA=metadata(filename="a"),
        HTTP_TUS_RESUMABLE=version,
    )
    assert response.status_code == 412
    assert response["Tus-Version"] == "1.0.0"
    assert response["Tus-Resumable"] == "1.0.0"
    assert not ResumableUpload.objects.exists()


def test_another_users_upload_is_404(api: APIClient, other_user: User) -> None:
    location = start(api, 10)["Location"]
    stranger = client_of(other_user)
    assert stranger.head(location, **TUS).status_code == 404
    assert send(stranger, location, b"hello", offset=0).status_code == 404
    assert stranger.delete(location, **TUS).status_code == 404
    assert api.head(location, **TUS)["Upload-Offset"] == "0"


def test_anonymous_requests_are_401(anon: APIClient) -> None:
    assert start(anon, 10).status_code == 401
    assert anon.head("/api/uploads/unknown", **TUS).status_code == 401


def test_session_requests_need_the_csrf_token(user: User, password: str) -> None:
    browser = APIClient(enforce_csrf_checks=True)
    assert browser.login(username=user.username, password=password)
    assert start(browser, 10).status_code == 403
    browser.get("/upload/")
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        "/api/uploads/",
        HTTP_UPLOAD_LENGTH="10",
        HTTP_UPLOAD_METADATA=metadata(filename="a.txt"),
        HTTP_X_CSRFTOKEN=token,
        **TUS,
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Upload-Length": "-1"}, "Upload-Length"),
        ({"Upload-Length": "ten"}, "Upload-Length"),
        ({"Upload-Length": "5", "Upload-Metadata": "relativePath YQ=="}, "filename"),
        ({"Upload-Length": "5", "Upload-Metadata": "filename ???"}, "base64"),
        ({"Upload-Length": "5", "Upload-Metadata": "filename YQBiLnR4dA=="}, "NUL"),
    ],
)
def test_malformed_creation_is_400(api: APIClient, headers: dict[str, str], message: str) -> None:
    response = api.post("/api/uploads/", headers={**headers, "Tus-Resumable": "1.0.0"})
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not ResumableUpload.objects.exists()


def test_limits_are_refused_at_creation(api: APIClient, settings: DjangoSettings) -> None:
    settings.ARCHIVE_FILE_MAX_BYTES = 1000
    response = start(api, 1001)
    assert response.status_code == 413
    assert "ARCHIVE_FILE_MAX_BYTES" in response.json()["detail"]
    assert response["Tus-Resumable"] == "1.0.0"
    assert not ResumableUpload.objects.exists()
    assert not partial_path("x").parent.exists() or not any(partial_path("x").parent.iterdir())


def test_open_uploads_count_against_the_quota(api: APIClient, settings: DjangoSettings) -> None:
    settings.USER_QUOTA_BYTES = 1500
    assert start(api, 1000).status_code == 201
    response = start(api, 1000)
    assert response.status_code == 413
    assert "USER_QUOTA_BYTES" in response.json()["detail"]
    assert ResumableUpload.objects.count() == 1


def test_empty_file_is_complete_at_creation(api: APIClient) -> None:
    response = start(api, 0)
    upload = ResumableUpload.objects.get(pk=upload_id(response))
    assert upload.completed_at is not None
    assert api.head(response["Location"], **TUS)["Upload-Offset"] == "0"


def test_patch_on_a_full_disk_is_507_and_the_offset_stays(
    api: APIClient, media_mount: MediaMount
) -> None:
    location = start(api, 200_000)["Location"]
    assert send(api, location, b"0123456789", offset=0)["Upload-Offset"] == "10"
    media_mount.fill()

    for _ in range(2):
        response = send(api, location, b"x" * 100_000, offset=10)

        assert response.status_code == 507
        assert response["Tus-Resumable"] == "1.0.0"
        assert "Storage is full" in response.json()["detail"]
        head = api.head(location, **TUS)
        assert head.status_code == 200
        assert head["Upload-Offset"] == "10"
    assert partial_path(location.rsplit("/", 1)[1]).read_bytes() == b"0123456789"
