"""The share page, its password form, its download and its QR code through Django's test
client: one test per status."""

from __future__ import annotations

import zipfile
from datetime import timedelta
from io import BytesIO
from typing import TYPE_CHECKING

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from archives.models import Archive, Download, Status
from archives.services import create_link
from tests.conftest import streamed_body

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User


pytestmark = pytest.mark.django_db


def share_url(archive: Archive) -> str:
    return reverse("sharing:share", args=[archive.slug])


def download_url(archive: Archive) -> str:
    return reverse("sharing:download", args=[archive.slug])


def unlock_url(archive: Archive) -> str:
    return reverse("sharing:unlock", args=[archive.slug])


def test_share_page_shows_archive_files_and_qr(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.txt": b"alpha", "b.txt": b"beta" * 1000}, max_downloads=5)
    response = client.get(share_url(archive))
    body = response.content.decode()
    assert response.status_code == 200
    assert archive.name in body
    assert "a.txt" in body
    assert "b.txt" in body
    assert archive.files.get(name="a.txt").sha256 in body
    assert '<svg viewBox="0 0' in body
    assert 'class="qr-code"' in body
    assert download_url(archive) in body
    assert f'datetime="{archive.expires_at.isoformat()}"' in body
    assert response.context["archive"].downloads_left == 5


def test_share_page_of_unknown_slug_is_404_in_site_look(client: Client) -> None:
    response = client.get("/s/no-such-archive/")
    assert response.status_code == 404
    assert "Nothing here" in response.content.decode()


def test_share_page_while_building_polls_progress(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(build=False)
    response = client.get(share_url(archive))
    assert response.status_code == 200
    body = response.content.decode()
    assert "data-share-poll" in body
    assert reverse("sharing-api:share", args=[archive.slug]) in body


def test_download_before_build_is_409_with_progress(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(build=False)
    response = client.get(download_url(archive))
    assert response.status_code == 409
    assert "data-build-progress" in response.content.decode()


def test_download_of_failed_build_is_409_with_error(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(build=False)
    Archive.objects.filter(pk=archive.pk).update(status=Status.FAILED, error="disk full")
    response = client.get(download_url(archive))
    assert response.status_code == 409
    assert "disk full" in response.content.decode()


def test_download_serves_the_zip_and_counts_it(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.txt": b"alpha"}, max_downloads=2)
    response = client.get(download_url(archive), HTTP_REFERER="https://example.org/post")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    body = streamed_body(response)
    with zipfile.ZipFile(BytesIO(body)) as built:
        assert built.read("a.txt") == b"alpha"
    log = Download.objects.get(archive=archive)
    assert log.referer == "https://example.org/post"


def test_download_needs_password_401(client: Client, make_archive: Callable[..., Archive]) -> None:
    archive = make_archive(password="s3cret")
    response = client.get(download_url(archive))
    assert response.status_code == 401
    assert unlock_url(archive) in response.content.decode()


def test_share_page_with_password_shows_the_form(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(password="s3cret")
    response = client.get(share_url(archive))
    body = response.content.decode()
    assert response.status_code == 200
    assert f'action="{unlock_url(archive)}"' in body
    assert 'method="post"' in body
    assert 'type="password"' in body


def test_wrong_password_is_403_with_the_form_again(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(password="s3cret")
    response = client.post(unlock_url(archive), {"password": "guess"})
    body = response.content.decode()
    assert response.status_code == 403
    assert "Wrong password" in body
    assert 'aria-invalid="true"' in body


def test_empty_password_is_401(client: Client, make_archive: Callable[..., Archive]) -> None:
    archive = make_archive(password="s3cret")
    response = client.post(unlock_url(archive), {"password": ""})
    assert response.status_code == 401


def test_right_password_unlocks_the_download(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.txt": b"alpha"}, password="s3cret")
    response = client.post(unlock_url(archive), {"password": "s3cret"})
    assert response.status_code == 302
    assert response["Location"] == share_url(archive)
    page = client.get(share_url(archive))
    assert download_url(archive) in page.content.decode()
    download = client.get(download_url(archive))
    assert download.status_code == 200


def test_too_many_wrong_passwords_is_429_with_retry_after(
    client: Client, make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    settings.PASSWORD_ATTEMPTS_LIMIT = 2
    archive = make_archive(password="s3cret")
    for _ in range(2):
        client.post(unlock_url(archive), {"password": "guess"})
    response = client.post(unlock_url(archive), {"password": "s3cret"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Try again in" in response.content.decode()
    assert client.get(share_url(archive)).status_code == 429


def test_expired_archive_is_410_saying_when(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    Archive.objects.filter(pk=archive.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    archive.refresh_from_db()
    for url in (share_url(archive), download_url(archive)):
        response = client.get(url)
        assert response.status_code == 410
        body = response.content.decode()
        assert "expired" in body
        assert archive.expires_at.isoformat() in body


def test_used_up_archive_is_410_saying_why(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(max_downloads=1)
    first = client.get(download_url(archive))
    assert first.status_code == 200
    assert len(streamed_body(first)) == archive.size
    response = client.get(download_url(archive))
    assert response.status_code == 410
    assert "download limit is reached" in response.content.decode()
    assert Client().get(share_url(archive)).status_code == 410


def test_prefetch_of_download_is_503_and_not_counted(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(max_downloads=1)
    response = client.get(download_url(archive), HTTP_SEC_PURPOSE="prefetch")
    assert response.status_code == 503
    assert Archive.objects.get(pk=archive.pk).download_count == 0


def test_share_qr_svg_is_an_image(client: Client, make_archive: Callable[..., Archive]) -> None:
    archive = make_archive()
    response = client.get(reverse("sharing:share-qr", args=[archive.slug]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<?xml") or b"<svg" in response.content


def test_head_of_share_page_is_answered_and_counts_nothing(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(max_downloads=1)
    assert client.head(share_url(archive)).status_code == 200
    assert client.head(download_url(archive)).status_code == 200
    assert Archive.objects.get(pk=archive.pk).download_count == 0


def test_session_keeps_a_mark_never_the_password_and_a_new_password_locks_again(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    from archives.services import update_archive

    archive = make_archive(password="s3cret-word")
    client.post(unlock_url(archive), {"password": "s3cret-word"})
    stored = str(dict(client.session.items()))
    assert "s3cret-word" not in stored
    assert client.get(download_url(archive)).status_code == 200

    update_archive(archive, now=timezone.now(), password="another")

    assert client.get(download_url(archive)).status_code == 401


def test_share_page_building_carries_the_download_button_data(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(build=False)
    link = create_link(
        archive, label="Alice", password="", max_downloads=None, ttl=None, now=timezone.now()
    )
    body = client.get(reverse("sharing:share", args=[link.slug]) + "?src=mail").content.decode()
    assert "data-share-poll" in body
    assert f'data-download-url="{reverse("sharing:download", args=[link.slug])}?src=mail"' in body
    assert "data-download-label=" in body


def page_hashes(archive: Archive) -> list[str]:
    return [archive.sha256, *archive.files.values_list("sha256", flat=True)]


def test_share_page_of_a_password_share_hides_the_hashes_until_unlocked(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.txt": b"alpha", "b.txt": b"beta"}, password="s3cret")
    expected = page_hashes(archive)

    locked = client.get(share_url(archive)).content.decode()
    wrong = client.post(unlock_url(archive), {"password": "guess"}).content.decode()
    client.post(unlock_url(archive), {"password": "s3cret"})
    unlocked = client.get(share_url(archive)).content.decode()

    for body in (locked, wrong):
        assert "a.txt" in body
        assert not [sha256 for sha256 in expected if sha256 in body]
    assert all(sha256 in unlocked for sha256 in expected)


def test_share_page_of_a_password_share_shows_the_hashes_to_its_owner(
    client: Client, user: User, other_user: User, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.txt": b"alpha"}, password="s3cret")
    expected = page_hashes(archive)

    client.force_login(other_user)
    stranger = client.get(share_url(archive)).content.decode()
    client.force_login(user)
    owner = client.get(share_url(archive)).content.decode()

    assert not [sha256 for sha256 in expected if sha256 in stranger]
    assert all(sha256 in owner for sha256 in expected)


def test_share_page_without_password_shows_the_hashes(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.txt": b"alpha", "b.txt": b"beta"})

    body = client.get(share_url(archive)).content.decode()

    assert all(sha256 in body for sha256 in page_hashes(archive))


def test_a_range_past_the_grants_budget_is_a_410_page_saying_why(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    first = client.get(download_url(archive), HTTP_RANGE="bytes=0-9")
    assert first.status_code == 206
    # The grant cookie goes with each request, as a browser sends it.
    assert client.get(download_url(archive), HTTP_RANGE="bytes=0-").status_code == 206

    response = client.get(download_url(archive), HTTP_RANGE="bytes=0-")

    assert response.status_code == 410
    assert "already received the whole archive" in response.content.decode()
