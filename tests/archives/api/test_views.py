"""The owner's archive API: create, list, read, edit, delete, stats and log."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import issue_token
from archives import storage
from archives.build import build_archive, fail_build
from archives.models import Archive, ArchiveFile
from archives.tasks import build_archive_task
from tests.conftest import streamed_body, upload

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks
    from pytest_django.fixtures import Settings as DjangoSettings
    from pytest_django.live_server_helper import LiveServer

    from accounts.models import User
    from tests.conftest import MediaMount

pytestmark = pytest.mark.django_db

CONTRACT_FIELDS = {
    "id", "slug", "name", "description", "status", "progress", "error", "size", "sha256",
    "files", "has_password", "expires_at", "max_downloads", "download_count",
    "downloads_left", "share_url", "download_url", "created_at",
}  # fmt: skip


def post_archive(api: APIClient, **fields: object) -> Any:
    data: dict[str, object] = {"files": [upload("a.txt", b"alpha"), upload("b.txt", b"beta")]}
    data.update(fields)
    return api.post("/api/archives/", data, format="multipart")


def test_create_stores_files_and_answers_pending(api: APIClient) -> None:
    response = post_archive(
        api, name="Report", description="Q3", password="pw", ttl=7200, max_downloads=3
    )

    assert response.status_code == 201, response.content
    body = response.json()
    # The contract's fields, and the ones added beside them.
    assert set(body) == CONTRACT_FIELDS | {"view_count", "integrity_error"}
    assert body["status"] == "pending"
    assert body["name"] == "Report"
    assert body["has_password"] is True
    assert body["max_downloads"] == 3
    assert body["downloads_left"] == 3
    assert body["files"] == [
        {"name": "a.txt", "size": 5, "sha256": ""},
        {"name": "b.txt", "size": 4, "sha256": ""},
    ]
    assert body["share_url"] == f"http://testserver/s/{body['slug']}/"
    archive = Archive.objects.get(pk=body["id"])
    assert archive.password.startswith("md5$")  # hashed with Django's hashers
    assert timedelta(seconds=7190) < archive.expires_at - timezone.now() <= timedelta(seconds=7200)
    for row in archive.files.all():
        assert storage.local_path(row.source_name).read_bytes() in {b"alpha", b"beta"}


def test_ids_and_slugs_are_long_random_tokens(api: APIClient) -> None:
    first = post_archive(api).json()
    second = post_archive(api).json()

    for value in (first["id"], first["slug"], second["id"], second["slug"]):
        assert len(value) >= 22  # 22 URL-safe characters carry 132 bits
    assert len({first["id"], first["slug"], second["id"], second["slug"]}) == 4


def test_create_queues_the_build_after_commit(
    api: APIClient,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    queued: list[str] = []
    monkeypatch.setattr(build_archive_task, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_archive(api)

    assert queued == [response.json()["id"]]


def test_create_names_the_archive_after_the_first_file_by_default(api: APIClient) -> None:
    response = api.post(
        "/api/archives/", {"files": [upload("photos.tar", b"x")]}, format="multipart"
    )

    assert response.json()["name"] == "photos"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ttl": "abc"}, "ttl"),
        ({"ttl": -5}, "ttl"),
        ({"ttl": 0}, "ttl"),
        ({"ttl": "1.5"}, "ttl"),
        ({"ttl": 10**12}, "ttl"),
        ({"max_downloads": 0}, "max_downloads"),
        ({"max_downloads": "many"}, "max_downloads"),
        ({"max_downloads": 10**12}, "max_downloads"),
        ({"name": "   "}, "name"),
        ({"colour": "red"}, "colour"),
        ({"description": "x" * 10_001}, "description"),
    ],
)
def test_create_refuses_bad_fields_and_stores_nothing(
    api: APIClient, fields: dict[str, object], field: str
) -> None:
    response = post_archive(api, **fields)

    assert response.status_code == 400
    assert field in response.json()
    assert not Archive.objects.exists()
    assert not (storage.root() / "uploads").exists()


def test_create_without_files_is_400(api: APIClient) -> None:
    response = api.post("/api/archives/", {"name": "empty"}, format="multipart")

    assert response.status_code == 400
    assert "files" in response.json()


def test_too_many_files_is_400_naming_the_limit(api: APIClient, settings: DjangoSettings) -> None:
    settings.ARCHIVE_MAX_FILES = 2
    files = [upload(f"{n}.txt", b"x") for n in range(3)]

    response = api.post("/api/archives/", {"files": files}, format="multipart")

    assert response.status_code == 400
    assert "ARCHIVE_MAX_FILES" in response.json()["detail"]
    assert not Archive.objects.exists()


@pytest.mark.parametrize(
    ("setting", "value"),
    [("ARCHIVE_FILE_MAX_BYTES", 4), ("ARCHIVE_MAX_BYTES", 8), ("USER_QUOTA_BYTES", 8)],
)
def test_too_large_is_413_naming_the_limit(
    api: APIClient, settings: DjangoSettings, setting: str, value: int
) -> None:
    setattr(settings, setting, value)

    response = post_archive(api)

    assert response.status_code == 413
    assert setting in response.json()["detail"]
    assert not Archive.objects.exists()
    assert not (storage.root() / "uploads").exists()


def test_quota_counts_archives_already_stored(
    api: APIClient, settings: DjangoSettings, make_archive: Callable[..., Archive]
) -> None:
    make_archive({"big.bin": b"x" * 100}, build=False)
    settings.USER_QUOTA_BYTES = 105

    response = post_archive(api)

    assert response.status_code == 413
    assert Archive.objects.count() == 1


def test_list_is_paginated_and_only_own(
    api: APIClient, make_archive: Callable[..., Archive], other_user: User
) -> None:
    mine = [make_archive(build=False) for _ in range(3)]
    make_archive(owner=other_user, build=False)

    body = api.get("/api/archives/").json()

    assert body["count"] == 3
    assert body["next"] is None
    assert {item["id"] for item in body["results"]} == {archive.id for archive in mine}


def test_detail_shows_built_archive(api: APIClient, make_archive: Callable[..., Archive]) -> None:
    archive = make_archive({"a.txt": b"hello"})

    body = api.get(f"/api/archives/{archive.id}/").json()

    assert body["status"] == "ready"
    assert body["progress"] == 100
    assert body["size"] == archive.size
    assert len(body["sha256"]) == 64
    assert body["files"][0]["sha256"] == (
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    )


def test_someone_elses_archive_is_404_everywhere(
    api: APIClient, make_archive: Callable[..., Archive], other_user: User
) -> None:
    archive = make_archive(owner=other_user)
    base = f"/api/archives/{archive.id}/"

    assert api.get(base).status_code == 404
    assert api.patch(base, {"name": "mine now"}).status_code == 404
    assert api.delete(base).status_code == 404
    assert api.get(f"{base}stats/").status_code == 404
    assert api.get(f"{base}downloads/").status_code == 404
    assert Archive.objects.get(pk=archive.pk).name == archive.name


def test_patch_changes_fields_and_applies_to_the_link(
    api: APIClient, anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(password="old")
    url = f"/api/archives/{archive.id}/"

    response = api.patch(
        url,
        {"name": "New", "description": "d", "password": "", "ttl": 120, "max_downloads": 9},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["description"], body["has_password"]) == ("New", "d", False)
    assert body["max_downloads"] == 9
    assert anon.get(f"/api/shares/{archive.slug}/download").status_code == 200

    cleared = api.patch(url, {"max_downloads": None, "password": "s3"}, format="json").json()

    assert cleared["max_downloads"] is None
    assert cleared["has_password"] is True
    assert anon.get(f"/api/shares/{archive.slug}/download").status_code == 401


def test_patch_refuses_unknown_and_bad_fields(
    api: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    url = f"/api/archives/{archive.id}/"

    assert api.patch(url, {"download_count": 0}, format="json").status_code == 400
    assert api.patch(url, {"ttl": -1}, format="json").status_code == 400
    assert api.patch(url, {"name": ""}, format="json").status_code == 400
    assert Archive.objects.get(pk=archive.pk).name == archive.name


def test_delete_removes_files_and_link(
    api: APIClient,
    anon: APIClient,
    make_archive: Callable[..., Archive],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    archive = make_archive()
    zip_path = storage.local_path(archive.zip_name)
    assert zip_path.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/archives/{archive.id}/")

    assert response.status_code == 204
    assert not zip_path.exists()
    assert not ArchiveFile.objects.filter(archive_id=archive.pk).exists()
    assert anon.get(f"/api/shares/{archive.slug}/").status_code == 404
    assert anon.get(f"/api/shares/{archive.slug}/download").status_code == 404


def test_delete_answers_204_when_storage_fails_and_queues_the_removal(
    api: APIClient,
    make_archive: Callable[..., Archive],
    media_mount: MediaMount,
    queued_removals: list[tuple[str, list[str]]],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    archive = make_archive()

    with media_mount.read_only(), django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/archives/{archive.id}/")

    assert response.status_code == 204
    assert not Archive.objects.filter(pk=archive.pk).exists()
    assert [archive_id for archive_id, _ in queued_removals] == [archive.id]
    assert storage.local_path(archive.zip_name).exists()


def test_downloads_log_is_paginated_newest_first(
    api: APIClient, anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    for agent in ("first", "second"):
        # Two clients: the first one's grant cookie would go on with its download.
        anon.cookies.clear()
        anon.get(
            f"/api/shares/{archive.slug}/download",
            HTTP_USER_AGENT=agent,
            HTTP_REFERER="https://chat.example/room",
        )

    body = api.get(f"/api/archives/{archive.id}/downloads/").json()

    assert body["count"] == 2
    assert [row["user_agent"] for row in body["results"]] == ["second", "first"]
    assert body["results"][0]["ip"] == "127.0.0.1"
    assert body["results"][0]["referer"] == "https://chat.example/room"
    assert {"at", "ip", "referer", "user_agent"} <= set(body["results"][0])


def test_stats_days_out_of_range_is_400(
    api: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()

    for days in ("0", "366", "x"):
        assert api.get(f"/api/archives/{archive.id}/stats/?days={days}").status_code == 400


def test_folder_paths_keep_their_structure_sanitised_per_segment(
    api: APIClient, anon: APIClient
) -> None:
    import io
    import zipfile

    files = [upload("a.jpg", b"a"), upload("b.txt", b"b"), upload("c.txt", b"c")]
    paths = ["photos/2024/a.jpg", "photos/../../etc/b.txt", "C:\\docs\\c.txt"]

    response = api.post(
        "/api/archives/", {"files": files, "paths": paths, "name": "Tree"}, format="multipart"
    )

    assert response.status_code == 201, response.content
    names = [f["name"] for f in response.json()["files"]]
    assert names == ["photos/2024/a.jpg", "photos/etc/b.txt", "docs/c.txt"]
    build_archive(response.json()["id"])
    download = anon.get(f"/api/shares/{response.json()['slug']}/download")
    built = zipfile.ZipFile(io.BytesIO(streamed_body(download)))
    assert built.namelist() == names
    assert built.read("photos/etc/b.txt") == b"b"


def test_paths_must_match_the_files(api: APIClient) -> None:
    response = api.post(
        "/api/archives/",
        {"files": [upload("a.txt", b"a")], "paths": ["x/a.txt", "y/b.txt"]},
        format="multipart",
    )

    assert response.status_code == 400
    assert "one path per file" in response.json()["paths"][0]
    assert not Archive.objects.exists()


@pytest.mark.parametrize("temporary_on_mount", [False, True], ids=["store", "receive"])
def test_create_on_a_full_disk_is_507_and_keeps_nothing(
    api: APIClient,
    user: User,
    media_mount: MediaMount,
    settings: DjangoSettings,
    tmp_path: Path,
    temporary_on_mount: bool,
) -> None:
    # The temporary files sit on the full disk (the body cannot be received) or on
    # another (the body is received, and storing it fails).
    temporary = media_mount.path / "tmp" if temporary_on_mount else tmp_path / "tmp"
    temporary.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(temporary)
    media_mount.fill()

    response = api.post(
        "/api/archives/",
        {"files": [upload("a.txt", b"alpha" * 20_000), upload("b.txt", b"beta")]},
        format="multipart",
    )

    assert response.status_code == 507
    assert response["Content-Type"] == "application/json"
    assert "Storage is full" in response.json()["detail"]
    assert "try again later" in response.json()["detail"].lower()
    assert not Archive.objects.filter(owner=user).exists()
    assert media_mount.stored_files() == []
    assert not any(temporary.iterdir())


@pytest.fixture
def failed(make_archive: Callable[..., Archive]) -> Archive:
    archive = make_archive(build=False)
    fail_build(archive.id, error="The archive could not be written: No space left on device.",
               now=timezone.now())  # fmt: skip
    return Archive.objects.get(pk=archive.pk)


def test_retry_puts_a_failed_build_back_to_pending_and_queues_it_on_commit(
    api: APIClient,
    failed: Archive,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    queued: list[str] = []
    monkeypatch.setattr(build_archive_task, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(f"/api/archives/{failed.id}/retry/")
        assert queued == []  # not before the commit

    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    assert response.json()["id"] == failed.id
    for callback in callbacks:
        callback()
    assert queued == [failed.id]
    build_archive_task(failed.id)
    assert api.get(f"/api/archives/{failed.id}/").json()["status"] == "ready"


@pytest.mark.parametrize("state", ["pending", "building", "ready", "expired"])
def test_retry_answers_409_unless_failed(
    api: APIClient, make_archive: Callable[..., Archive], state: str
) -> None:
    archive = make_archive(build=state in {"ready", "expired"})
    Archive.objects.filter(pk=archive.pk).update(status=state)

    response = api.post(f"/api/archives/{archive.id}/retry/")

    assert response.status_code == 409
    assert response.json() == {"detail": "Only a failed build can be retried."}
    assert Archive.objects.get(pk=archive.pk).status == state


def test_retry_of_another_owners_archive_is_404(
    failed: Archive, other_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[str] = []
    monkeypatch.setattr(build_archive_task, "delay", queued.append)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(other_user)}")

    assert other.post(f"/api/archives/{failed.id}/retry/").status_code == 404
    assert APIClient().post(f"/api/archives/{failed.id}/retry/").status_code in {401, 403}
    assert Archive.objects.get(pk=failed.id).status == "failed"


def test_retry_is_in_the_schema(api: APIClient) -> None:
    schema = api.get("/api/schema/", {"format": "json"}).json()
    retry = schema["paths"]["/api/archives/{id}/retry/"]["post"]
    assert {"202", "404", "409"} <= set(retry["responses"])


@pytest.mark.django_db(transaction=True)
def test_two_retries_at_once_queue_one_build(
    live_server: LiveServer, failed: Archive, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[str] = []
    monkeypatch.setattr(build_archive_task, "delay", queued.append)
    target = f"{live_server.url}/api/archives/{failed.id}/retry/"
    headers = {"Authorization": f"Token {issue_token(user)}"}
    start = threading.Barrier(8)

    def retry(_: int) -> int:
        start.wait()
        return requests.post(target, headers=headers, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(retry, range(8)))

    assert statuses == [202] + [409] * 7
    assert queued == [failed.id]


def test_patch_measures_the_name_as_stored(
    api: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    url = f"/api/archives/{archive.id}/"
    stored = "n" * 200

    padded = api.patch(url, {"name": f"  {stored}\u200b\x7f  "})
    longer = api.patch(url, {"name": stored + "n"})

    assert padded.status_code == 200, padded.content
    assert padded.json()["name"] == stored
    assert longer.status_code == 400
    assert Archive.objects.get(pk=archive.pk).name == stored


@pytest.mark.parametrize(
    ("field", "value"),
    [("password", 1234), ("name", 7), ("description", False), ("ttl", "3600"),
     ("max_downloads", True), ("max_downloads", 2.5)],
)  # fmt: skip
def test_patch_refuses_values_of_another_json_type(
    api: APIClient, make_archive: Callable[..., Archive], field: str, value: object
) -> None:
    archive = make_archive(password="old")

    response = api.patch(f"/api/archives/{archive.id}/", {field: value})

    assert response.status_code == 400
    assert field in response.json()
    kept = Archive.objects.get(pk=archive.pk)
    fields = ("password", "name", "description", "expires_at", "max_downloads")
    assert [getattr(kept, name) for name in fields] == [getattr(archive, name) for name in fields]


def test_patch_and_links_take_json_only(
    api: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()

    patched = api.patch(f"/api/archives/{archive.id}/", {"name": "form"}, format="multipart")
    linked = api.post(f"/api/archives/{archive.id}/links/", {"label": "a"}, format="multipart")

    assert (patched.status_code, linked.status_code) == (415, 415)
    assert "detail" in patched.json()
    assert not archive.links.exists()


def test_link_limits_clear_with_null_in_json(
    api: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    links = f"/api/archives/{archive.id}/links/"
    link = api.post(links, {"label": "Bob", "max_downloads": 2, "ttl": 600}).json()

    cleared = api.patch(f"{links}{link['id']}/", {"max_downloads": None, "ttl": None})

    assert cleared.status_code == 200, cleared.content
    assert cleared.json()["max_downloads"] is None
