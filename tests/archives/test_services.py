"""Writes outside the API: cleanup of expired archives and the reaper of lost builds; and
finished uploads becoming an archive: renamed into place, folders kept, uploads consumed,
bad ids refused with nothing stored."""

from __future__ import annotations

import zipfile
from datetime import timedelta
from io import StringIO
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from archives import storage
from archives.build import build_archive, start_build
from archives.models import Archive, ArchiveFile, AuditEntry, Download, Link, Status
from archives.services import (
    create_archive,
    create_link,
    default_ttl,
    delete_archive,
    purge_expired,
    requeue_stalled_builds,
    update_archive,
    update_link,
)
from archives.tasks import build_archive_task, remove_archive_files_task
from resumable.models import ResumableUpload
from resumable.partials import partial_path
from resumable.services import Metadata, create_upload
from sharing.downloads import Share, record_download
from tests.archives.test_indexing import png
from tests.conftest import upload
from tests.resumable.api.test_views import TUS, send, start

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.test import Client
    from pytest_django import DjangoCaptureOnCommitCallbacks as CaptureCallbacks
    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import APIClient

    from accounts.models import User
    from tests.conftest import MediaMount

pytestmark = pytest.mark.django_db


def _sources(archive: Archive) -> list[str]:
    return list(archive.files.order_by("position").values_list("source_name", flat=True))


def test_purge_removes_files_of_expired_archives_and_keeps_rows(
    make_archive: Callable[..., Archive],
) -> None:
    expired = make_archive(ttl=60)
    alive = make_archive(ttl=3600)
    record_download(
        Share(expired), client="192.0.2.1", referer="", user_agent="", now=timezone.now()
    )
    expired_zip = storage.local_path(expired.zip_name)

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert purge_expired(now=timezone.now()) == 1
        assert purge_expired(now=timezone.now()) == 0  # idempotent

    assert not expired_zip.exists()
    expired.refresh_from_db()
    assert expired.status == Status.EXPIRED
    assert expired.purged_at is not None
    assert Download.objects.filter(archive=expired).count() == 1
    assert storage.local_path(alive.zip_name).exists()


def thumbnails_of(archive_id: str) -> list[str]:
    """The names of the archive's files that have a thumbnail."""
    files = ArchiveFile.objects.filter(archive_id=archive_id).exclude(thumbnail=b"")
    return list(files.values_list("name", flat=True))


def pictures() -> dict[str, bytes]:
    return {"a.png": png((200, 30, 30)), "b.png": png((30, 200, 30)), "c.txt": b"words"}


def test_purge_and_deletion_take_the_thumbnails_with_the_files(
    make_archive: Callable[..., Archive],
    django_capture_on_commit_callbacks: CaptureCallbacks,
    client: Client,
) -> None:
    expired = make_archive(pictures(), ttl=60)
    deleted = make_archive(pictures(), ttl=3600)
    alive = make_archive(pictures(), ttl=3600)
    assert thumbnails_of(expired.id) == thumbnails_of(alive.id) == ["a.png", "b.png"]

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert purge_expired(now=timezone.now()) == 1
    with django_capture_on_commit_callbacks(execute=True):
        delete_archive(deleted, now=timezone.now())

    assert thumbnails_of(expired.id) == []
    assert expired.files.count() == 3  # the rows stay, their pictures do not
    assert not ArchiveFile.objects.filter(archive_id=deleted.id).exists()
    assert thumbnails_of(alive.id) == ["a.png", "b.png"]
    assert client.get(f"/s/{expired.slug}/files/0/thumbnail.png").status_code == 404


def test_purge_keeps_the_names_of_files_it_could_not_remove_and_retries(
    make_archive: Callable[..., Archive], media_mount: MediaMount
) -> None:
    archive = make_archive({"a.txt": b"alpha"}, build=False, ttl=60)
    build_archive(archive.id)  # the sources stay, as when their removal was not queued
    archive.refresh_from_db()
    names = [archive.zip_name, *_sources(archive)]
    later = timezone.now() + timedelta(minutes=5)

    with media_mount.read_only():
        assert purge_expired(now=later) == 0

    assert all(storage.local_path(name).exists() for name in names)
    archive.refresh_from_db()
    assert [archive.zip_name, *_sources(archive)] == names
    assert archive.status == Status.EXPIRED
    assert archive.purged_at is None

    assert purge_expired(now=later) == 1

    assert not any(storage.local_path(name).exists() for name in names)
    archive.refresh_from_db()
    assert [archive.zip_name, *_sources(archive)] == ["", ""]
    assert archive.purged_at == later
    assert purge_expired(now=later) == 0


def test_purge_of_used_up_archive_waits_for_grants(
    make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    archive = make_archive(max_downloads=1, ttl=86400)
    record_download(
        Share(archive), client="192.0.2.1", referer="", user_agent="", now=timezone.now()
    )

    assert purge_expired(now=timezone.now()) == 0
    later = timezone.now() + timedelta(seconds=settings.DOWNLOAD_GRANT_TTL + 1)
    assert purge_expired(now=later) == 1
    archive.refresh_from_db()
    assert archive.status == Status.EXPIRED


def test_purge_removes_sources_of_unbuilt_expired_archives(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive(build=False, ttl=60)
    source = storage.local_path(archive.files.get().source_name)

    purge_expired(now=timezone.now() + timedelta(minutes=2))

    assert not source.exists()


def test_purge_command(make_archive: Callable[..., Archive]) -> None:
    make_archive(ttl=60)
    output = StringIO()

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        call_command("purge_expired", stdout=output)

    assert "1 archive" in output.getvalue()


def test_stalled_build_is_requeued_then_failed_after_max_attempts(
    make_archive: Callable[..., Archive],
    settings: DjangoSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queued: list[str] = []
    monkeypatch.setattr(build_archive_task, "delay", queued.append)
    settings.BUILD_MAX_ATTEMPTS = 2
    archive = make_archive(build=False)
    start = timezone.now()
    # A worker claimed the build and died: no heartbeat since.
    assert start_build(archive.id, now=start)

    later = start + timedelta(seconds=settings.BUILD_STALL_SECONDS + 1)
    assert requeue_stalled_builds(now=later) == 1
    assert queued == [archive.id]
    archive.refresh_from_db()
    assert archive.status == Status.PENDING

    assert start_build(archive.id, now=later)
    much_later = later + timedelta(seconds=settings.BUILD_STALL_SECONDS + 1)
    assert requeue_stalled_builds(now=much_later) == 0
    archive.refresh_from_db()
    assert archive.status == Status.FAILED
    assert "stopped 2 times" in archive.error


def test_pending_build_whose_message_was_lost_is_queued_again(
    make_archive: Callable[..., Archive],
    settings: DjangoSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queued: list[str] = []
    monkeypatch.setattr(build_archive_task, "delay", queued.append)
    archive = make_archive(build=False)

    assert requeue_stalled_builds(now=timezone.now()) == 0
    later = timezone.now() + timedelta(seconds=settings.BUILD_STALL_SECONDS + 1)
    assert requeue_stalled_builds(now=later) == 1
    assert queued == [archive.id]


def test_a_second_build_of_the_same_archive_does_nothing(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive()
    sha = archive.sha256

    build_archive(archive.id)

    archive.refresh_from_db()
    assert archive.status == Status.READY
    assert archive.sha256 == sha


def test_build_of_a_deleted_archive_does_nothing(make_archive: Callable[..., Archive]) -> None:
    archive = make_archive(build=False)
    archive_id = archive.id
    archive.delete()

    build_archive(archive_id)

    assert not (storage.root() / "archives").exists() or not list(
        (storage.root() / "archives").iterdir()
    )


def test_deletion_stands_when_storage_fails_and_a_task_removes_the_files(
    make_archive: Callable[..., Archive],
    media_mount: MediaMount,
    queued_removals: list[tuple[str, list[str]]],
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    archive = make_archive({"a.txt": b"alpha"})
    archive_id, names = archive.id, [archive.zip_name, *_sources(archive)]

    with media_mount.read_only(), django_capture_on_commit_callbacks(execute=True):
        delete_archive(archive, now=timezone.now())

    assert not Archive.objects.filter(pk=archive_id).exists()
    assert queued_removals == [(archive_id, names)]
    assert all(storage.local_path(name).exists() for name in names)

    remove_archive_files_task(*queued_removals[0])

    assert not any(storage.local_path(name).exists() for name in names)


def test_an_archive_without_a_name_or_lifetime_gets_the_defaults(
    user: User, settings: DjangoSettings
) -> None:
    settings.ARCHIVE_DEFAULT_TTL = 3 * 86400
    now = timezone.now()

    archive = create_archive(
        user,
        files=[upload("Report 2024.pdf", b"x"), upload("notes.txt", b"y")],
        name="",
        description="",
        password="",
        ttl=None,
        max_downloads=None,
        now=now,
    )

    assert default_ttl() == 3 * 86400
    assert archive.name == "Report 2024"
    assert archive.expires_at == now + timedelta(days=3)


@pytest.mark.parametrize("target", ["archive", "link"])
def test_access_changes_write_their_columns_only_and_audit_each(
    make_archive: Callable[..., Archive], target: str
) -> None:
    archive = make_archive(ttl=3600)
    now = timezone.now()
    link = create_link(archive, label="Alice", password="", max_downloads=None, ttl=None, now=now)
    subject: Archive | Link = archive if target == "archive" else link
    # A download counted after the owner's page was loaded must survive the edit.
    type(subject).objects.filter(pk=subject.pk).update(download_count=F("download_count") + 1)
    expires_at = now + timedelta(seconds=7200)

    if isinstance(subject, Archive):
        updated: Archive | Link = update_archive(
            subject, now=now, password="new-secret", ttl=7200, max_downloads=4
        )
    else:
        updated = update_link(subject, now=now, password="new-secret", ttl=7200, max_downloads=4)

    assert updated.download_count == 1
    assert check_password("new-secret", updated.password)
    assert (updated.expires_at, updated.max_downloads) == (expires_at, 4)
    prefix = "" if target == "archive" else "link Alice: "
    audited = AuditEntry.objects.filter(archive_id=archive.pk, field__startswith=prefix)
    assert set(audited.filter(action__in=["update", "link_updated"]).values_list(
        "field", "old", "new"
    )) == {
        (f"{prefix}password", "none", "set"),
        (f"{prefix}expires_at", _shown_expiry(subject), expires_at.isoformat()),
        (f"{prefix}max_downloads", "none", "4"),
    }  # fmt: skip


def _shown_expiry(subject: Archive | Link) -> str:
    return subject.expires_at.isoformat() if subject.expires_at else "none"


def finished(api: APIClient, data: bytes, *, filename: str, path: str = "") -> str:
    extra = {"relativePath": path} if path else {}
    location = start(api, len(data), filename=filename, **extra)["Location"]
    if data:
        assert send(api, location, data, offset=0).status_code == 204
    return location.rsplit("/", 1)[1]


def test_finished_uploads_become_an_archive_with_their_folders(
    api: APIClient, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    contents = {
        "trip/day1/a.txt": b"first day\n" * 1000,
        "trip/day2/b.bin": bytes(range(256)) * 100,
        "trip/empty.txt": b"",
    }
    ids = [
        finished(api, data, filename=path.rsplit("/", 1)[1], path=path)
        for path, data in contents.items()
    ]
    sources = [partial_path(upload_id) for upload_id in ids]
    inodes = [source.stat().st_ino for source in sources]
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(
            "/api/archives/",
            {"uploads": ids, "name": "Trip", "ttl": 3600, "max_downloads": 3},
            format="json",
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["name"] == "Trip"
    assert body["max_downloads"] == 3
    assert [item["name"] for item in body["files"]] == list(contents)
    assert body["share_url"].endswith(f"/s/{body['slug']}/")
    # Consumed: the rows are gone and the bytes were moved, not copied.
    assert not ResumableUpload.objects.exists()
    assert not any(source.exists() for source in sources)
    archive = Archive.objects.get(pk=body["id"])
    moved = [storage.local_path(item.source_name).stat().st_ino for item in archive.files.all()]
    assert moved == inodes

    build_archive(archive.id)
    archive.refresh_from_db()
    assert archive.status == Status.READY
    with zipfile.ZipFile(storage.local_path(archive.zip_name)) as built:
        assert {name: built.read(name) for name in built.namelist()} == contents


def test_name_defaults_to_the_first_file(api: APIClient) -> None:
    upload_id = finished(api, b"x", filename="report.pdf")
    response = api.post("/api/archives/", {"uploads": [upload_id]}, format="json")
    assert response.status_code == 201
    assert response.json()["name"] == "report"


def test_unfinished_unknown_and_others_uploads_are_400_and_nothing_stored(
    api: APIClient, other_user: User
) -> None:
    done = finished(api, b"done", filename="done.txt")
    half = start(api, 10, filename="half.txt")["Location"]
    send(api, half, b"12345", offset=0)
    half_id = half.rsplit("/", 1)[1]
    theirs = create_upload(
        other_user,
        length=0,
        metadata=Metadata(filename="theirs.txt", relative_path=""),
        now=timezone.now(),
    )
    cases = {
        "Not finished": [done, half_id],
        "No such upload: nope": [done, "nope"],
        f"No such upload: {theirs.pk}": [done, theirs.pk],
        "listed twice": [done, done],
    }
    for message, ids in cases.items():
        response = api.post("/api/archives/", {"uploads": ids}, format="json")
        assert response.status_code == 400, message
        assert message in response.json()["uploads"][0]
    assert not Archive.objects.exists()
    assert ResumableUpload.objects.count() == 3
    assert partial_path(done).read_bytes() == b"done"
    assert api.head(half, **TUS)["Upload-Offset"] == "5"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"uploads": []}, "uploads"),
        ({}, "uploads"),
        ({"uploads": ["a"], "files": ["x"]}, "files"),
        ({"uploads": ["a"], "ttl": -5}, "ttl"),
    ],
)
def test_malformed_json_bodies_are_400(api: APIClient, body: dict, field: str) -> None:
    response = api.post("/api/archives/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_archive_over_a_limit_keeps_the_uploads(api: APIClient, settings: DjangoSettings) -> None:
    ids = [finished(api, b"a" * 600, filename="a"), finished(api, b"b" * 600, filename="b")]
    settings.ARCHIVE_MAX_BYTES = 1000
    response = api.post("/api/archives/", {"uploads": ids}, format="json")
    assert response.status_code == 413
    assert "ARCHIVE_MAX_BYTES" in response.json()["detail"]
    assert not Archive.objects.exists()
    assert all(partial_path(upload_id).exists() for upload_id in ids)
    assert ResumableUpload.objects.count() == 2


def test_an_upload_makes_one_archive_only(api: APIClient) -> None:
    upload_id = finished(api, b"once", filename="once.txt")
    assert api.post("/api/archives/", {"uploads": [upload_id]}, format="json").status_code == 201
    again = api.post("/api/archives/", {"uploads": [upload_id]}, format="json")
    assert again.status_code == 400
    assert Archive.objects.count() == 1
