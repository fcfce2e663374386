"""The tus 1.0 endpoints through the test client: every answer the protocol names."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from email.utils import parsedate_to_datetime
from io import StringIO
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.core.management import call_command
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


def start_with(
    client: APIClient, data: bytes, *, length: int, upload_checksum: str = ""
) -> TestResponse:
    """A creation carrying the upload's first bytes (creation-with-upload)."""
    headers = {
        "Upload-Length": str(length),
        "Upload-Metadata": metadata(filename="a.txt"),
        "Tus-Resumable": "1.0.0",
    }
    if upload_checksum:
        headers["Upload-Checksum"] = upload_checksum
    return client.post("/api/uploads/", data, content_type=OCTETS, headers=headers)


def upload_id(response: TestResponse) -> str:
    return response["Location"].rsplit("/", 1)[1]


def send(
    client: APIClient,
    location: str,
    data: bytes,
    *,
    offset: int,
    upload_checksum: str = "",
    overridden: bool = False,
) -> TestResponse:
    """A PATCH of ``data`` at ``offset``; ``overridden``: as a POST saying it is a PATCH."""
    headers = {"Upload-Offset": str(offset), "Tus-Resumable": "1.0.0"}
    if upload_checksum:
        headers["Upload-Checksum"] = upload_checksum
    if overridden:
        headers["X-HTTP-Method-Override"] = "PATCH"
        return client.post(location, data, content_type=OCTETS, headers=headers)
    return client.patch(location, data, content_type=OCTETS, headers=headers)


def checksum(algorithm: str, data: bytes) -> str:
    """An ``Upload-Checksum`` value of ``data``."""
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def offset_of(client: APIClient, location: str) -> str:
    return client.head(location, **TUS)["Upload-Offset"]


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
    assert response["Tus-Extension"] == (
        "creation,creation-with-upload,termination,expiration,checksum"
    )
    assert response["Tus-Checksum-Algorithm"] == "sha1,sha256"
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


@pytest.mark.parametrize("checksummed", [False, True])
def test_patch_on_a_full_disk_is_507_and_the_offset_stays(
    api: APIClient, media_mount: MediaMount, checksummed: bool
) -> None:
    location = start(api, 200_000)["Location"]
    assert send(api, location, b"0123456789", offset=0)["Upload-Offset"] == "10"
    media_mount.fill()
    chunk = b"x" * 100_000
    upload_checksum = checksum("sha256", chunk) if checksummed else ""

    for _ in range(2):
        response = send(api, location, chunk, offset=10, upload_checksum=upload_checksum)

        assert response.status_code == 507
        assert response["Tus-Resumable"] == "1.0.0"
        assert "Storage is full" in response.json()["detail"]
        head = api.head(location, **TUS)
        assert head.status_code == 200
        assert head["Upload-Offset"] == "10"
    assert partial_path(location.rsplit("/", 1)[1]).read_bytes() == b"0123456789"


def test_head_answers_the_metadata_as_it_was_given(api: APIClient) -> None:
    # A key without a value is allowed (tus creation), and order and spacing stay as sent.
    given = f"{metadata(filename='notes.txt')},is_confidential,kind YQ=="
    location = api.post(
        "/api/uploads/", HTTP_UPLOAD_LENGTH="10", HTTP_UPLOAD_METADATA=given, **TUS
    )["Location"]

    response = api.head(location, **TUS)

    assert response["Upload-Metadata"] == given
    assert response["Upload-Offset"] == "0"
    assert response["Upload-Length"] == "10"
    assert response["Cache-Control"] == "no-store"
    assert "Upload-Defer-Length" not in response


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("filename YQ==,filename Yg==", "twice"),
        ("filename YQ==,note w6k=\u00e9", "printable ASCII"),
        ("filename YQ==,note " + "A" * 9000, "longer than 8192"),
    ],
)
def test_metadata_the_protocol_forbids_is_400(api: APIClient, header: str, message: str) -> None:
    response = api.post("/api/uploads/", HTTP_UPLOAD_LENGTH="5", HTTP_UPLOAD_METADATA=header, **TUS)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not ResumableUpload.objects.exists()


def test_a_deferred_length_is_refused_with_what_to_send(api: APIClient) -> None:
    response = api.post(
        "/api/uploads/",
        HTTP_UPLOAD_DEFER_LENGTH="1",
        HTTP_UPLOAD_METADATA=metadata(filename="a"),
        **TUS,
    )
    assert response.status_code == 400
    assert "Upload-Length" in response.json()["detail"]


def test_a_post_overridden_to_patch_appends(api: APIClient) -> None:
    location = start(api, 10)["Location"]

    response = send(api, location, b"hello", offset=0, overridden=True)

    assert response.status_code == 204
    assert response["Upload-Offset"] == "5"
    assert response["Tus-Resumable"] == "1.0.0"
    assert partial_path(location.rsplit("/", 1)[1]).read_bytes() == b"hello"


def test_a_post_overridden_to_head_and_delete_acts_as_them(
    api: APIClient, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    location = start(api, 10)["Location"]
    send(api, location, b"hey", offset=0)

    head = api.post(location, HTTP_X_HTTP_METHOD_OVERRIDE="HEAD", **TUS)
    assert head.status_code == 200
    assert (head["Upload-Offset"], head["Upload-Length"]) == ("3", "10")
    assert head.content == b""

    with django_capture_on_commit_callbacks(execute=True):
        deleted = api.post(location, HTTP_X_HTTP_METHOD_OVERRIDE="DELETE", **TUS)
    assert deleted.status_code == 204
    assert not partial_path(location.rsplit("/", 1)[1]).exists()
    assert api.head(location, **TUS).status_code == 404


def test_an_override_to_a_method_tus_does_not_use_is_405(api: APIClient) -> None:
    location = start(api, 10)["Location"]
    response = api.post(location, HTTP_X_HTTP_METHOD_OVERRIDE="PUT", **TUS)
    assert response.status_code == 405
    assert offset_of(api, location) == "0"


def test_an_overridden_patch_of_a_session_still_needs_the_csrf_token(
    user: User, password: str
) -> None:
    browser = APIClient(enforce_csrf_checks=True)
    assert browser.login(username=user.username, password=password)
    browser.get("/upload/")
    token = browser.cookies["csrftoken"].value
    location = browser.post(
        "/api/uploads/",
        HTTP_UPLOAD_LENGTH="10",
        HTTP_UPLOAD_METADATA=metadata(filename="a.txt"),
        HTTP_X_CSRFTOKEN=token,
        **TUS,
    )["Location"]
    patch = {
        "content_type": OCTETS,
        "HTTP_X_HTTP_METHOD_OVERRIDE": "PATCH",
        "HTTP_UPLOAD_OFFSET": "0",
        **TUS,
    }

    assert browser.post(location, b"hello", **patch).status_code == 403
    assert browser.post(location, b"hello", HTTP_X_CSRFTOKEN=token, **patch).status_code == 204


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_a_patch_with_a_matching_checksum_is_stored(api: APIClient, algorithm: str) -> None:
    location = start(api, 10)["Location"]

    response = send(
        api, location, b"hello", offset=0, upload_checksum=checksum(algorithm, b"hello")
    )

    assert response.status_code == 204
    assert response["Upload-Offset"] == "5"
    assert partial_path(location.rsplit("/", 1)[1]).read_bytes() == b"hello"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_a_checksum_mismatch_is_460_and_keeps_nothing_of_the_body(
    api: APIClient, algorithm: str
) -> None:
    location = start(api, 10)["Location"]
    send(api, location, b"hello", offset=0)

    response = send(
        api, location, b"world", offset=5, upload_checksum=checksum(algorithm, b"w0rld")
    )

    assert response.status_code == 460
    assert response.reason_phrase == "Checksum Mismatch"
    assert response["Tus-Resumable"] == "1.0.0"
    assert "stays at 5 bytes" in response.json()["detail"]
    assert offset_of(api, location) == "5"
    assert partial_path(location.rsplit("/", 1)[1]).read_bytes() == b"hello"
    # The same chunk sent again whole is taken.
    again = send(api, location, b"world", offset=5, upload_checksum=checksum(algorithm, b"world"))
    assert again["Upload-Offset"] == "10"
    assert partial_path(location.rsplit("/", 1)[1]).read_bytes() == b"helloworld"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("md5 XUFAKrxLKna5cZ2REBfFkg==", "'md5' is not supported"),
        ("sha1", "20 bytes, not 0"),
        ("sha1 ???", "not base64"),
        ("sha256 " + base64.b64encode(b"short").decode(), "32 bytes, not 5"),
    ],
)
def test_an_unusable_checksum_is_400_and_nothing_is_written(
    api: APIClient, header: str, message: str
) -> None:
    location = start(api, 10)["Location"]

    response = send(api, location, b"hello", offset=0, upload_checksum=header)

    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert offset_of(api, location) == "0"
    assert partial_path(location.rsplit("/", 1)[1]).read_bytes() == b""


def test_an_overridden_patch_is_checked_against_its_checksum(api: APIClient) -> None:
    location = start(api, 10)["Location"]
    wrong = checksum("sha1", b"other")
    response = send(api, location, b"hello", offset=0, upload_checksum=wrong, overridden=True)
    assert response.status_code == 460
    assert offset_of(api, location) == "0"


def test_creation_with_upload_stores_the_first_bytes(api: APIClient) -> None:
    response = start_with(api, b"hello", length=10, upload_checksum=checksum("sha256", b"hello"))

    assert response.status_code == 201
    assert response["Upload-Offset"] == "5"
    assert response["Upload-Expires"].endswith("GMT")
    assert partial_path(upload_id(response)).read_bytes() == b"hello"
    assert send(api, response["Location"], b"world", offset=5)["Upload-Offset"] == "10"


def test_creation_with_the_whole_file_completes_it(api: APIClient) -> None:
    response = start_with(api, b"hello", length=5)
    assert response["Upload-Offset"] == "5"
    assert ResumableUpload.objects.get(pk=upload_id(response)).completed_at is not None


def test_creation_with_a_mismatched_body_is_460_and_creates_nothing(
    api: APIClient, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = start_with(api, b"hello", length=10, upload_checksum=checksum("sha1", b"hullo"))

    assert response.status_code == 460
    assert "No upload was created" in response.json()["detail"]
    assert "Location" not in response
    assert not ResumableUpload.objects.exists()
    assert not any(partial_path("x").parent.iterdir())


def test_creation_with_a_body_past_the_length_is_413_and_creates_nothing(
    api: APIClient,
) -> None:
    response = start_with(api, b"hello world", length=5)
    assert response.status_code == 413
    assert not ResumableUpload.objects.exists()


def test_creation_with_a_body_of_another_type_is_415(api: APIClient) -> None:
    response = api.post(
        "/api/uploads/",
        b"hello",
        content_type="text/plain",
        HTTP_UPLOAD_LENGTH="5",
        HTTP_UPLOAD_METADATA=metadata(filename="a.txt"),
        **TUS,
    )
    assert response.status_code == 415
    assert not ResumableUpload.objects.exists()


def test_upload_expires_is_announced_and_an_expired_upload_is_410_then_404(
    api: APIClient, settings: DjangoSettings
) -> None:
    now = timezone.now().replace(microsecond=0)
    lifetime = timedelta(seconds=settings.TUS_EXPIRE_SECONDS)
    with time_machine.travel(now, tick=False):
        created = start(api, 10)
    location = created["Location"]
    assert parsedate_to_datetime(created["Upload-Expires"]) == now + lifetime
    later = now + timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        patched = send(api, location, b"hello", offset=0)
    assert parsedate_to_datetime(patched["Upload-Expires"]) == later + lifetime

    with time_machine.travel(later + lifetime, tick=False):
        assert api.head(location, **TUS).status_code == 410
        assert send(api, location, b"world", offset=5).status_code == 410
        assert api.delete(location, **TUS).status_code == 410
        call_command("purge_expired_uploads", stdout=StringIO())
        assert api.head(location, **TUS).status_code == 404


def test_a_body_of_unknown_length_is_411_and_nothing_moves(api: APIClient) -> None:
    location = start(api, 10)["Location"]
    # As a chunked request arrives: no Content-Length.
    unknown = {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked", **TUS}

    patched = api.generic(
        "PATCH", location, "hello", content_type=OCTETS, HTTP_UPLOAD_OFFSET="0", **unknown
    )
    created = api.generic(
        "POST",
        "/api/uploads/",
        "hello",
        content_type=OCTETS,
        HTTP_UPLOAD_LENGTH="10",
        HTTP_UPLOAD_METADATA=metadata(filename="a.txt"),
        **unknown,
    )

    assert (patched.status_code, created.status_code) == (411, 411)
    assert "Content-Length" in patched.json()["detail"]
    assert offset_of(api, location) == "0"
    assert ResumableUpload.objects.count() == 1
