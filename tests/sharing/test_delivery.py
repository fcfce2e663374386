"""``deliver_archive``, the one entry point of a download from the share page and the share
API: what it counts, what a grant resumes, what it refuses and with which headers."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.http import FileResponse, HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from archives import storage
from archives.integrity import MISSING
from archives.models import Archive, Download
from core.models import FailureWindow
from notifications.models import Event, Webhook, WebhookDelivery
from sharing.delivery import (
    GRANT_COOKIE,
    GRANT_HEADER,
    Prefetch,
    Refusal,
    Unavailable,
    deliver_archive,
    refusal_headers,
)
from sharing.downloads import DownloadDecision, Outcome, find_share
from tests.conftest import streamed_body

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpResponseBase
    from django.test import Client
    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import APIClient

    from accounts.models import User

pytestmark = pytest.mark.django_db


def api_url(archive: Archive) -> str:
    return f"/api/shares/{archive.slug}/download"


def page_url(archive: Archive) -> str:
    return f"/s/{archive.slug}/download"


def counted_grant(client: APIClient, archive: Archive, *, password: str = "") -> str:
    first = client.get(api_url(archive), HTTP_RANGE="bytes=0-9", HTTP_X_ARCHIVE_PASSWORD=password)
    assert first.status_code == 206
    assert len(streamed_body(first)) == 10
    return first["X-Download-Grant"]


def served(result: HttpResponseBase | Refusal | Prefetch | Unavailable) -> HttpResponseBase:
    assert not isinstance(result, Refusal | Prefetch | Unavailable), result
    return result


def test_a_new_download_is_counted_and_carries_its_grant(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive()
    request = RequestFactory().get(api_url(archive), HTTP_REFERER="https://example.org/post")

    response = served(deliver_archive(request, find_share(archive.slug), password=None))

    assert response.status_code == 200
    assert streamed_body(response) == storage.local_path(archive.zip_name).read_bytes()
    download = Download.objects.get(archive=archive)
    assert download.referer == "https://example.org/post"
    assert response[GRANT_HEADER] == response.cookies[GRANT_COOKIE].value
    # Scoped to the share, so its files go on with the grant too.
    assert response.cookies[GRANT_COOKIE]["path"] == f"/api/shares/{archive.slug}/"
    assert response.cookies[GRANT_COOKIE]["httponly"]
    assert Archive.objects.get(pk=archive.pk).download_count == 1


def test_a_resumed_range_is_sent_and_not_counted_again(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.bin": bytes(range(256)) * 40})
    whole = storage.local_path(archive.zip_name).read_bytes()
    grant = counted_grant(anon, archive)
    factory = RequestFactory()

    for path in (api_url(archive), page_url(archive)):
        request = factory.get(path, HTTP_RANGE="bytes=100-199", HTTP_X_DOWNLOAD_GRANT=grant)
        response = served(deliver_archive(request, find_share(archive.slug), password=None))
        assert response.status_code == 206
        assert response["Content-Range"] == f"bytes 100-199/{len(whole)}"
        assert streamed_body(response) == whole[100:200]
        assert GRANT_HEADER not in response
    # By the grant cookie alone, as a browser resumes.
    factory.cookies[GRANT_COOKIE] = grant
    by_cookie = deliver_archive(
        factory.get(page_url(archive), HTTP_RANGE="bytes=5-9"),
        find_share(archive.slug),
        password=None,
    )
    assert streamed_body(served(by_cookie)) == whole[5:10]

    assert Download.objects.filter(archive=archive).count() == 1
    assert Archive.objects.get(pk=archive.pk).download_count == 1


def test_a_whole_file_request_with_a_grant_uses_it_and_a_forged_one_is_a_new_download(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    whole = storage.local_path(archive.zip_name).read_bytes()
    grant = counted_grant(anon, archive)
    factory = RequestFactory()

    # As aria2c opens a resume: a plain GET with the grant.
    request = factory.get(api_url(archive), HTTP_X_DOWNLOAD_GRANT=grant)
    response = served(deliver_archive(request, find_share(archive.slug), password=None))
    assert response.status_code == 200
    assert streamed_body(response) == whole
    assert Download.objects.filter(archive=archive).count() == 1

    forged = factory.get(
        api_url(archive), HTTP_RANGE="bytes=0-9", HTTP_X_DOWNLOAD_GRANT=grant + "x"
    )
    served(deliver_archive(forged, find_share(archive.slug), password=None))
    assert Download.objects.filter(archive=archive).count() == 2


def test_head_and_prefetch_count_nothing(make_archive: Callable[..., Archive]) -> None:
    archive = make_archive()
    factory = RequestFactory()
    share = find_share(archive.slug)

    head = served(deliver_archive(factory.head(api_url(archive)), share, password=None))
    prefetch = deliver_archive(
        factory.get(api_url(archive), HTTP_SEC_PURPOSE="prefetch;prerender"), share, password=None
    )

    assert head.status_code == 200
    assert head["Content-Length"] == str(archive.size)
    assert isinstance(prefetch, Prefetch)
    assert not Download.objects.exists()


def test_a_resume_past_the_lifetime_is_refused(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    grant = counted_grant(anon, archive)
    request = RequestFactory().get(
        api_url(archive), HTTP_RANGE="bytes=0-9", HTTP_X_DOWNLOAD_GRANT=grant
    )

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        refused = deliver_archive(request, find_share(archive.slug), password=None)

    assert isinstance(refused, Refusal)
    assert (refused.decision.outcome, refused.status) == (Outcome.EXPIRED, 410)


def test_only_a_throttled_refusal_carries_retry_after() -> None:
    throttled = DownloadDecision(Outcome.THROTTLED, retry_after=42)

    assert refusal_headers(throttled) == {"Retry-After": "42"}
    for outcome in Outcome:
        if outcome is not Outcome.THROTTLED:
            assert refusal_headers(DownloadDecision(outcome)) == {}


def test_the_page_and_the_api_send_the_same_retry_after(
    client: Client,
    anon: APIClient,
    make_archive: Callable[..., Archive],
    settings: DjangoSettings,
) -> None:
    settings.PASSWORD_ATTEMPTS_LIMIT = 2
    archive = make_archive(password="pw")
    for _ in range(2):
        anon.get(api_url(archive), HTTP_X_ARCHIVE_PASSWORD="wrong")

    api = anon.get(api_url(archive), HTTP_X_ARCHIVE_PASSWORD="pw")
    page = client.post(f"/s/{archive.slug}/unlock", {"password": "pw"})

    assert (api.status_code, page.status_code) == (429, 429)
    assert int(api["Retry-After"]) > 0
    assert abs(int(page["Retry-After"]) - int(api["Retry-After"])) <= 1


def test_a_resumed_range_has_the_headers_of_every_response(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    first = anon.get(api_url(archive), HTTP_RANGE="bytes=0-9")

    resumed = anon.get(
        api_url(archive), HTTP_RANGE="bytes=10-19", HTTP_X_DOWNLOAD_GRANT=first["X-Download-Grant"]
    )

    assert resumed.status_code == 206
    for header in (
        "Content-Type",
        "Content-Disposition",
        "ETag",
        "Accept-Ranges",
        "Cache-Control",
        "X-Content-Type-Options",
        "Content-Security-Policy",
        "Permissions-Policy",
        "Cross-Origin-Resource-Policy",
        "Cross-Origin-Opener-Policy",
        "Referrer-Policy",
        "X-Frame-Options",
    ):
        assert resumed[header] == first[header], header
    assert resumed["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert resumed["X-Frame-Options"] == "DENY"
    assert resumed["X-Request-ID"]
    assert resumed["X-Request-ID"] != first["X-Request-ID"]


def test_a_wrong_password_with_a_grant_is_counted_once(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(password="pw")
    grant = counted_grant(anon, archive, password="pw")

    refused = anon.get(
        api_url(archive),
        HTTP_RANGE="bytes=10-19",
        HTTP_X_DOWNLOAD_GRANT=grant,
        HTTP_X_ARCHIVE_PASSWORD="wrong",
    )

    assert refused.status_code == 403
    assert FailureWindow.objects.get().failures == 1


@pytest.fixture
def downloaded_hook(user: User) -> Webhook:
    """A webhook of the owner's that would receive every "downloaded" notification."""
    return Webhook.objects.create(
        owner=user,
        url="https://hooks.example.org/in",
        events=[Event.DOWNLOADED, Event.LIMIT_REACHED],
        created_at=timezone.now(),
    )


def assert_nothing_counted(archive: Archive) -> None:
    archive.refresh_from_db()
    assert archive.download_count == 0
    assert not Download.objects.filter(archive=archive).exists()
    assert not WebhookDelivery.objects.filter(archive_id=archive.pk).exists()


def test_api_answers_503_and_counts_nothing_when_the_stored_zip_is_gone(
    anon: APIClient,
    api: APIClient,
    make_archive: Callable[..., Archive],
    downloaded_hook: Webhook,
) -> None:
    archive = make_archive(max_downloads=2)
    storage.local_path(archive.zip_name).unlink()

    response = anon.get(api_url(archive))
    again = anon.get(api_url(archive))

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].endswith(MISSING)
    # Marked damaged, the archive is refused by the rules from then on.
    assert (again.status_code, again.json()["reason"]) == (409, "damaged")
    assert_nothing_counted(archive)
    assert archive.integrity_error == MISSING
    # The owner sees it damaged, as the integrity scrub would have marked it.
    assert api.get(f"/api/archives/{archive.pk}/").json()["integrity_error"] == MISSING


def test_page_answers_a_503_page_and_counts_nothing_when_the_stored_zip_is_gone(
    client: Client, make_archive: Callable[..., Archive], downloaded_hook: Webhook
) -> None:
    archive = make_archive(max_downloads=1)
    storage.local_path(archive.zip_name).unlink()

    response = client.get(page_url(archive))

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"is damaged, so it is not served" in response.content
    assert_nothing_counted(archive)
    assert archive.integrity_error == MISSING


def test_a_resume_or_head_of_a_gone_zip_answers_503(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    resumed, headed = make_archive(), make_archive()
    grant = counted_grant(anon, resumed)
    for archive in (resumed, headed):
        storage.local_path(archive.zip_name).unlink()

    resume = anon.get(api_url(resumed), HTTP_RANGE="bytes=10-19", HTTP_X_DOWNLOAD_GRANT=grant)
    head = anon.head(api_url(headed))

    assert (resume.status_code, head.status_code) == (503, 503)
    assert Archive.objects.get(pk=resumed.pk).download_count == 1
    assert Archive.objects.get(pk=headed.pk).integrity_error == MISSING


def test_an_unreadable_zip_answers_503_and_is_marked_damaged(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    path = storage.local_path(archive.zip_name)
    path.unlink()
    path.mkdir()  # A name that opens as no file.

    response = anon.get(api_url(archive))

    assert response.status_code == 503
    assert_nothing_counted(archive)
    assert archive.integrity_error.startswith("The stored file cannot be read")


def test_behind_nginx_a_gone_zip_answers_503(
    anon: APIClient, make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    settings.DOWNLOAD_ACCEL = "nginx"
    archive = make_archive()
    storage.local_path(archive.zip_name).unlink()

    assert anon.get(api_url(archive)).status_code == 503
    assert_nothing_counted(archive)


def test_past_its_budget_a_grant_refuses_a_range_and_answers_a_whole_request_with_headers(
    anon: APIClient, make_archive: Callable[..., Archive], caplog: pytest.LogCaptureFixture
) -> None:
    archive = make_archive({"a.bin": bytes(range(256)) * 40})
    size = archive.size or 0
    grant = counted_grant(anon, archive)
    half = size // 2
    factory = RequestFactory()

    def ask(byte_range: str | None = None) -> HttpResponseBase | Refusal | Prefetch | Unavailable:
        headers = {"X-Download-Grant": grant} | ({"Range": byte_range} if byte_range else {})
        request = factory.get(api_url(archive), headers=headers)
        return deliver_archive(request, find_share(archive.slug), password=None)

    # 10 bytes, then the first half twice: the budget (size + 10%) has less than half
    # left.
    for _ in range(2):
        first_half = served(ask(f"bytes=0-{half - 1}"))
        assert len(streamed_body(first_half)) == half
        # As the server ends a response: what was sent is recorded, nothing given back.
        assert isinstance(first_half, FileResponse)
        assert first_half.file_to_stream is not None
        first_half.file_to_stream.close()
    refused = ask(f"bytes={half}-")
    assert isinstance(refused, Refusal)
    assert (refused.status, refused.decision.outcome) == (410, Outcome.GRANT_USED_UP)
    assert f"refused bytes {half}-{size - 1}" in caplog.text
    # aria2c opens a resume with a plain GET, reads the headers and closes it.
    probe = served(ask())
    assert (probe.status_code, probe["Content-Length"]) == (200, str(size))
    assert isinstance(probe, HttpResponse)
    assert probe.content == b""

    download = Download.objects.get(archive=archive)
    assert download.grant_used == 10 + 2 * half
    assert Archive.objects.get(pk=archive.pk).download_count == 1


def test_behind_nginx_a_grant_is_charged_what_it_allowed(
    anon: APIClient, make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    settings.DOWNLOAD_ACCEL = "nginx"
    archive = make_archive()
    first = anon.get(api_url(archive), HTTP_RANGE="bytes=0-9")
    assert "X-Accel-Redirect" in first

    again = anon.get(api_url(archive), HTTP_RANGE="bytes=10-99")

    assert "X-Accel-Redirect" in again
    # nginx sends the bytes: the app cannot know how many left, so what it allowed
    # counts as sent, and nothing goes back.
    download = Download.objects.get(archive=archive)
    assert (download.grant_used, download.bytes_sent) == (100, 100)
    assert download.ranges == [[0, 100]]
