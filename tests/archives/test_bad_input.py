"""Bad requests get a clear 4xx and lose or change nothing already stored."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import requests
from django.utils import timezone

from accounts.services import issue_token
from archives import storage
from archives.models import Archive
from tests.conftest import upload

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.test import Client
    from pytest_django.live_server_helper import LiveServer
    from rest_framework.test import APIClient

    from accounts.models import User

BOUNDARY = "----boundary7MA4YWxk"


def multipart(description: str = "hello") -> bytes:
    return (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="files"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
        "alpha\r\n"
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="description"\r\n\r\n'
        f"{description}\r\n"
        f"--{BOUNDARY}--\r\n"
    ).encode()


def raw_post(server: str, token: str, body: bytes, *, content_type: str, length: int) -> str:
    """Send a request exactly as given (wrong lengths included); return the status line
    and body the server answered."""
    address = urlsplit(server)
    head = (
        "POST /api/archives/ HTTP/1.1\r\n"
        f"Host: {address.hostname}:{address.port}\r\n"
        f"Authorization: Token {token}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((address.hostname, address.port), timeout=30) as conn:
        conn.sendall(head + body)
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def stored_files() -> dict[str, bytes]:
    return {
        str(path.relative_to(storage.root())): path.read_bytes()
        for path in storage.root().rglob("*")
        if path.is_file()
    }


@pytest.fixture
def existing(make_archive: Callable[..., Archive]) -> Archive:
    return make_archive({"keep.txt": b"keep"})


@pytest.fixture
def stored_before(existing: Archive) -> dict[str, bytes]:
    return stored_files()


def assert_nothing_changed(existing: Archive, stored_before: dict[str, bytes]) -> None:
    assert list(Archive.objects.values_list("pk", flat=True)) == [existing.pk]
    fresh = Archive.objects.get(pk=existing.pk)
    assert (fresh.name, fresh.sha256, fresh.status) == (
        existing.name,
        existing.sha256,
        existing.status,
    )
    assert stored_files() == stored_before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("truncated body", 400),
        ("missing boundary", 400),
        ("longer Content-Length than sent", 400),
        ("no files part", 400),
    ],
)
def test_broken_multipart_is_400(
    live_server: LiveServer,
    user: User,
    existing: Archive,
    stored_before: dict[str, bytes],
    case: str,
    status: int,
) -> None:
    body = multipart()
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    length = len(body)
    if case == "truncated body":
        body = body[: len(body) // 2]
        length = len(body)
    elif case == "missing boundary":
        content_type = "multipart/form-data"
    elif case == "longer Content-Length than sent":
        body = body[:-20]
    elif case == "no files part":
        body = f"--{BOUNDARY}--\r\n".encode()
        length = len(body)

    answer = raw_post(live_server.url, issue_token(user), body, content_type=content_type,
                      length=length)  # fmt: skip

    assert answer.startswith(f"HTTP/1.1 {status}"), answer[:300]
    assert '"detail"' in answer or '"files"' in answer
    assert_nothing_changed(existing, stored_before)


@pytest.mark.django_db
def test_json_body_where_multipart_is_expected_is_400(
    api: APIClient, existing: Archive, stored_before: dict[str, bytes]
) -> None:
    response = api.post("/api/archives/", {"files": ["a.txt"], "name": "x"}, format="json")

    # JSON creates an archive from finished resumable uploads, which this body lacks.
    assert response.status_code == 400
    assert "uploads" in response.json()
    assert_nothing_changed(existing, stored_before)


@pytest.mark.django_db
def test_unsupported_content_type_is_415(
    api: APIClient, existing: Archive, stored_before: dict[str, bytes]
) -> None:
    response = api.generic("POST", "/api/archives/", "<xml/>", content_type="text/xml")

    assert response.status_code == 415
    assert "detail" in response.json()
    assert_nothing_changed(existing, stored_before)


@pytest.mark.django_db(transaction=True)
def test_ten_megabyte_description_is_refused(
    live_server: LiveServer, user: User, existing: Archive, stored_before: dict[str, bytes]
) -> None:
    response = requests.post(
        f"{live_server.url}/api/archives/",
        headers={"Authorization": f"Token {issue_token(user)}"},
        files=[("files", ("a.txt", b"alpha"))],
        data={"description": "x" * 10_000_000},
        timeout=60,
    )

    assert response.status_code == 413
    assert "shorten the description" in response.json()["detail"]
    assert_nothing_changed(existing, stored_before)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["   ", "...", "///", "./\\.", "\u202e\x01"])
def test_names_without_letters_are_400(
    api: APIClient, existing: Archive, stored_before: dict[str, bytes], name: str
) -> None:
    response = api.post(
        "/api/archives/", {"files": [upload("a.txt", b"a")], "name": name}, format="multipart"
    )
    patch = api.patch(f"/api/archives/{existing.pk}/", {"name": name}, format="json")

    assert response.status_code == 400
    assert "name" in response.json()
    assert patch.status_code == 400
    assert_nothing_changed(existing, stored_before)


@pytest.mark.django_db
def test_blank_name_in_a_patch_is_400(
    api: APIClient, existing: Archive, stored_before: dict[str, bytes]
) -> None:
    response = api.patch(f"/api/archives/{existing.pk}/", {"name": ""}, format="json")

    assert response.status_code == 400
    assert_nothing_changed(existing, stored_before)


@pytest.mark.django_db
def test_file_names_of_only_dots_or_slashes_get_a_safe_name(api: APIClient) -> None:
    response = api.post(
        "/api/archives/",
        {"files": [upload("...", b"a"), upload("....", b"b")], "name": "Dots"},
        format="multipart",
    )

    assert response.status_code == 201
    assert [f["name"] for f in response.json()["files"]] == ["file", "file (1)"]


@pytest.mark.django_db
def test_expired_session_is_401(client: Client, user: User, password: str) -> None:
    assert client.login(username=user.username, password=password)
    session = client.session
    session.set_expiry(timezone.now() - timedelta(seconds=1))
    session.save()

    response = client.get("/api/archives/")

    assert response.status_code == 401


@pytest.mark.django_db
def test_deleted_token_is_401(api: APIClient, user: User) -> None:
    from rest_framework.authtoken.models import Token

    Token.objects.filter(user=user).delete()

    assert api.get("/api/archives/").status_code == 401
