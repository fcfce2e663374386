"""Archives built before the build recorded their members (no place in the ZIP, no
preview): their members are read back from the stored ZIP by the code the build uses,
queued once by the share page and API, or for all of them by ``manage.py
index_members``; a real worker does it."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from io import BytesIO, StringIO
from typing import TYPE_CHECKING, Any

import pytest
import requests
import time_machine
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from archives import storage
from archives.indexing import index_members
from archives.models import Archive, ArchiveFile
from archives.services import purge_expired, queue_member_index
from archives.tasks import index_members_task
from archives.thumbnails import thumbnail_of
from tests.conftest import streamed_body, wait_until

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from typing import BinaryIO

    from django.test import Client
    from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks
    from pytest_django.fixtures import Settings as DjangoSettings
    from pytest_django.live_server_helper import LiveServer
    from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

# What the build records of a member and an archive built before it did not.
RECORDED = ("preview", "content_type", "method", "data_offset", "compressed_size", "thumbnail")


def png(color: tuple[int, int, int]) -> bytes:
    out = BytesIO()
    Image.new("RGB", (300, 200), color).save(out, format="PNG")
    return out.getvalue()


FILES = {
    "photo.png": png((30, 110, 200)),
    # Compresses: deflated in the ZIP.
    "readme.txt": b"A line of notes that compresses well.\n" * 5_000,
    "report.pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
    # Random bytes: stored as they are.
    "data.bin": random.Random(3).randbytes(300_000),
    "page.html": b"<!doctype html><script>alert(1)</script>",
    "tiny.txt": "é".encode(),
}


def recorded(archive: Archive) -> list[tuple[Any, ...]]:
    rows = archive.files.order_by("position").values_list("name", *RECORDED)
    return [(*row[:-1], bytes(row[-1])) for row in rows]


def forget_members(archive: Archive) -> None:
    """Make ``archive`` as an archive built before the build recorded its members."""
    archive.files.update(
        preview="", content_type="", method=None, data_offset=None, compressed_size=None,
        thumbnail=b"",
    )  # fmt: skip


@pytest.fixture
def old_archive(make_archive: Callable[..., Archive]) -> tuple[Archive, list[tuple[Any, ...]]]:
    """An archive as an old build left it, and what the build records of it now."""
    archive = make_archive(FILES, name="Old")
    built = recorded(archive)
    forget_members(archive)
    return archive, built


def test_reading_the_zip_records_what_the_build_records(
    old_archive: tuple[Archive, list[tuple[Any, ...]]],
) -> None:
    archive, built = old_archive
    methods = {row[0]: row[3] for row in built}
    assert methods["readme.txt"] == 8 and methods["data.bin"] == 0  # both kinds

    assert index_members(archive.id) == len(FILES)

    assert recorded(archive) == built
    # Once recorded, a second run finds nothing to do.
    assert index_members(archive.id) == 0


def test_member_routes_answer_503_until_recorded_then_serve(
    old_archive: tuple[Archive, list[tuple[Any, ...]]],
    client: Client,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    archive, _ = old_archive
    queued: list[str] = []
    monkeypatch.setattr("archives.services.enqueue_member_index", queued.append)
    text = f"/api/shares/{archive.slug}/files/1/download"

    with django_capture_on_commit_callbacks(execute=True):
        refused = client.get(text)
        page = client.get(f"/s/{archive.slug}/").content.decode()
        client.get(f"/api/shares/{archive.slug}/")

    assert refused.status_code == 503
    assert refused.json()["reason"] == "unavailable"
    assert f"/s/{archive.slug}/files/0/thumbnail.png" not in page
    # Three visits, one queued reading.
    assert queued == [archive.id]
    index_members(archive.id)
    served = client.get(text)
    assert served.status_code == 200
    assert streamed_body(served) == FILES["readme.txt"]
    assert client.get(f"/s/{archive.slug}/files/0/thumbnail.png").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"/s/{archive.slug}/")
    assert queued == [archive.id]


def test_queued_once_and_again_only_after_the_stall_time(
    old_archive: tuple[Archive, list[tuple[Any, ...]]],
    settings: DjangoSettings,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    archive, _ = old_archive
    queued: list[str] = []
    monkeypatch.setattr("archives.services.enqueue_member_index", queued.append)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert queue_member_index(archive.id, now=now)
        assert not queue_member_index(archive.id, now=now + timedelta(seconds=1))
        later = now + timedelta(seconds=settings.BUILD_STALL_SECONDS + 1)
        # Its message was lost: queued again.
        assert queue_member_index(archive.id, now=later)
    assert queued == [archive.id, archive.id]


def test_the_command_queues_every_archive_with_unrecorded_members(
    make_archive: Callable[..., Archive],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    old = [make_archive({"a.txt": b"a"}, name=f"Old {n}") for n in range(2)]
    for archive in old:
        forget_members(archive)
    make_archive({"b.txt": b"b"}, name="New")
    unbuilt = make_archive({"c.txt": b"c"}, name="Unbuilt", build=False)
    purged = make_archive({"d.txt": b"d"}, name="Purged")
    forget_members(purged)
    Archive.objects.filter(pk=purged.pk).update(zip_name="", purged_at=timezone.now())
    queued: list[str] = []
    monkeypatch.setattr("archives.services.enqueue_member_index", queued.append)
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("index_members", stdout=out)
        call_command("index_members", stdout=out)

    assert sorted(queued) == sorted(archive.id for archive in old)
    assert unbuilt.id not in queued
    assert out.getvalue().splitlines() == [
        "Queued the reading of the members of 2 archive(s).",
        "Queued the reading of the members of 0 archive(s).",
    ]


def test_a_zip_without_the_member_records_nothing_of_it(
    old_archive: tuple[Archive, list[tuple[Any, ...]]], caplog: pytest.LogCaptureFixture
) -> None:
    archive, _ = old_archive
    ArchiveFile.objects.filter(archive=archive, position=0).update(name="renamed.png")

    assert index_members(archive.id) == len(FILES) - 1

    assert archive.files.get(position=0).data_offset is None
    assert "no member named ['renamed.png']" in caplog.text


def damage_local_header(archive: Archive) -> None:
    with storage.local_path(archive.zip_name).open("r+b") as built:
        built.write(b"JUNK")  # the first member's local header


def replace_with_text(archive: Archive) -> None:
    storage.local_path(archive.zip_name).write_bytes(b"not a ZIP at all\n" * 100)


def remove_zip(archive: Archive) -> None:
    storage.local_path(archive.zip_name).unlink()


@pytest.mark.parametrize(
    ("spoil", "error"),
    [
        (damage_local_header, "photo.png: no local header at 0"),
        (replace_with_text, "File is not a zip file"),
        (remove_zip, "No such file or directory"),
    ],
)
def test_an_unreadable_zip_is_recorded_and_never_queued_again(
    old_archive: tuple[Archive, list[tuple[Any, ...]]],
    spoil: Callable[[Archive], None],
    error: str,
    client: Client,
    settings: DjangoSettings,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    caplog: pytest.LogCaptureFixture,
) -> None:
    archive, _ = old_archive
    spoil(archive)
    queued: list[str] = []
    monkeypatch.setattr(index_members_task, "delay", queued.append)
    file_url = f"/api/shares/{archive.slug}/files/1/download"
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert client.get(f"/s/{archive.slug}/").status_code == 200
        assert queued == [archive.id]
        # As a worker runs it.
        assert index_members_task(archive.id) == 0

    archive.refresh_from_db()
    assert error in archive.members_error
    assert error in caplog.text
    assert not archive.files.filter(data_offset__isnull=False).exists()
    # Long past the time a lost message is queued again after: never again.
    with time_machine.travel(
        start + timedelta(seconds=3 * settings.BUILD_STALL_SECONDS), tick=False
    ):
        with django_capture_on_commit_callbacks(execute=True):
            page = client.get(f"/s/{archive.slug}/")
            listed = client.get(f"/api/shares/{archive.slug}/")
            refused = client.get(file_url)
            call_command("index_members", stdout=StringIO())
        assert not queue_member_index(archive.id, now=timezone.now())
    assert queued == [archive.id]
    # Its files answer as those of an archive not yet read: the whole archive only.
    assert page.status_code == 200
    assert listed.status_code == 200
    assert [file["preview"] for file in listed.json()["files"]] == [None] * len(FILES)
    assert refused.status_code == 503
    assert refused.json()["reason"] == "unavailable"


def test_a_readable_zip_is_read_once_and_not_queued_again(
    old_archive: tuple[Archive, list[tuple[Any, ...]]],
    client: Client,
    settings: DjangoSettings,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    archive, built = old_archive
    queued: list[str] = []
    monkeypatch.setattr(index_members_task, "delay", queued.append)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            client.get(f"/s/{archive.slug}/")
        assert index_members_task(archive.id) == len(FILES)
    with time_machine.travel(
        start + timedelta(seconds=3 * settings.BUILD_STALL_SECONDS), tick=False
    ):
        with django_capture_on_commit_callbacks(execute=True):
            client.get(f"/s/{archive.slug}/")
        served = client.get(f"/api/shares/{archive.slug}/files/1/download")

    assert queued == [archive.id]
    assert recorded(archive) == built
    archive.refresh_from_db()
    assert archive.members_error == ""
    assert served.status_code == 200
    assert streamed_body(served) == FILES["readme.txt"]


def test_a_bucket_that_does_not_answer_leaves_the_archive_to_be_queued_again(
    old_archive: tuple[Archive, list[tuple[Any, ...]]],
    settings: DjangoSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    archive, _ = old_archive

    def outage(name: str) -> BinaryIO:
        raise storage.StorageError(f"reading {name} from the bucket failed: timed out")

    monkeypatch.setattr(storage, "open_stored_seekable", outage)
    now = timezone.now()
    assert queue_member_index(archive.id, now=now)

    with pytest.raises(storage.StorageError):
        index_members(archive.id)

    archive.refresh_from_db()
    assert archive.members_error == ""
    later = now + timedelta(seconds=settings.BUILD_STALL_SECONDS + 1)
    assert queue_member_index(archive.id, now=later)


@pytest.mark.django_db(transaction=True)
def test_the_share_page_has_a_real_worker_read_the_members(
    make_archive: Callable[..., Archive],
    live_worker: subprocess.Popen[bytes],
    anon: APIClient,
    client: Client,
) -> None:
    archive = make_archive(FILES, name="Old")
    built = recorded(archive)
    forget_members(archive)

    page = client.get(f"/s/{archive.slug}/")

    assert page.status_code == 200
    assert wait_until(lambda: recorded(archive) == built, timeout=30)
    archive.refresh_from_db()
    queued_at = archive.members_queued_at
    assert queued_at is not None
    response = anon.get(f"/api/shares/{archive.slug}/files/3/download")
    assert response.status_code == 200
    assert streamed_body(response) == FILES["data.bin"]
    listed = anon.get(f"/api/shares/{archive.slug}/").json()["files"]
    assert [file["preview"] for file in listed] == ["image", "text", "pdf", None, None, "text"]
    archive.refresh_from_db()
    assert archive.members_queued_at == queued_at


def test_an_archive_purged_while_its_members_are_read_gets_no_thumbnails_back(
    old_archive: tuple[Archive, list[tuple[Any, ...]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, _ = old_archive
    Archive.objects.filter(pk=archive.pk).update(expires_at=timezone.now())

    def purged_meanwhile(*args: Any) -> bytes | None:
        made = thumbnail_of(*args)
        assert made  # the picture was read before the purge
        assert purge_expired(now=timezone.now() + timedelta(minutes=1)) == 1
        return made

    monkeypatch.setattr("archives.indexing.thumbnail_of", purged_meanwhile)

    assert index_members(archive.id) == 0

    assert not archive.files.exclude(thumbnail=b"").exists()
    assert not archive.files.filter(data_offset__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_visits_at_once_queue_one_reading(
    make_archive: Callable[..., Archive], live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = make_archive(FILES, name="Old")
    forget_members(archive)
    queued: list[str] = []
    monkeypatch.setattr(index_members_task, "delay", queued.append)
    pages = [f"/s/{archive.slug}/", f"/api/shares/{archive.slug}/"] * 4
    start = threading.Barrier(len(pages))

    def visit(path: str) -> int:
        start.wait()
        return requests.get(live_server.url + path, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=len(pages)) as pool:
        statuses = list(pool.map(visit, pages))

    assert statuses == [200] * len(pages)
    assert queued == [archive.id]
