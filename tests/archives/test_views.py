"""The archive pages through Django's test client: one test per page and status."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from prometheus_client import REGISTRY

from archives.build import fail_build
from archives.models import Archive
from archives.tasks import build_archive_task
from tests.conftest import upload

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks
    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User
    from tests.conftest import MediaMount

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def test_home_page_invites_to_upload(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert reverse("accounts:register") in response.content.decode()


def test_upload_page_needs_login(client: Client) -> None:
    response = client.get(reverse("archives:upload"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_upload_page_shows_the_form(client_in: Client) -> None:
    response = client_in.get(reverse("archives:upload"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'type="file"' in body
    assert "multiple" in body
    assert 'for="id_uploads"' in body


def test_upload_without_javascript_creates_archive(client_in: Client, user: User) -> None:
    response = client_in.post(
        reverse("archives:upload"),
        {
            "uploads": [upload("a.txt", b"one"), upload("b.txt", b"two")],
            "name": "Two files",
            "description": "",
            "password": "",
            "lifetime": "custom",
            "custom_lifetime": "2",
            "custom_unit": "3600",
            "max_downloads": "3",
        },
    )
    archive = Archive.objects.get(owner=user)
    assert response.status_code == 302
    assert response["Location"] == reverse("sharing:share", args=[archive.slug])
    assert archive.name == "Two files"
    assert archive.max_downloads == 3
    lifetime = archive.expires_at - archive.created_at
    assert timedelta(hours=2) - timedelta(seconds=5) < lifetime <= timedelta(hours=2)


def test_upload_without_javascript_over_the_quota_is_413_before_it_is_stored(
    client_in: Client, user: User, settings: DjangoSettings
) -> None:
    """Refused as the file streams in (after its first block, with the rest unread), and
    the refusal says why; nothing is left in the temporary folder."""
    user.quota_bytes = 1000
    user.save()
    temporary = Path(settings.FILE_UPLOAD_TEMP_DIR)
    before = sorted(temporary.glob("*.upload*"))

    response = client_in.post(
        reverse("archives:upload"),
        {"uploads": [upload("big.bin", b"x" * 600_000)], "lifetime": "86400"},
    )

    assert response.status_code == 413
    assert "quota" in response.content.decode()
    assert 'id="upload-form"' in response.content.decode()
    assert sorted(temporary.glob("*.upload*")) == before
    assert not Archive.objects.exists()


def test_the_upload_page_still_needs_its_csrf_token(user: User) -> None:
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(user)

    response = guarded.post(
        reverse("archives:upload"), {"uploads": [upload("a.txt", b"one")], "lifetime": "86400"}
    )

    assert response.status_code == 403
    assert not Archive.objects.exists()


def test_upload_without_files_is_refused_with_message(client_in: Client) -> None:
    response = client_in.post(reverse("archives:upload"), {"lifetime": "3600"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert Archive.objects.count() == 0


def test_an_upload_through_the_page_is_counted(
    client_in: Client,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    monkeypatch.setattr(build_archive_task, "delay", lambda archive_id: None)
    counters = ("uploads", "uploaded_files", "uploaded_bytes")
    before = [REGISTRY.get_sample_value(f"awaiting_death_{name}_total") or 0.0 for name in counters]

    with django_capture_on_commit_callbacks(execute=True):
        response = client_in.post(
            reverse("archives:upload"),
            {
                "uploads": [upload("a.txt", b"a" * 10), upload("b.txt", b"b" * 20)],
                "lifetime": "3600",
            },
        )

    assert response.status_code == 302
    after = [REGISTRY.get_sample_value(f"awaiting_death_{name}_total") for name in counters]
    assert after == [before[0] + 1, before[1] + 2, before[2] + 30]


def test_upload_without_a_name_is_named_after_its_first_file(client_in: Client, user: User) -> None:
    response = client_in.post(
        reverse("archives:upload"),
        {"uploads": [upload("Holiday.tar.gz", b"x"), upload("b.txt", b"y")], "lifetime": "3600"},
    )

    assert response.status_code == 302
    assert Archive.objects.get(owner=user).name == "Holiday.tar"


def test_upload_with_custom_lifetime_missing_says_what_to_fix(client_in: Client) -> None:
    response = client_in.post(
        reverse("archives:upload"), {"uploads": [upload("a.txt", b"x")], "lifetime": "custom"}
    )
    assert response.status_code == 400
    assert "Enter the custom lifetime" in response.content.decode()


def test_dashboard_lists_own_archives_only(
    client_in: Client, make_archive: Callable[..., Archive], other_user: User
) -> None:
    mine = make_archive(name="Mine")
    theirs = make_archive(name="Theirs", owner=other_user)
    response = client_in.get(reverse("archives:dashboard"))
    body = response.content.decode()
    assert response.status_code == 200
    assert mine.name in body
    assert theirs.name not in body


def test_dashboard_is_paginated(client_in: Client, make_archive: Callable[..., Archive]) -> None:
    for number in range(12):
        make_archive(name=f"Archive {number}", build=False)
    first = client_in.get(reverse("archives:dashboard"))
    second = client_in.get(reverse("archives:dashboard") + "?page=2")
    assert first.status_code == second.status_code == 200
    assert len(first.context["rows"]) == 10
    assert len(second.context["rows"]) == 2
    assert 'aria-current="page"' in first.content.decode()


def test_dashboard_shows_storage_used_against_the_quota(
    client_in: Client, user: User, make_archive: Callable[..., Archive]
) -> None:
    make_archive({"a.bin": b"a" * 300}, build=False)
    make_archive({"b.bin": b"b" * 100}, build=False)
    user.quota_bytes = 1000
    user.save()

    body = client_in.get(reverse("archives:dashboard")).content.decode()

    bar = re.search(r'<section class="mb-3" data-quota.*?</section>', body, re.S)
    assert bar is not None
    text = " ".join(bar.group(0).split())
    assert "400 bytes of 1000 bytes used, in 2 archives" in text
    assert 'aria-valuenow="40"' in text
    assert "w-pct-40" in text


def test_dashboard_needs_login(client: Client) -> None:
    assert client.get(reverse("archives:dashboard")).status_code == 302


def test_edit_changes_name_limit_and_password(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(max_downloads=2)
    url = reverse("archives:edit", args=[archive.id])
    assert client_in.get(url).status_code == 200
    response = client_in.post(
        url,
        {
            "name": "Renamed",
            "description": "new words",
            "new_password": "p4ss",
            "lifetime": str(86400),
            "max_downloads": "",
        },
    )
    assert response.status_code == 302
    archive.refresh_from_db()
    assert archive.name == "Renamed"
    assert archive.max_downloads is None
    assert archive.has_password
    assert archive.expires_at > timezone.now() + timedelta(hours=23)


def test_edit_with_bad_limit_is_400_with_message(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    response = client_in.post(
        reverse("archives:edit", args=[archive.id]),
        {"name": "x", "lifetime": "keep", "max_downloads": "0"},
    )
    assert response.status_code == 400
    assert "greater than or equal to 1" in response.content.decode()


def test_edit_of_someone_elses_archive_is_404(
    client_in: Client, make_archive: Callable[..., Archive], other_user: User
) -> None:
    theirs = make_archive(owner=other_user)
    assert client_in.get(reverse("archives:edit", args=[theirs.id])).status_code == 404
    assert client_in.get(reverse("archives:stats", args=[theirs.id])).status_code == 404
    assert client_in.post(reverse("archives:delete", args=[theirs.id])).status_code == 404
    assert Archive.objects.filter(pk=theirs.pk).exists()


def test_delete_asks_then_deletes(client_in: Client, make_archive: Callable[..., Archive]) -> None:
    archive = make_archive()
    url = reverse("archives:delete", args=[archive.id])
    confirm = client_in.get(url)
    assert confirm.status_code == 200
    assert Archive.objects.filter(pk=archive.pk).exists()
    response = client_in.post(url)
    assert response.status_code == 302
    assert not Archive.objects.filter(pk=archive.pk).exists()


def test_delete_redirects_when_storage_fails_and_queues_the_removal(
    client_in: Client,
    make_archive: Callable[..., Archive],
    media_mount: MediaMount,
    queued_removals: list[tuple[str, list[str]]],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    archive = make_archive()

    with media_mount.read_only(), django_capture_on_commit_callbacks(execute=True):
        response = client_in.post(reverse("archives:delete", args=[archive.id]))

    assert response.status_code == 302
    assert response["Location"] == reverse("archives:dashboard")
    assert not Archive.objects.filter(pk=archive.pk).exists()
    assert [archive_id for archive_id, _ in queued_removals] == [archive.id]


def test_stats_page_points_at_the_api(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    response = client_in.get(reverse("archives:stats", args=[archive.id]))
    body = response.content.decode()
    assert response.status_code == 200
    assert reverse("archives-api:archive-stats", args=[archive.id]) in body
    assert reverse("archives-api:archive-downloads", args=[archive.id]) in body
    assert "chart.umd.min.js" in body


def test_csrf_failure_page_is_403_in_site_look(user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("accounts:login"), {"login": "x", "password": "y"})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()


def test_server_error_page_renders_without_a_request() -> None:
    # Django renders 500.html with no context at all, so nothing in it may need one.
    body = render_to_string("500.html")
    assert "Something went wrong on our side" in body
    assert "/static/css/site.css" in body


def test_pages_have_no_inline_script_or_style(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(password="pw")
    urls = [
        "/",
        reverse("archives:upload"),
        reverse("archives:dashboard"),
        reverse("archives:edit", args=[archive.id]),
        reverse("archives:delete", args=[archive.id]),
        reverse("archives:stats", args=[archive.id]),
        reverse("sharing:share", args=[archive.slug]),
        reverse("sharing:download", args=[archive.slug]),
    ]
    for url in urls:
        body = client_in.get(url).content.decode()
        assert "<style" not in body, url
        assert " style=" not in body, url
        for tag in body.split("<script")[1:]:
            assert tag.lstrip().startswith("src="), (url, tag[:80])


def test_names_are_escaped_on_every_page(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    evil = "<script>alert(1)</script>"
    image = '<img src=x onerror="alert(2)">'
    archive = make_archive({f"{image}.txt": b"x"}, name=evil)
    Archive.objects.filter(pk=archive.pk).update(description=image)
    urls = [
        reverse("archives:dashboard"),
        reverse("archives:edit", args=[archive.id]),
        reverse("archives:delete", args=[archive.id]),
        reverse("archives:stats", args=[archive.id]),
        reverse("sharing:share", args=[archive.slug]),
    ]
    for url in urls:
        body = client_in.get(url).content.decode()
        assert evil not in body, url
        assert "<img src=x" not in body, url


@pytest.mark.parametrize("temporary_on_mount", [False, True], ids=["store", "receive"])
def test_upload_on_a_full_disk_is_507_and_keeps_nothing(
    client_in: Client,
    user: User,
    media_mount: MediaMount,
    settings: DjangoSettings,
    tmp_path: Path,
    temporary_on_mount: bool,
) -> None:
    # Every file part to a temporary file, on the full disk or on another.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    temporary = media_mount.path / "tmp" if temporary_on_mount else tmp_path / "tmp"
    temporary.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(temporary)
    media_mount.fill()

    response = client_in.post(
        reverse("archives:upload"),
        {
            "uploads": [upload("a.txt", b"alpha" * 20_000), upload("b.txt", b"beta")],
            "lifetime": "3600",
        },
    )

    assert response.status_code == 507
    assert response["Content-Type"] == "application/json"
    assert "Storage is full" in response.json()["detail"]
    assert not Archive.objects.filter(owner=user).exists()
    assert media_mount.stored_files() == []
    assert not any(temporary.iterdir())


def test_a_failed_archive_has_a_retry_button_that_builds_it_again(
    user: User,
    make_archive: Callable[..., Archive],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    ready = make_archive(name="Built")
    archive = make_archive(build=False, name="Broken")
    fail_build(archive.id, error="The archive could not be written: No space left on device.",
               now=timezone.now())  # fmt: skip
    queued: list[str] = []
    monkeypatch.setattr(build_archive_task, "delay", queued.append)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    page = client.get(reverse("archives:dashboard")).content.decode()
    action = reverse("archives:retry", args=[archive.id])
    assert page.count("data-retry-form") == 1
    assert f'action="{action}"' in page
    assert reverse("archives:retry", args=[ready.id]) not in page
    assert "No space left on device" in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None

    assert client.post(action).status_code == 403  # without the form's token
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(action, {"csrfmiddlewaretoken": token.group(1)}, follow=True)

    assert response.status_code == 200
    assert "“Broken” is being built again." in response.content.decode()
    assert Archive.objects.get(pk=archive.pk).status == "pending"
    assert queued == [archive.id]
    again = client.post(action, {"csrfmiddlewaretoken": token.group(1)}, follow=True)
    assert "nothing to retry" in again.content.decode()
    assert queued == [archive.id]
    assert client.get(action).status_code == 405


def test_the_retry_button_speaks_russian(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(build=False)
    fail_build(archive.id, error="x", now=timezone.now())

    page = client_in.get(reverse("archives:dashboard"), HTTP_ACCEPT_LANGUAGE="ru").content
    assert "Повторить" in page.decode()


def test_the_retry_button_of_another_owners_archive_is_404(
    client_in: Client, make_archive: Callable[..., Archive], other_user: User
) -> None:
    archive = make_archive(build=False, owner=other_user)
    fail_build(archive.id, error="x", now=timezone.now())

    assert client_in.post(reverse("archives:retry", args=[archive.id])).status_code == 404
    assert Archive.objects.get(pk=archive.pk).status == "failed"
