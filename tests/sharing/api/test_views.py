"""The public share API: every row of the download rules, Range and grants."""

from __future__ import annotations

import io
import ipaddress
import random
import zipfile
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from django.utils import timezone

from archives import storage
from archives.models import Archive, Download
from tests.conftest import streamed_body

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def url(archive: Archive) -> str:
    return f"/api/shares/{archive.slug}/download"


def test_public_view_has_no_owner_data(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(password="pw", max_downloads=4)

    body = anon.get(f"/api/shares/{archive.slug}/").json()

    assert "id" not in body
    assert "owner" not in body
    assert "download_count" not in body
    assert body["status"] == "ready"
    assert body["has_password"] is True
    assert body["downloads_left"] == 4
    assert body["files"] == [
        {"index": 0, "name": "notes.txt", "size": 1200, "preview": "text", "sha256": None}
    ]
    assert body["download_url"].endswith(url(archive))


def test_unknown_slug_is_404(anon: APIClient) -> None:
    assert anon.get("/api/shares/nope/").status_code == 404
    response = anon.get("/api/shares/nope/download")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such share link."}


def test_download_sends_the_zip_as_attachment(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.txt": b"alpha"}, name="Отчёт 🚀")

    response = anon.get(url(archive))

    assert response.status_code == 200
    data = streamed_body(response)
    assert zipfile.ZipFile(io.BytesIO(data)).read("a.txt") == b"alpha"
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Length"] == str(archive.size)
    assert response["ETag"] == f'"{archive.sha256}"'
    assert response["Accept-Ranges"] == "bytes"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%20%F0%9F%9A%80.zip"
    )


def test_not_built_is_409_with_progress(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(build=False)

    response = anon.get(url(archive))

    assert response.status_code == 409
    assert response.json()["status"] == "pending"
    assert response.json()["progress"] == 0


def test_failed_is_409_with_error(anon: APIClient, make_archive: Callable[..., Archive]) -> None:
    archive = make_archive(build=False)
    Archive.objects.filter(pk=archive.pk).update(status="failed", error="disk full")

    response = anon.get(url(archive))

    assert response.status_code == 409
    assert response.json()["error"] == "disk full"


def test_password_rows(anon: APIClient, make_archive: Callable[..., Archive]) -> None:
    archive = make_archive(password="s3cret")

    assert anon.get(url(archive)).status_code == 401
    assert anon.get(url(archive), HTTP_X_ARCHIVE_PASSWORD="nope").status_code == 403
    assert anon.get(url(archive), HTTP_X_ARCHIVE_PASSWORD="s3cret").status_code == 200
    # Never from a query string.
    assert anon.get(f"{url(archive)}?password=s3cret").status_code == 401


def test_too_many_wrong_passwords_is_429_with_retry_after(
    anon: APIClient, make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    settings.PASSWORD_ATTEMPTS_LIMIT = 2
    archive = make_archive(password="s3cret")
    for _ in range(2):
        anon.get(url(archive), HTTP_X_ARCHIVE_PASSWORD="nope")

    response = anon.get(url(archive), HTTP_X_ARCHIVE_PASSWORD="s3cret")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["retry_after"] == int(response["Retry-After"])


def test_expired_is_410_with_the_time(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(ttl=60)

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        response = anon.get(url(archive))

    assert response.status_code == 410
    assert response.json()["reason"] == "expired"
    assert response.json()["expires_at"] == archive.expires_at.isoformat()


def test_limit_reached_is_410(anon: APIClient, make_archive: Callable[..., Archive]) -> None:
    archive = make_archive(max_downloads=1)
    first = anon.get(url(archive))
    assert first.status_code == 200
    assert len(streamed_body(first)) == archive.size

    # The same client again, its grant cookie with it: that download is complete, so
    # this is a new one.
    response = anon.get(url(archive))

    assert response.status_code == 410
    assert response.json()["reason"] == "limit_reached"
    assert anon.get(f"/api/shares/{archive.slug}/").json()["status"] == "expired"


def test_head_and_prefetch_never_count(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(max_downloads=1)

    head = anon.head(url(archive))
    prefetch = anon.get(url(archive), HTTP_SEC_PURPOSE="prefetch;prerender")
    legacy = anon.get(url(archive), HTTP_PURPOSE="prefetch")
    page = anon.get(f"/s/{archive.slug}/")

    assert head.status_code == 200
    assert head["Content-Length"] == str(archive.size)
    assert prefetch.status_code == 503
    assert legacy.status_code == 503
    assert page.status_code == 200
    archive.refresh_from_db()
    assert archive.download_count == 0
    assert anon.get(url(archive)).status_code == 200


def test_range_is_206_with_content_range(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"data.bin": bytes(range(256)) * 400})
    whole = storage.local_path(archive.zip_name).read_bytes()

    response = anon.get(url(archive), HTTP_RANGE="bytes=100-199")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-199/{archive.size}"
    assert response["Content-Length"] == "100"
    assert streamed_body(response) == whole[100:200]


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=-10", -10, None), ("bytes=50-", 50, None), ("bytes=0-999999999", 0, None)],
)
def test_range_forms(
    anon: APIClient,
    make_archive: Callable[..., Archive],
    header: str,
    start: int,
    end: int | None,
) -> None:
    archive = make_archive()
    whole = storage.local_path(archive.zip_name).read_bytes()

    response = anon.get(url(archive), HTTP_RANGE=header)

    assert response.status_code == 206
    assert streamed_body(response) == whole[start:end]


def test_unsatisfiable_range_is_416_and_not_counted(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()

    response = anon.get(url(archive), HTTP_RANGE=f"bytes={archive.size}-")

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{archive.size}"
    archive.refresh_from_db()
    assert archive.download_count == 0


def test_if_range_with_another_etag_sends_everything(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()

    stale = anon.get(url(archive), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"other"')
    fresh = anon.get(url(archive), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=f'"{archive.sha256}"')

    assert stale.status_code == 200
    assert len(streamed_body(stale)) == archive.size
    assert fresh.status_code == 206


def test_used_limit_gives_no_byte_without_the_grant_but_the_holder_resumes(
    make_archive: Callable[..., Archive],
) -> None:
    from rest_framework.test import APIClient

    data = random.Random(7).randbytes(50_000)
    archive = make_archive({"data.bin": data}, max_downloads=1, password="pw")
    whole = storage.local_path(archive.zip_name).read_bytes()
    holder = APIClient()
    first = holder.get(url(archive), HTTP_X_ARCHIVE_PASSWORD="pw", HTTP_RANGE="bytes=0-999")
    assert first.status_code == 206
    grant = first["X-Download-Grant"]

    # From another address: the holder's own address and user agent would resume its
    # lost grant.
    stranger = APIClient(REMOTE_ADDR="198.51.100.20")
    for header in ("bytes=1000-", "bytes=0-", "bytes=-1", f"bytes={len(whole) - 1}-"):
        refused = stranger.get(url(archive), HTTP_X_ARCHIVE_PASSWORD="pw", HTTP_RANGE=header)
        assert refused.status_code == 410
        assert b"PK" not in refused.content
    forged = stranger.get(
        url(archive),
        HTTP_X_ARCHIVE_PASSWORD="pw",
        HTTP_RANGE="bytes=1000-",
        HTTP_X_DOWNLOAD_GRANT=grant[:-3] + "abc",
    )
    assert forged.status_code == 410

    # The holder resumes with the header, and (as a browser does) with the cookie alone.
    resumed = stranger.get(
        url(archive), HTTP_X_ARCHIVE_PASSWORD="pw", HTTP_RANGE="bytes=1000-",
        HTTP_X_DOWNLOAD_GRANT=grant,
    )  # fmt: skip
    assert resumed.status_code == 206
    assert streamed_body(first) + streamed_body(resumed) == whole
    by_cookie = holder.get(url(archive), HTTP_X_ARCHIVE_PASSWORD="pw", HTTP_RANGE="bytes=5-9")
    assert streamed_body(by_cookie) == whole[5:10]
    # Still needs the password.
    assert holder.get(url(archive), HTTP_RANGE="bytes=5-9").status_code == 401
    # Once complete, a whole-file request is a new download, grant or not.
    assert holder.get(url(archive), HTTP_X_ARCHIVE_PASSWORD="pw").status_code == 410
    assert Download.objects.filter(archive=archive).count() == 1


def test_log_row_records_forwarded_ip_only_from_trusted_proxy(
    anon: APIClient, make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    archive = make_archive()
    anon.get(url(archive), HTTP_X_FORWARDED_FOR="1.2.3.4", REMOTE_ADDR="198.51.100.2")
    # Without the first download's grant cookie, so the second is counted too.
    anon.cookies.clear()
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    anon.get(url(archive), HTTP_X_FORWARDED_FOR="203.0.113.5", REMOTE_ADDR="10.1.1.1")

    ips = list(Download.objects.filter(archive=archive).order_by("at").values_list("ip", flat=True))

    assert ips == ["198.51.100.2", "203.0.113.5"]


def hashes(body: dict[str, Any]) -> list[str | None]:
    """The archive's sha256, then each member's, as the share API shows them."""
    return [body["sha256"], *(member["sha256"] for member in body["files"])]


def built_hashes(archive: Archive) -> list[str | None]:
    members = archive.files.order_by("position").values_list("sha256", flat=True)
    return [archive.sha256, *members]


def test_hashes_of_a_password_share_are_null_without_the_password(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.txt": b"alpha", "b.txt": b"beta"}, password="s3cret")

    plain = anon.get(f"/api/shares/{archive.slug}/").json()
    wrong = anon.get(f"/api/shares/{archive.slug}/", HTTP_X_ARCHIVE_PASSWORD="nope").json()

    assert hashes(plain) == [None, None, None]
    assert hashes(wrong) == [None, None, None]
    # The rest of the share is shown as before.
    assert [member["name"] for member in plain["files"]] == ["a.txt", "b.txt"]
    assert plain["size"] == archive.size


def test_hashes_of_a_password_share_show_with_the_password_or_to_the_owner(
    anon: APIClient, api: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.txt": b"alpha", "b.txt": b"beta"}, password="s3cret")
    expected = built_hashes(archive)

    unlocked = anon.get(f"/api/shares/{archive.slug}/", HTTP_X_ARCHIVE_PASSWORD="s3cret")
    owner = api.get(f"/api/shares/{archive.slug}/")

    assert hashes(unlocked.json()) == expected
    assert hashes(owner.json()) == expected
    assert all(expected)


def test_hashes_of_a_share_without_password_show_to_anyone(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.txt": b"alpha", "b.txt": b"beta"})

    body = anon.get(f"/api/shares/{archive.slug}/").json()

    assert hashes(body) == built_hashes(archive)


def test_a_wrong_password_on_the_share_view_counts_towards_the_throttle(
    anon: APIClient, make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    settings.PASSWORD_ATTEMPTS_LIMIT = 2
    archive = make_archive(password="s3cret")
    for _ in range(2):
        anon.get(f"/api/shares/{archive.slug}/", HTTP_X_ARCHIVE_PASSWORD="nope")

    # Throttled: even the right password no longer reveals the hashes, nor downloads.
    body = anon.get(f"/api/shares/{archive.slug}/", HTTP_X_ARCHIVE_PASSWORD="s3cret").json()
    assert hashes(body) == [None, None]
    assert anon.get(url(archive), HTTP_X_ARCHIVE_PASSWORD="s3cret").status_code == 429


def test_a_range_past_the_grants_budget_is_410_saying_why(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"data.bin": random.Random(3).randbytes(20_000)})
    first = anon.get(url(archive), HTTP_RANGE="bytes=0-9")
    grant = first["X-Download-Grant"]
    whole = anon.get(url(archive), HTTP_RANGE="bytes=0-", HTTP_X_DOWNLOAD_GRANT=grant)
    assert whole.status_code == 206

    again = anon.get(url(archive), HTTP_RANGE="bytes=0-", HTTP_X_DOWNLOAD_GRANT=grant)

    assert again.status_code == 410
    assert again.json()["reason"] == "grant_used_up"
    assert "grant" in again.json()["detail"]
    assert Download.objects.filter(archive=archive).count() == 1
