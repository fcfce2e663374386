"""Views, downloads started and downloads completed, counted apart; bytes sent per
download through gunicorn's zero-copy path; source tags and referers."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

import pytest
import requests

from accounts.services import issue_token
from archives.models import Archive, Download
from tests.conftest import (
    streamed_body,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.test import Client
    from rest_framework.test import APIClient

    from accounts.models import User


def wait_for_transfer(download: Download, *, sent_at_least: int = 1) -> Download:
    """The server records bytes sent when it is done with the response, just after the
    client saw the last byte; poll briefly for that row."""

    def recorded() -> bool:
        download.refresh_from_db()
        return download.bytes_sent >= sent_at_least

    wait_until(recorded)
    return download


@pytest.mark.django_db(transaction=True)
def test_a_whole_download_through_sendfile_is_complete(
    gunicorn: str, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"data.bin": os.urandom(3_000_000)})

    response = requests.get(f"{gunicorn}/api/shares/{archive.slug}/download", timeout=60)

    assert response.status_code == 200
    assert len(response.content) == archive.size
    download = wait_for_transfer(
        Download.objects.get(archive=archive), sent_at_least=archive.size or 0
    )
    assert download.bytes_sent == archive.size
    assert download.completed


@pytest.mark.django_db(transaction=True)
def test_ranges_count_once_however_often_sent_and_complete_when_they_cover_the_zip(
    gunicorn: str, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"data.bin": os.urandom(3_000_000)})
    size = archive.size or 0
    half = size // 2
    url = f"{gunicorn}/api/shares/{archive.slug}/download"
    first = requests.get(url, headers={"Range": f"bytes=0-{half - 1}"}, timeout=60)
    grant = {"X-Download-Grant": first.headers["X-Download-Grant"]}
    download = wait_for_transfer(Download.objects.get(archive=archive), sent_at_least=half)
    assert (download.bytes_sent, download.completed) == (half, False)

    # Bytes already sent, again: the union does not grow.
    for _ in range(2):
        again = requests.get(url, headers={"Range": "bytes=0-999", **grant}, timeout=60)
        assert again.status_code == 206
    rest = requests.get(url, headers={"Range": f"bytes={half}-", **grant}, timeout=60)

    assert rest.status_code == 206
    download = wait_for_transfer(download, sent_at_least=size)
    assert (download.bytes_sent, download.completed) == (size, True)
    assert download.ranges == [[0, size]]


@pytest.mark.django_db(transaction=True)
def test_a_broken_download_is_started_not_completed_until_resumed(
    gunicorn: str, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"data.bin": os.urandom(30_000_000)})
    size = archive.size or 0
    host, port = gunicorn.removeprefix("http://").split(":")

    # A client with a small receive window that reads the headers and a little of the
    # body, then goes away.
    with socket.socket() as conn:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        conn.settimeout(30)
        conn.connect((host, int(port)))
        request = f"GET /api/shares/{archive.slug}/download HTTP/1.1\r\nHost: {host}\r\n\r\n"
        conn.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(65536)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    grant = next(
        line.split(b": ", 1)[1].decode()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"x-download-grant:")
    )
    download = wait_for_transfer(Download.objects.get(archive=archive))
    assert 0 < download.bytes_sent < size
    assert not download.completed

    resumed = requests.get(
        f"{gunicorn}/api/shares/{archive.slug}/download",
        headers={"Range": f"bytes={download.bytes_sent}-", "X-Download-Grant": grant},
        timeout=60,
    )

    assert resumed.status_code == 206
    download = wait_for_transfer(download, sent_at_least=size)
    assert download.completed
    assert Download.objects.filter(archive=archive).count() == 1


@pytest.mark.django_db
def test_share_page_visits_are_views_not_downloads(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()

    client.get(f"/s/{archive.slug}/")
    client.get(f"/s/{archive.slug}/")
    client.get(f"/s/{archive.slug}/", HTTP_SEC_PURPOSE="prefetch")
    client.head(f"/s/{archive.slug}/")
    client.get(f"/api/shares/{archive.slug}/")

    archive.refresh_from_db()
    assert (archive.view_count, archive.download_count) == (2, 0)


@pytest.mark.django_db
def test_source_tag_is_stored_sanitised_and_charted(
    api: APIClient, anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    url = f"/api/shares/{archive.slug}/download"
    for tag in ("newsletter", "Newsletter", "<script>x</script>", "t" * 100, ""):
        streamed_body(anon.get(url, {"src": tag}))

    sources = list(Download.objects.order_by("id").values_list("source", flat=True))
    stats = api.get(f"/api/archives/{archive.pk}/stats/").json()

    assert sources == ["newsletter", "newsletter", "scriptxscript", "t" * 64, ""]
    assert stats["top_sources"][0] == {"source": "newsletter", "downloads": 2}


@pytest.mark.django_db
def test_download_from_the_share_page_keeps_the_pages_referer(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    client.get(f"/s/{archive.slug}/?src=chat", HTTP_REFERER="https://t.me/some/chat")

    page = client.get(f"/s/{archive.slug}/?src=chat")
    assert f"/s/{archive.slug}/download?src=chat" in page.content.decode()
    streamed_body(
        client.get(
            f"/s/{archive.slug}/download?src=chat",
            HTTP_REFERER=f"http://testserver/s/{archive.slug}/",
        )
    )

    row = Download.objects.get(archive=archive)
    assert (row.referer, row.source) == ("https://t.me/some/chat", "chat")


@pytest.mark.django_db(transaction=True)
def test_completed_downloads_per_day_in_stats(
    gunicorn: str, make_archive: Callable[..., Archive], user: User
) -> None:
    archive = make_archive({"a.txt": b"alpha" * 1000})
    for _ in range(2):
        requests.get(f"{gunicorn}/api/shares/{archive.slug}/download", timeout=30)
    for row in Download.objects.filter(archive=archive):
        wait_for_transfer(row, sent_at_least=archive.size or 0)

    stats = requests.get(
        f"{gunicorn}/api/archives/{archive.pk}/stats/?days=1",
        headers={"Authorization": f"Token {issue_token(user)}"},
        timeout=30,
    ).json()

    assert stats["days"][-1]["downloads"] == 2
    assert stats["days"][-1]["completed"] == 2
    assert stats["total_completed"] == 2


def test_the_server_config_sends_files_with_sendfile() -> None:
    import runpy

    from gunicorn.config import Config

    config = Config()
    for name, value in runpy.run_path("config/gunicorn.py").items():
        if name in config.settings:
            config.set(name, value)

    assert config.sendfile is True
    assert config.worker_class_str == "gthread"


@pytest.mark.django_db
def test_source_tag_survives_the_password_form(
    client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(password="s3cret-pw")

    page = client.get(f"/s/{archive.slug}/?src=mail").content.decode()
    assert f"/s/{archive.slug}/unlock?src=mail" in page
    unlocked = client.post(f"/s/{archive.slug}/unlock?src=mail", {"password": "s3cret-pw"})
    assert unlocked["Location"] == f"/s/{archive.slug}/?src=mail"
    streamed_body(client.get(f"/s/{archive.slug}/download?src=mail"))

    assert Download.objects.get(archive=archive).source == "mail"
