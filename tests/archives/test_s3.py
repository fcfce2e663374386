"""STORAGE_BACKEND=s3 against a real S3-compatible server (moto's server mode, started
here on a free port): uploads, the build, downloads by presigned redirect with Range,
deletion, purge and the integrity scrub all work on objects in a bucket."""

from __future__ import annotations

import io
import logging
import random
import secrets
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import requests
import time_machine
from botocore.config import Config
from botocore.exceptions import ClientError
from django.utils import timezone
from moto.server import ThreadedMotoServer

from archives import storage
from archives.build import build_archive
from archives.indexing import index_members
from archives.integrity import MISSING, scrub_archives
from archives.models import Archive, Download, Status
from archives.orphans import remove_orphan_files
from archives.services import purge_expired
from archives.tasks import build_archive_task
from tests.archives.test_indexing import FILES as INDEXED_FILES
from tests.archives.test_indexing import forget_members, recorded
from tests.archives.test_services import finished, pictures, thumbnails_of
from tests.conftest import (
    free_port,
    service_env,
    start_process,
    stop_process,
    streamed_body,
    upload,
    wait_for_build,
    wait_until,
    worker_command,
)

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from django.test import Client
    from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks
    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

CHUNK = 5 * 1024**2
REGION = "us-east-1"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in a thread of this process, on 127.0.0.1 and a free port."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    # Its access log would bury a failure's own output.
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.WARNING)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
    access_log.setLevel(level)


@pytest.fixture
def bucket(s3_endpoint: str, settings: DjangoSettings) -> str:
    """A new, empty bucket, and the settings pointing storage at it."""
    name = f"test-{secrets.token_hex(6)}"
    settings.STORAGE_BACKEND = "s3"
    settings.AWS_STORAGE_BUCKET_NAME = name
    settings.AWS_S3_ENDPOINT_URL = s3_endpoint
    settings.AWS_S3_REGION_NAME = REGION
    settings.AWS_ACCESS_KEY_ID = "test-key"
    settings.AWS_SECRET_ACCESS_KEY = "test-secret"
    settings.AWS_S3_ADDRESSING_STYLE = "path"
    settings.S3_PRESIGN_SECONDS = 120
    settings.S3_TRANSFER_CHUNK_BYTES = CHUNK
    s3_client(s3_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def s3_worker(
    django_db_setup: None,
    django_db_blocker: object,
    media_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    s3_endpoint: str,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real Celery worker process configured for a bucket by its environment only (the
    secret key from a file, as a mounted secret gives it); yields the bucket's name."""
    name = f"worker-{secrets.token_hex(6)}"
    s3_client(s3_endpoint).create_bucket(Bucket=name)
    folder = tmp_path_factory.mktemp("s3-worker")
    secret = folder / "aws_secret_access_key"
    secret.write_text("test-secret\n")
    env = service_env(
        media_dir,
        STORAGE_BACKEND="s3",
        AWS_STORAGE_BUCKET_NAME=name,
        AWS_S3_ENDPOINT_URL=s3_endpoint,
        AWS_S3_REGION_NAME=REGION,
        AWS_ACCESS_KEY_ID="test-key",
        AWS_SECRET_ACCESS_KEY="",
        AWS_SECRET_ACCESS_KEY_FILE=str(secret),
        AWS_S3_ADDRESSING_STYLE="path",
        S3_TRANSFER_CHUNK_BYTES=str(CHUNK),
    )
    process = start_process(worker_command(), env=env, log=folder / "worker.log", ready=b" ready.")
    yield name, process
    stop_process(process)


@pytest.fixture
def s3(s3_endpoint: str) -> Any:
    """A client of our own for looking into the bucket, apart from the code's."""
    return s3_client(s3_endpoint)


@pytest.fixture
def make_stored(
    make_archive: Callable[..., Archive],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Archive]:
    """``make_archive`` with what runs after commit run (a build's sources leave the
    bucket then), except queueing a build: there is no worker."""
    monkeypatch.setattr("archives.services.enqueue_build", lambda archive_id: None)

    def make(*args: object, **kwargs: object) -> Archive:
        with django_capture_on_commit_callbacks(execute=True):
            return make_archive(*args, **kwargs)

    return make


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
        config=Config(s3={"addressing_style": "path"}),
    )


def keys(s3: Any, bucket: str) -> set[str]:
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"] for item in listed}


def read_object(s3: Any, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def local_files() -> list[str]:
    return sorted(
        str(p.relative_to(storage.root())) for p in storage.root().rglob("*") if p.is_file()
    )


def download_url(archive: Archive) -> str:
    return f"/api/shares/{archive.slug}/download"


def code_client() -> Any:
    """The S3 client the code itself uses (one per process, for every thread)."""
    backend = storage.backend()
    assert isinstance(backend, storage.Bucket)
    return backend.client


def record_calls(calls: list[tuple[str, dict[str, Any]]]) -> None:
    """Note every request the code's own S3 client makes, with its parameters."""

    def note(*, model: Any, params: dict[str, Any], **_: object) -> None:
        calls.append((model.name, params))

    code_client().meta.events.register("before-parameter-build.s3", note)


def test_upload_through_the_api_stores_sources_in_the_bucket(
    api: APIClient, bucket: str, s3: Any
) -> None:
    # Past FILE_UPLOAD_MAX_MEMORY_SIZE: Django spools it to a temporary file first.
    big = random.Random(1).randbytes(3 * 1024**2)

    response = api.post(
        "/api/archives/",
        {"files": [upload("a.txt", b"alpha"), upload("big.bin", big)], "name": "Two"},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    archive = Archive.objects.get(pk=response.json()["id"])
    rows = list(archive.files.order_by("position"))
    assert keys(s3, bucket) == {row.source_name for row in rows}
    assert read_object(s3, bucket, rows[0].source_name) == b"alpha"
    assert read_object(s3, bucket, rows[1].source_name) == big
    assert local_files() == []


def test_finished_resumable_uploads_go_to_the_bucket(api: APIClient, bucket: str, s3: Any) -> None:
    contents = {"trip/a.txt": b"first day\n" * 1000, "trip/b.bin": bytes(range(256)) * 100}
    ids = [
        finished(api, data, filename=path.rsplit("/", 1)[1], path=path)
        for path, data in contents.items()
    ]

    response = api.post("/api/archives/", {"uploads": ids, "name": "Trip"}, format="json")

    assert response.status_code == 201, response.json()
    archive = Archive.objects.get(pk=response.json()["id"])
    stored = {row.name: read_object(s3, bucket, row.source_name) for row in archive.files.all()}
    assert stored == contents
    # The partial files were consumed, as a rename consumes them on a local disk.
    assert local_files() == []


def test_build_streams_sources_from_and_the_zip_to_the_bucket(
    make_archive: Callable[..., Archive],
    bucket: str,
    s3: Any,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    big = random.Random(2).randbytes(12 * 1024**2)  # incompressible: the ZIP is as large
    contents = {"big.bin": big, "notes.txt": b"hello world\n" * 1000}
    archive = make_archive(contents, build=False)
    sources = {row.source_name for row in archive.files.all()}
    calls: list[tuple[str, dict[str, Any]]] = []
    record_calls(calls)

    with django_capture_on_commit_callbacks(execute=True):
        build_archive_task(archive.id)

    archive.refresh_from_db()
    assert archive.status == Status.READY, archive.error
    assert keys(s3, bucket) == {archive.zip_name}  # sources gone, the ZIP there
    head = s3.head_object(Bucket=bucket, Key=archive.zip_name)
    assert head["ContentLength"] == archive.size
    assert head["ContentType"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(read_object(s3, bucket, archive.zip_name))) as built:
        assert {name: built.read(name) for name in built.namelist()} == contents
    assert local_files() == []  # neither the copies of the sources nor the temporary ZIP
    # Memory stays flat: no source was asked for whole, and the ZIP went up in parts.
    gets = [params for operation, params in calls if operation == "GetObject"]
    assert {params["Key"] for params in gets} == sources
    for params in gets:
        start, end = params["Range"].removeprefix("bytes=").split("-")
        assert int(end) - int(start) + 1 <= CHUNK
    parts = [params for operation, params in calls if operation == "UploadPart"]
    assert len(parts) >= 3  # 12 MiB in parts of 5 MiB
    assert all(params["Key"] == archive.zip_name for params in parts)
    assert ("PutObject", {"Bucket": bucket, "Key": archive.zip_name}) not in calls


def test_build_fails_readably_and_leaves_no_object_when_the_upload_fails(
    make_archive: Callable[..., Archive], bucket: str, s3: Any
) -> None:
    archive = make_archive({"big.bin": random.Random(3).randbytes(6 * 1024**2)}, build=False)
    sources = keys(s3, bucket)

    def refuse(**_: object) -> None:
        raise ClientError(
            {"Error": {"Code": "InternalError", "Message": "disk full"}}, "CompleteMultipartUpload"
        )

    code_client().meta.events.register("before-call.s3.CompleteMultipartUpload", refuse)

    build_archive(archive.id)

    archive.refresh_from_db()
    assert archive.status == Status.FAILED
    assert archive.error.startswith("The archive could not be written: storing archives/")
    assert "disk full" in archive.error
    assert keys(s3, bucket) == sources  # no ZIP, the sources kept for a retry
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert local_files() == []


def test_build_fails_readably_when_a_source_is_missing(
    make_archive: Callable[..., Archive], bucket: str, s3: Any
) -> None:
    archive = make_archive({"a.txt": b"alpha", "b.txt": b"beta"}, build=False)
    s3.delete_object(Bucket=bucket, Key=archive.files.get(position=1).source_name)

    build_archive(archive.id)

    archive.refresh_from_db()
    assert archive.status == Status.FAILED
    assert f"reading {archive.files.get(position=1).source_name} from the bucket" in archive.error
    assert storage.zip_name(archive.id) not in keys(s3, bucket)
    assert local_files() == []


def test_download_redirects_to_a_presigned_url_of_the_attachment(
    anon: APIClient, make_stored: Callable[..., Archive], bucket: str, s3_endpoint: str
) -> None:
    archive = make_stored({"résumé.txt": b"hello\n" * 1000}, name="Café notes")

    response = anon.get(download_url(archive))

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{s3_endpoint}/{bucket}/{archive.zip_name}?")
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in location
    assert "X-Amz-Expires=120" in location
    assert response["Cache-Control"] == "private, no-store"
    archive.refresh_from_db()
    assert archive.download_count == 1
    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200
    assert fetched.headers["Content-Type"] == "application/zip"
    assert fetched.headers["Content-Disposition"] == (
        "attachment; filename*=utf-8''Caf%C3%A9%20notes.zip"
    )
    assert len(fetched.content) == archive.size
    with zipfile.ZipFile(io.BytesIO(fetched.content)) as built:
        assert built.read("résumé.txt") == b"hello\n" * 1000


def test_head_answers_headers_without_redirect_or_count(
    anon: APIClient, make_stored: Callable[..., Archive], bucket: str
) -> None:
    archive = make_stored()

    response = anon.head(download_url(archive))

    assert response.status_code == 200
    assert "Location" not in response
    assert response["Content-Length"] == str(archive.size)
    assert response["Content-Type"] == "application/zip"
    archive.refresh_from_db()
    assert archive.download_count == 0


def test_download_of_a_missing_object_answers_503_and_counts_nothing(
    anon: APIClient, make_stored: Callable[..., Archive], bucket: str, s3: Any
) -> None:
    archive = make_stored(max_downloads=1)
    s3.delete_object(Bucket=bucket, Key=archive.zip_name)

    response = anon.get(download_url(archive))

    assert response.status_code == 503
    assert response.json()["detail"]
    archive.refresh_from_db()
    assert archive.download_count == 0
    assert not Download.objects.filter(archive=archive).exists()
    assert archive.integrity_error == MISSING


def test_download_while_the_bucket_fails_answers_503_and_marks_nothing(
    anon: APIClient,
    client: Client,
    make_stored: Callable[..., Archive],
    bucket: str,
    settings: DjangoSettings,
) -> None:
    archive = make_stored()
    # Storage that does not answer says nothing about the archive's own bytes.
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"

    response = anon.get(download_url(archive))
    page = client.get(f"/s/{archive.slug}/download")

    assert response.status_code == 503
    assert response.json()["detail"]
    assert page.status_code == 503
    assert b"cannot be read from storage right now" in page.content
    archive.refresh_from_db()
    assert archive.download_count == 0
    assert archive.integrity_error == ""


def ranges(calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[int, int]]:
    """The byte ranges (first, last) of the GETs the code made; fails on a GET of a whole
    object or of an open-ended range."""
    found = []
    for operation, params in calls:
        if operation == "GetObject":
            start, end = params["Range"].removeprefix("bytes=").split("-")
            found.append((int(start), int(end)))
    return found


def test_an_old_archive_s_members_are_read_from_the_bucket_by_ranges(
    make_stored: Callable[..., Archive], bucket: str
) -> None:
    big = random.Random(4).randbytes(12 * 1024**2)
    archive = make_stored({"big.bin": big, **INDEXED_FILES}, name="Old")
    built = recorded(archive)
    forget_members(archive)
    calls: list[tuple[str, dict[str, Any]]] = []
    record_calls(calls)

    assert index_members(archive.id) == 1 + len(INDEXED_FILES)

    assert recorded(archive) == built
    # The directory, the local headers and the images' bytes: not the 12 MiB between.
    read = ranges(calls)
    assert sum(end - start + 1 for start, end in read) < 3 * 1024**2, read
    assert all(end - start + 1 <= storage.READ_BYTES for start, end in read)


def test_a_file_of_a_share_is_streamed_from_the_bucket_by_one_ranged_get_of_its_bytes(
    anon: APIClient, make_stored: Callable[..., Archive], client: Client, bucket: str
) -> None:
    stored = random.Random(5).randbytes(3 * 1024**2)  # incompressible: stored
    deflated = b"".join(b"line %07d of a log that compresses\n" % n for n in range(100_000))
    archive = make_stored({"stored.bin": stored, "log.txt": deflated, "empty.txt": b""})
    files = {row.name: row for row in archive.files.all()}
    assert (files["stored.bin"].method, files["log.txt"].method) == (0, 8)
    calls: list[tuple[str, dict[str, Any]]] = []
    record_calls(calls)

    def get(index: int, byte_range: str = "") -> tuple[int, bytes]:
        calls.clear()
        url = f"/api/shares/{archive.slug}/files/{index}/download"
        response = anon.get(url, HTTP_RANGE=byte_range) if byte_range else anon.get(url)
        return response.status_code, streamed_body(response)

    at = files["stored.bin"].data_offset or 0
    assert get(0, "bytes=1000000-1000999") == (206, stored[1_000_000:1_001_000])
    # Only the range's bytes were asked of the bucket.
    assert ranges(calls) == [(at + 1_000_000, at + 1_000_999)]
    assert get(0) == (200, stored)
    assert ranges(calls) == [(at, at + len(stored) - 1)]

    log = files["log.txt"]
    assert log.data_offset is not None and log.compressed_size is not None
    end = log.data_offset + log.compressed_size - 1
    assert get(1, "bytes=2000000-2000099") == (206, deflated[2_000_000:2_000_100])
    # Its compressed data only, inflated from its start: not the stored member before it.
    assert ranges(calls) == [(log.data_offset, end)]
    assert log.compressed_size < len(deflated) // 10
    assert get(1) == (200, deflated)
    assert ranges(calls) == [(log.data_offset, end)]

    # An empty file asks nothing of the bucket.
    assert get(2) == (200, b"")
    assert calls == []

    # The text preview reads the start of the file, from the bucket too.
    calls.clear()
    page = client.get(f"/s/{archive.slug}/files/1/")
    assert "line 0000000 of a log" in page.content.decode()
    assert ranges(calls) == [(log.data_offset, end)]


def test_every_thread_of_a_process_reads_and_presigns_through_one_client(
    make_stored: Callable[..., Archive], bucket: str, s3: Any
) -> None:
    """A client (and session) of its own cost each thread 17 MiB and 36,000 objects the
    garbage collector scans: web threads share the process's one client."""
    archive = make_stored({"data.bin": bytes(range(256)) * 40})
    whole = read_object(s3, bucket, archive.zip_name)
    calls: list[tuple[str, dict[str, Any]]] = []
    record_calls(calls)

    def read(number: int) -> bytes:
        with storage.open_stored(archive.zip_name, start=number, end=number + 99) as body:
            return body.read()

    def presign(number: int) -> str:
        return storage.download_url(archive.zip_name, filename=f"{number}.zip") or ""

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(read, range(8))) == [whole[n : n + 100] for n in range(8)]
        # Each thread's GET went through the one client the code's events were set on.
        assert sorted(ranges(calls)) == [(n, n + 99) for n in range(8)]
        calls.clear()
        urls = list(pool.map(presign, range(8)))
    signed = sorted(params["ResponseContentDisposition"] for _, params in calls)
    assert signed == sorted(f'attachment; filename="{n}.zip"' for n in range(8))
    for url in urls:
        assert requests.get(url, timeout=10).content == whole


def test_range_resume_is_decided_by_us_then_served_206_by_the_bucket(
    anon: APIClient, make_stored: Callable[..., Archive], bucket: str, s3: Any
) -> None:
    archive = make_stored({"data.bin": bytes(range(256)) * 400}, max_downloads=1)
    whole = read_object(s3, bucket, archive.zip_name)
    first = anon.get(download_url(archive))
    assert first.status_code == 302
    grant = first["X-Download-Grant"]

    resumed = anon.get(
        download_url(archive), HTTP_RANGE="bytes=100-199", HTTP_X_DOWNLOAD_GRANT=grant
    )

    assert resumed.status_code == 302
    part = requests.get(resumed["Location"], headers={"Range": "bytes=100-199"}, timeout=10)
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{archive.size}"
    assert part.content == whole[100:200]
    # The resume was not a new download; the limit stays exact.
    archive.refresh_from_db()
    assert archive.download_count == 1
    assert anon.get(download_url(archive)).status_code == 410
    forged = anon.get(download_url(archive), HTTP_RANGE="bytes=0-9", HTTP_X_DOWNLOAD_GRANT="x")
    assert forged.status_code == 410


def test_delete_removes_the_objects(
    api: APIClient,
    make_stored: Callable[..., Archive],
    bucket: str,
    s3: Any,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    built = make_stored(pictures())
    pending = make_stored({"a.txt": b"alpha", "b.txt": b"beta"}, build=False)
    assert len(keys(s3, bucket)) == 3  # one ZIP, two sources
    assert thumbnails_of(built.id) == ["a.png", "b.png"]

    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/archives/{built.id}/").status_code == 204
        assert api.delete(f"/api/archives/{pending.id}/").status_code == 204

    assert keys(s3, bucket) == set()
    assert thumbnails_of(built.id) == []


def test_purge_removes_the_objects_of_expired_archives(
    make_stored: Callable[..., Archive], bucket: str, s3: Any
) -> None:
    expired = make_stored(pictures(), ttl=60)
    alive = make_stored(pictures(), ttl=3600)

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert purge_expired(now=timezone.now()) == 1

    assert keys(s3, bucket) == {alive.zip_name}
    expired.refresh_from_db()
    assert expired.status == Status.EXPIRED
    # The thumbnails (in the database) went with the objects; the live archive's stay.
    assert thumbnails_of(expired.id) == []
    assert thumbnails_of(alive.id) == ["a.png", "b.png"]


def test_scrub_hashes_objects_and_finds_a_changed_or_missing_one(
    make_stored: Callable[..., Archive], bucket: str, s3: Any
) -> None:
    good = make_stored({"a.txt": b"alpha" * 100})
    changed = make_stored({"b.txt": b"beta" * 100})
    missing = make_stored({"c.txt": b"gamma" * 100})
    data = bytearray(read_object(s3, bucket, changed.zip_name))
    data[40] ^= 0xFF
    s3.put_object(Bucket=bucket, Key=changed.zip_name, Body=bytes(data))
    s3.delete_object(Bucket=bucket, Key=missing.zip_name)

    damaged = scrub_archives(now=timezone.now(), budget=10**9)

    assert sorted(damaged) == sorted([changed.pk, missing.pk])
    changed.refresh_from_db()
    missing.refresh_from_db()
    good.refresh_from_db()
    assert "sha256" in changed.integrity_error
    assert missing.integrity_error == "The stored file is missing."
    assert good.integrity_error == ""
    assert good.scrubbed_at is not None


@pytest.mark.django_db(transaction=True)
def test_uploaded_archive_is_built_by_a_worker_from_and_to_the_bucket(
    api: APIClient,
    anon: APIClient,
    s3_worker: tuple[str, subprocess.Popen[bytes]],
    s3: Any,
    s3_endpoint: str,
    settings: DjangoSettings,
) -> None:
    name, _ = s3_worker
    settings.STORAGE_BACKEND = "s3"
    settings.AWS_STORAGE_BUCKET_NAME = name
    settings.AWS_S3_ENDPOINT_URL = s3_endpoint
    settings.AWS_S3_REGION_NAME = REGION
    settings.AWS_ACCESS_KEY_ID = "test-key"
    settings.AWS_SECRET_ACCESS_KEY = "test-secret"
    settings.AWS_S3_ADDRESSING_STYLE = "path"
    big = random.Random(4).randbytes(7 * 1024**2)
    text = b"a line of a log file that compresses well\n" * 50_000

    response = api.post(
        "/api/archives/",
        {"files": [upload("big.bin", big), upload("log.txt", text)], "name": "Logs"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    archive = wait_for_build(response.json()["id"])

    assert archive.status == Status.READY, archive.error
    # The worker deletes the sources once the ready state is committed.
    assert wait_until(lambda: keys(s3, name) == {archive.zip_name}), keys(s3, name)
    redirect = anon.get(download_url(archive))
    assert redirect.status_code == 302
    fetched = requests.get(redirect["Location"], timeout=10)
    assert fetched.status_code == 200
    with zipfile.ZipFile(io.BytesIO(fetched.content)) as built:
        assert built.read("big.bin") == big
        assert built.read("log.txt") == text


def test_a_name_is_normalised_into_a_key_inside_the_bucket(bucket: str, s3: Any) -> None:
    """Dots in a storage name never make a key of their own (django-storages' safe_join,
    as its own storage normalises names)."""
    storage.save_source("uploads/x/../../../y.bin", upload("y.bin", b"why"))

    assert keys(s3, bucket) == {"y.bin"}
    assert storage.open_stored("uploads/../y.bin").read() == b"why"


def test_the_orphan_sweep_removes_old_objects_no_row_names_from_the_bucket(
    bucket: str, s3: Any, make_stored: Callable[..., Archive], settings: DjangoSettings
) -> None:
    """What a web process killed between storing an upload's object and committing its
    row leaves: gone once older than the grace; named objects and young ones stay."""
    archive = make_stored()
    storage.save_source("uploads/lost-upload/00000", upload("a.bin", b"lost"))
    named = keys(s3, bucket) - {"uploads/lost-upload/00000"}
    assert archive.zip_name in named

    young = remove_orphan_files(now=timezone.now())
    later = timezone.now() + timedelta(seconds=settings.ORPHAN_GRACE_SECONDS + 60)
    removed = remove_orphan_files(now=later)

    assert young == []
    assert removed == ["uploads/lost-upload/00000"]
    assert keys(s3, bucket) == named
