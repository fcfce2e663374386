"""Finished uploads become an archive: renamed into place, folders kept, uploads consumed;
bad ids are refused with nothing stored."""

from __future__ import annotations

import zipfile
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from archives import storage
from archives.build import build_archive
from archives.models import Archive, Status
from resumable.models import ResumableUpload
from resumable.partials import partial_path
from resumable.services import Metadata, create_upload
from tests.resumable.api.test_views import TUS, send, start

if TYPE_CHECKING:
    from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks
    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import APIClient

    from accounts.models import User

pytestmark = pytest.mark.django_db


def finished(api: APIClient, data: bytes, *, filename: str, path: str = "") -> str:
    extra = {"relativePath": path} if path else {}
    location = start(api, len(data), filename=filename, **extra)["Location"]
    if data:
        assert send(api, location, data, offset=0).status_code == 204
    return location.rsplit("/", 1)[1]


def test_finished_uploads_become_an_archive_with_their_folders(
    api: APIClient, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
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
