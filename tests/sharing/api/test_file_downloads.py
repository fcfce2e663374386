"""One file of the archive through the share API (DESIGN section 10): the archive's rules,
its grants and its log, for a member sent by sendfile (stored) or inflated (deflated)."""

from __future__ import annotations

import csv
import io
import random
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

import pytest
from django.http import FileResponse
from django.test import RequestFactory

from archives import storage
from archives.models import Archive, Download
from sharing.delivery import GRANT_HEADER, deliver_archive
from sharing.downloads import find_share
from tests.conftest import streamed_body

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import StreamingHttpResponse
    from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

TEXT = b"line of a log that compresses well\n" * 20_000
NOISE = random.Random(7).randbytes(300_000)
FILES = {"notes.txt": TEXT, "Отпуск 🌊.bin": NOISE}


def file_url(archive: Archive, index: int) -> str:
    return f"/api/shares/{archive.slug}/files/{index}/download"


@pytest.fixture
def archive(make_archive: Callable[..., Archive]) -> Archive:
    return make_archive(FILES, max_downloads=1)


def test_each_member_comes_whole_as_an_attachment(archive: Archive, anon: APIClient) -> None:
    methods = dict(archive.files.values_list("name", "method"))
    assert methods == {"notes.txt": zipfile.ZIP_DEFLATED, "Отпуск 🌊.bin": zipfile.ZIP_STORED}

    first = anon.get(file_url(archive, 0))
    grant = first[GRANT_HEADER]
    second = anon.get(file_url(archive, 1), HTTP_X_DOWNLOAD_GRANT=grant)

    assert streamed_body(first) == TEXT
    assert streamed_body(second) == NOISE
    assert first["Content-Length"] == str(len(TEXT))
    assert first["Content-Disposition"] == (
        "attachment; filename=\"notes.txt\"; filename*=UTF-8''notes.txt"
    )
    assert second["Content-Disposition"] == (
        "attachment; filename=\"______ _.bin\"; filename*=UTF-8''"
        "%D0%9E%D1%82%D0%BF%D1%83%D1%81%D0%BA%20%F0%9F%8C%8A.bin"
    )
    member = archive.files.get(position=1)
    assert second["ETag"] == f'"{member.sha256}"'
    for response in (first, second):
        assert response["Content-Type"] == "application/octet-stream"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert response["Accept-Ranges"] == "bytes"
    archive.refresh_from_db()
    # One download on a limit of 1, both files logged on it.
    assert archive.download_count == 1
    download = Download.objects.get(archive=archive)
    assert download.members == ["notes.txt", "Отпуск 🌊.bin"]
    # Each member cost what it weighs in the ZIP.
    stored = sum(archive.files.values_list("compressed_size", flat=True))
    assert download.grant_used == stored
    assert not download.completed


def test_without_the_grant_the_limit_holds_and_the_archive_goes_on_with_it(
    archive: Archive, anon: APIClient
) -> None:
    grant = anon.get(file_url(archive, 0))[GRANT_HEADER]
    anon.cookies.clear()

    refused = anon.get(file_url(archive, 1))
    assert refused.status_code == 410
    assert refused.json()["reason"] == "limit_reached"

    ranged = anon.get(
        f"/api/shares/{archive.slug}/download", HTTP_RANGE="bytes=0-99", HTTP_X_DOWNLOAD_GRANT=grant
    )
    assert ranged.status_code == 206
    archive.refresh_from_db()
    assert archive.download_count == 1


def test_ranges_of_a_deflated_and_a_stored_member(archive: Archive, anon: APIClient) -> None:
    grant = anon.get(file_url(archive, 0), HTTP_RANGE="bytes=100000-100099")
    assert grant.status_code == 206
    assert streamed_body(grant) == TEXT[100_000:100_100]
    assert grant["Content-Range"] == f"bytes 100000-100099/{len(TEXT)}"
    token = grant[GRANT_HEADER]

    stored = anon.get(file_url(archive, 1), HTTP_RANGE="bytes=-10", HTTP_X_DOWNLOAD_GRANT=token)
    assert streamed_body(stored) == NOISE[-10:]

    past_end = anon.get(
        file_url(archive, 1), HTTP_RANGE=f"bytes={len(NOISE)}-", HTTP_X_DOWNLOAD_GRANT=token
    )
    assert past_end.status_code == 416
    assert past_end["Content-Range"] == f"bytes */{len(NOISE)}"

    stale = anon.get(
        file_url(archive, 0),
        HTTP_RANGE="bytes=10-",
        HTTP_IF_RANGE='"not-the-etag"',
        HTTP_X_DOWNLOAD_GRANT=token,
    )
    assert stale.status_code == 200
    assert streamed_body(stale) == TEXT
    archive.refresh_from_db()
    assert archive.download_count == 1


def test_a_lost_grant_resumes_a_member_from_the_same_client(
    archive: Archive, anon: APIClient
) -> None:
    # The client was killed before any byte arrived: the grant keeps its budget.
    share = find_share(archive.slug)
    request = RequestFactory().get(file_url(archive, 1), headers={"User-Agent": "Wget/1.21"})
    killed = deliver_archive(request, share, password=None, member=archive.files.get(position=1))
    # As the server ends a response the client left before any byte: nothing was sent,
    # so the grant keeps its budget.
    assert isinstance(killed, FileResponse)
    assert killed.file_to_stream is not None
    killed.file_to_stream.close()
    anon.cookies.clear()

    resumed = anon.get(file_url(archive, 1), HTTP_RANGE="bytes=1000-", HTTP_USER_AGENT="Wget/1.21")

    assert resumed.status_code == 206
    assert streamed_body(resumed) == NOISE[1000:]
    archive.refresh_from_db()
    assert archive.download_count == 1


def test_head_counts_nothing_and_an_index_out_of_range_is_404(
    archive: Archive, anon: APIClient
) -> None:
    head = anon.head(file_url(archive, 0))
    assert head.status_code == 200
    assert head["Content-Length"] == str(len(TEXT))
    for index in (2, 99):
        missing = anon.get(file_url(archive, index))
        assert missing.status_code == 404
        assert missing.json() == {"detail": "No such file in this share."}
    archive.refresh_from_db()
    assert archive.download_count == 0


def test_a_password_guards_the_files(make_archive: Callable[..., Archive], anon: APIClient) -> None:
    archive = make_archive(FILES, password="s3cret")

    assert anon.get(file_url(archive, 0)).status_code == 401
    assert anon.get(file_url(archive, 0), HTTP_X_ARCHIVE_PASSWORD="nope").status_code == 403
    allowed = anon.get(file_url(archive, 0), HTTP_X_ARCHIVE_PASSWORD="s3cret")
    assert streamed_body(allowed) == TEXT


def test_a_zip_bomb_member_streams_within_the_budget_and_touches_no_disk(
    make_archive: Callable[..., Archive], anon: APIClient
) -> None:
    size = 64 * 1024 * 1024
    archive = make_archive({"zeros.bin": b"\0" * size})
    member = archive.files.get()
    assert member.compressed_size is not None
    assert member.compressed_size * 500 < size
    before = sorted(path for path in storage.root().rglob("*") if path.is_file())

    response = anon.get(file_url(archive, 0))
    content = cast("StreamingHttpResponse", response).streaming_content
    assert isinstance(content, Iterator)
    pieces = [len(piece) for piece in content]
    again = anon.get(file_url(archive, 0), HTTP_X_DOWNLOAD_GRANT=response[GRANT_HEADER])

    assert sum(pieces) == size
    # Inflated a block at a time, never whole.
    assert max(pieces) <= 1024 * 1024
    assert sorted(path for path in storage.root().rglob("*") if path.is_file()) == before
    download = Download.objects.get(archive=archive)
    assert download.grant_used == member.compressed_size
    # The archive is little more than the member: a second copy passes the budget.
    assert again.status_code == 410
    assert again.json()["reason"] == "grant_used_up"


def test_the_log_and_its_csv_name_the_files(
    archive: Archive, anon: APIClient, api: APIClient
) -> None:
    first = anon.get(file_url(archive, 1))
    streamed_body(first)
    streamed_body(anon.get(file_url(archive, 0), HTTP_X_DOWNLOAD_GRANT=first[GRANT_HEADER]))

    body = api.get(f"/api/archives/{archive.id}/downloads/").json()
    assert body["results"][0]["members"] == ["Отпуск 🌊.bin", "notes.txt"]
    exported = api.get(f"/api/archives/{archive.id}/downloads.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(exported).decode())))
    assert rows[0]["members"] == "Отпуск 🌊.bin\nnotes.txt"
