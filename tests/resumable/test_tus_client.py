"""A real tus client (tuspy) against the live server: a multi-megabyte file sent in chunks,
the connection broken midway, the upload resumed from the server's offset and finished;
the archive made from it holds the very same bytes. And tuspy run as a user would, one
process after another, every chunk with its checksum, resuming from its stored URL."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from io import BytesIO
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import requests
from tusclient.client import TusClient

from accounts.services import issue_token
from archives import storage
from archives.build import build_archive
from archives.models import Archive, Status
from resumable.models import ResumableUpload
from resumable.partials import partial_path
from tests.conftest import BASE_DIR
from tests.resumable.api.test_views import metadata

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_django.live_server_helper import LiveServer

    from accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 1024 * 1024
# Not a whole number of chunks, and incompressible, so every byte must come through.
DATA = os.urandom(5 * CHUNK + 12345)


def auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Token {issue_token(user)}"}


def raw_patch(location: str, headers: dict[str, str], *, offset: int, body: bytes) -> socket.socket:
    """Open a PATCH announcing ``len(body)`` bytes and send only half of them; the caller
    decides when the socket closes."""
    parts = urlsplit(location)
    connection = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: {headers['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    connection.sendall(head.encode() + body[: len(body) // 2])
    return connection


def server_offset(location: str, headers: dict[str, str]) -> int:
    answer = requests.head(location, headers={**headers, "Tus-Resumable": "1.0.0"}, timeout=10)
    assert answer.status_code == 200
    return int(answer.headers["Upload-Offset"])


def wait_for_offset(location: str, headers: dict[str, str], expected: int) -> None:
    """The server notices a closed connection on its own thread, soon after."""
    deadline = time.monotonic() + 10
    while server_offset(location, headers) != expected:
        assert time.monotonic() < deadline, server_offset(location, headers)
        time.sleep(0.05)


def archive_from_upload(server: str, headers: dict[str, str], upload_id: str) -> Archive:
    """The archive made of the finished upload through the API, built as a worker would."""
    created = requests.post(
        f"{server}/api/archives/",
        json={"uploads": [upload_id], "name": "Film"},
        headers=headers,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    build_archive(created.json()["id"])
    archive = Archive.objects.get(pk=created.json()["id"])
    assert archive.status == Status.READY
    return archive


def member_sha256(archive: Archive, name: str) -> str:
    """The sha256 of the member ``name``, the archive's only one, read from the ZIP."""
    with zipfile.ZipFile(storage.local_path(archive.zip_name)) as built:
        assert built.namelist() == [name]
        return hashlib.sha256(built.read(name)).hexdigest()


def run_client(program: list[str], server: str, user: User, *options: str) -> dict:
    """A tus client program (``tests/resumable/``) in a process of its own, sending to
    ``server`` as ``user``; its exit status and its closing JSON line."""
    command = [*program, "--endpoint", f"{server}/api/uploads/", "--token", issue_token(user)]
    done = subprocess.run(
        [*command, *options],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    return {"exit": done.returncode, **json.loads(lines[-1])}


@pytest.fixture(params=["live_server", "gunicorn"])
def server(request: pytest.FixtureRequest) -> str:
    """Django's test server, and gunicorn as `make run` serves, each with its own reader of
    the body."""
    started = request.getfixturevalue(request.param)
    return started if isinstance(started, str) else started.url


def test_broken_upload_resumes_from_the_server_offset_and_becomes_the_archive(
    server: str, user: User
) -> None:
    headers = auth(user)
    client = TusClient(f"{server}/api/uploads/", headers=headers)
    first = client.uploader(
        file_stream=BytesIO(DATA),
        chunk_size=CHUNK,
        metadata={"filename": "film.bin", "relativePath": "films/2024/film.bin"},
    )
    # Two chunks go through, then the client stops (as a closed laptop would).
    first.upload(stop_at=2 * CHUNK)
    location = first.url
    assert location is not None
    assert server_offset(location, headers) == 2 * CHUNK

    # The third chunk breaks off halfway: the bytes that arrived are kept.
    chunk = DATA[2 * CHUNK : 3 * CHUNK]
    broken = raw_patch(location, headers, offset=2 * CHUNK, body=chunk)
    time.sleep(0.2)  # let the half chunk reach the server before the socket closes
    broken.close()
    wait_for_offset(location, headers, 2 * CHUNK + CHUNK // 2)

    # A new client resumes from where the server stands, and finishes.
    second = client.uploader(file_stream=BytesIO(DATA), url=location, chunk_size=CHUNK)
    assert second.offset == 2 * CHUNK + CHUNK // 2
    second.upload()
    assert server_offset(location, headers) == len(DATA)
    upload_id = location.rsplit("/", 1)[1]
    assert partial_path(upload_id).read_bytes() == DATA

    archive = archive_from_upload(server, headers, upload_id)
    assert not ResumableUpload.objects.exists()
    assert member_sha256(archive, "films/2024/film.bin") == hashlib.sha256(DATA).hexdigest()


def test_a_second_patch_while_one_writes_is_refused_and_nothing_is_corrupted(
    live_server: LiveServer, user: User
) -> None:
    headers = auth(user)
    client = TusClient(f"{live_server.url}/api/uploads/", headers=headers)
    uploader = client.uploader(
        file_stream=BytesIO(DATA[: 2 * CHUNK]), chunk_size=CHUNK, metadata={"filename": "a"}
    )
    location = uploader.create_url()
    # One PATCH holds the upload: its body is only half sent.
    writer = raw_patch(location, headers, offset=0, body=DATA[:CHUNK])
    deadline = time.monotonic() + 10
    while not ResumableUpload.objects.exclude(claim="").exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    rival = requests.patch(
        location,
        data=b"X" * CHUNK,
        headers={
            **headers,
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=10,
    )
    assert rival.status_code == 423
    assert rival.headers["Tus-Resumable"] == "1.0.0"
    # The first writer finishes its body and is answered normally.
    writer.sendall(DATA[CHUNK // 2 : CHUNK])
    answer = b""
    while b"\r\n\r\n" not in answer:
        received = writer.recv(4096)
        assert received, answer
        answer += received
    writer.close()
    assert answer.startswith(b"HTTP/1.1 204"), answer
    assert f"Upload-Offset: {CHUNK}\r\n".encode() in answer
    assert partial_path(location.rsplit("/", 1)[1]).read_bytes() == DATA[:CHUNK]


TUSPY = [sys.executable, str(BASE_DIR / "tests" / "resumable" / "tuspy_upload.py")]


@pytest.mark.server
def test_tuspy_stopped_resumes_in_a_new_process_with_checksums(
    gunicorn: str, user: User, tmp_path: Path
) -> None:
    source = tmp_path / "film.bin"
    source.write_bytes(DATA)
    headers = auth(user)
    files = ["--file", str(source), "--storage", str(tmp_path / "tus-urls.json")]
    tuspy = [*TUSPY, *files, "--chunk-size", str(CHUNK)]

    # The first process sends two chunks, each with its sha1, and stops.
    first = run_client(tuspy, gunicorn, user, "--algorithm", "sha1", "--stop-at", str(2 * CHUNK))
    assert (first["exit"], first["resumed_at"], first["offset"]) == (0, None, 2 * CHUNK)
    location = first["url"]
    upload_id = location.rsplit("/", 1)[1]
    assert server_offset(location, headers) == 2 * CHUNK

    # A second one finds the URL, and its next chunk's sha256 is of other bytes: refused,
    # and nothing of that chunk stays.
    corrupt = run_client(tuspy, gunicorn, user, "--algorithm", "sha256", "--wrong-checksum")
    assert (corrupt["exit"], corrupt["url"], corrupt["status"]) == (1, location, 460)
    assert server_offset(location, headers) == 2 * CHUNK
    assert partial_path(upload_id).stat().st_size == 2 * CHUNK

    # A third one resumes from the stored URL with sha256 checksums and finishes.
    last = run_client(tuspy, gunicorn, user, "--algorithm", "sha256")
    assert last == {"exit": 0, "url": location, "resumed_at": 2 * CHUNK, "offset": len(DATA)}
    head = requests.head(location, headers={**headers, "Tus-Resumable": "1.0.0"}, timeout=10)
    assert head.headers["Upload-Offset"] == str(len(DATA))
    assert head.headers["Upload-Metadata"] == metadata(
        filename="film.bin", relativePath="films/film.bin"
    )

    archive = archive_from_upload(gunicorn, headers, upload_id)
    assert member_sha256(archive, "films/film.bin") == hashlib.sha256(DATA).hexdigest()
