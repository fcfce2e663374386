"""Resumed ranges answered early, by ``ResumedRangeMiddleware``, and every request it
leaves to the full request cycle."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from archives import storage
from archives.middleware import ResumedRangeMiddleware
from archives.models import Archive, Download
from core.models import FailureWindow
from tests.conftest import streamed_body

if TYPE_CHECKING:
    from collections.abc import Callable

    from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PASSED_ON = HttpResponse("the rest of the stack", status=299)


def api_url(archive: Archive) -> str:
    return f"/api/shares/{archive.slug}/download"


def page_url(archive: Archive) -> str:
    return f"/s/{archive.slug}/download"


def counted_grant(client: APIClient, archive: Archive, *, password: str = "") -> str:
    first = client.get(api_url(archive), HTTP_RANGE="bytes=0-9", HTTP_X_ARCHIVE_PASSWORD=password)
    assert first.status_code == 206
    assert len(streamed_body(first)) == 10
    return first["X-Download-Grant"]


def test_a_resumed_range_is_answered_before_the_rest_of_the_stack(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.bin": bytes(range(256)) * 40})
    whole = storage.local_path(archive.zip_name).read_bytes()
    grant = counted_grant(anon, archive)
    factory = RequestFactory()

    for path in (api_url(archive), page_url(archive)):
        request = factory.get(path, HTTP_RANGE="bytes=100-199", HTTP_X_DOWNLOAD_GRANT=grant)
        response = ResumedRangeMiddleware(lambda _: PASSED_ON)(request)
        assert response.status_code == 206
        assert response["Content-Range"] == f"bytes 100-199/{len(whole)}"
        assert streamed_body(response) == whole[100:200]
    # By the grant cookie alone, as a browser resumes.
    factory.cookies["download_grant"] = grant
    by_cookie = ResumedRangeMiddleware(lambda _: PASSED_ON)(
        factory.get(page_url(archive), HTTP_RANGE="bytes=5-9")
    )
    assert streamed_body(by_cookie) == whole[5:10]

    # Resumes, not downloads: the bytes they send are counted as the server closes them
    # (tests/archives/test_counting.py, through gunicorn).
    assert Download.objects.filter(archive=archive).count() == 1
    assert Archive.objects.get(pk=archive.pk).download_count == 1


def test_everything_but_a_plain_resume_goes_down_the_stack(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    grant = counted_grant(anon, archive)
    protected = make_archive(password="pw")
    protected_grant = counted_grant(anon, protected, password="pw")
    factory = RequestFactory()
    resume = {"HTTP_RANGE": "bytes=0-9", "HTTP_X_DOWNLOAD_GRANT": grant}

    passed_on = [
        factory.get(api_url(archive), HTTP_RANGE="bytes=0-9"),  # no grant: a new download
        factory.get(api_url(archive), HTTP_X_DOWNLOAD_GRANT=grant),  # no range
        factory.head(api_url(archive), **resume),
        factory.get(api_url(archive), HTTP_SEC_PURPOSE="prefetch", **resume),
        factory.get(f"/api/shares/{archive.slug}/", **resume),  # not a download
        factory.get("/api/shares/nope/download", **resume),
        factory.get(api_url(protected), HTTP_X_ARCHIVE_PASSWORD="pw", **resume),
        factory.get(
            api_url(protected),
            HTTP_RANGE="bytes=0-9",
            HTTP_X_DOWNLOAD_GRANT=protected_grant,
            HTTP_X_ARCHIVE_PASSWORD="pw",
        ),
        factory.get(api_url(archive), HTTP_RANGE="bytes=0-9", HTTP_X_DOWNLOAD_GRANT=grant + "x"),
    ]

    for request in passed_on:
        assert ResumedRangeMiddleware(lambda _: PASSED_ON)(request) is PASSED_ON
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        expired = factory.get(api_url(archive), **resume)
        assert ResumedRangeMiddleware(lambda _: PASSED_ON)(expired) is PASSED_ON
    assert Download.objects.filter(archive=archive).count() == 1


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
