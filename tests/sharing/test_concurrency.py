"""The download limit and a grant's byte budget under real parallel requests against a live
server; a lost grant resumed over HTTP."""

from __future__ import annotations

import http.client
import os
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import requests

from archives.models import Archive, Download
from core.models import FailureWindow
from sharing.downloads import Share, grant_budget, share_scope
from tests.conftest import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.live_server_helper import LiveServer

PARALLEL = 32
LIMIT = 5


@pytest.mark.django_db(transaction=True)
def test_parallel_downloads_respect_the_limit_exactly(
    live_server: LiveServer, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"data.bin": b"x" * 200_000}, max_downloads=LIMIT)
    target = f"{live_server.url}/api/shares/{archive.slug}/download"

    def fetch(_: int) -> int:
        with requests.Session() as session:
            response = session.get(target, timeout=60)
            if response.status_code == 200:
                assert len(response.content) == archive.size
            return response.status_code

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        statuses = Counter(pool.map(fetch, range(PARALLEL)))

    assert statuses == {200: LIMIT, 410: PARALLEL - LIMIT}
    archive.refresh_from_db()
    assert archive.download_count == LIMIT
    assert Download.objects.filter(archive=archive).count() == LIMIT


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_are_all_counted(
    live_server: LiveServer, make_archive: Callable[..., Archive]
) -> None:

    archive = make_archive(password="right")
    target = f"{live_server.url}/api/shares/{archive.slug}/download"

    def guess(n: int) -> int:
        headers = {"X-Archive-Password": f"wrong-{n}"}
        return requests.get(target, headers=headers, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = Counter(pool.map(guess, range(16)))

    failures = FailureWindow.objects.get(
        scope=share_scope(Share(archive)), key="127.0.0.1"
    ).failures
    # Each refused guess was counted once, none lost to a race; past the limit the
    # answers turn to 429.
    assert statuses[403] == failures
    assert statuses[403] + statuses[429] == 16


def fetch(url: str, headers: dict[str, str]) -> tuple[int, int]:
    """GET ``url``: the status and the body bytes received, also of a body cut short."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    try:
        connection.request("GET", parts.path, headers=headers)
        response = connection.getresponse()
        try:
            return response.status, len(response.read())
        except http.client.IncompleteRead as cut:
            return response.status, len(cut.partial)
    finally:
        connection.close()


@dataclass(frozen=True)
class Granted:
    archive: Archive
    size: int
    url: str
    grant: str


@pytest.fixture
def granted(gunicorn: str, make_archive: Callable[..., Archive]) -> Granted:
    """A 2 MB archive with a limit of one behind gunicorn, counted by a download of one
    byte: its grant has a whole copy (and the slack) left."""
    archive = make_archive({"data.bin": os.urandom(2_000_000)}, max_downloads=1)
    url = f"{gunicorn}/api/shares/{archive.slug}/download"
    first = requests.get(url, headers={"Range": "bytes=0-0"}, timeout=60)
    assert first.status_code == 206
    return Granted(archive, archive.size or 0, url, first.headers["X-Download-Grant"])


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_whole_downloads_on_one_grant_get_one_copy(granted: Granted) -> None:
    archive, size, url, grant = granted.archive, granted.size, granted.url, granted.grant
    # Whole, ranged from 0, or with a Range header nobody can parse: all whole copies.
    asks = [{}, {"Range": "bytes=0-"}, {"Range": "garbage"}, {"Range": "bytes=0-0,5-"}]

    def whole(n: int) -> tuple[int, int]:
        return fetch(url, {"X-Download-Grant": grant, **asks[n % len(asks)]})

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(whole, range(20)))

    received = sum(length for _, length in answers)
    assert [length for _, length in answers].count(size) == 1
    assert 1 + received <= grant_budget(size)
    assert {status for status, _ in answers} <= {200, 206, 410}
    assert Archive.objects.get(pk=archive.pk).download_count == 1
    assert Download.objects.get(archive=archive).grant_used <= grant_budget(size)


@pytest.mark.django_db(transaction=True)
def test_parallel_ranges_on_one_grant_never_pass_its_budget(granted: Granted) -> None:
    archive, size, url, grant = granted.archive, granted.size, granted.url, granted.grant
    pieces = random.Random(17)
    ranges = []
    for _ in range(PARALLEL):
        start = pieces.randrange(size)
        ranges.append((start, min(size, start + pieces.randrange(size // 10, size // 3)) - 1))

    def ranged(piece: tuple[int, int]) -> tuple[int, int]:
        start, end = piece
        return fetch(url, {"X-Download-Grant": grant, "Range": f"bytes={start}-{end}"})

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        answers = list(pool.map(ranged, ranges))

    received = sum(length for status, length in answers if status == 206)
    assert 1 + received <= grant_budget(size)
    # What was asked is more than the budget: some ranges were refused for it.
    assert sum(end - start + 1 for start, end in ranges) > grant_budget(size)
    assert {status for status, _ in answers} == {206, 410}
    download = Download.objects.get(archive=archive)
    assert wait_until(lambda: Download.objects.get(pk=download.pk).grant_used == 1 + received)


@pytest.mark.django_db(transaction=True)
def test_a_lost_grant_resumes_from_the_same_client_only_until_complete(
    gunicorn: str, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"data.bin": os.urandom(500_000)}, max_downloads=1)
    size = archive.size or 0
    url = f"{gunicorn}/api/shares/{archive.slug}/download"
    wget = {"User-Agent": "Wget/1.21.3"}
    assert fetch(url, {**wget, "Range": "bytes=0-999"}) == (206, 1000)

    # No grant: another user agent at the same address is a new download, refused.
    assert fetch(url, {"User-Agent": "curl/7.88.1", "Range": "bytes=1000-"})[0] == 410
    # The same client, from past byte 0, goes on with its download.
    assert fetch(url, {**wget, "Range": "bytes=1000-"}) == (206, size - 1000)
    assert wait_until(lambda: Download.objects.get(archive=archive).completed)
    # Complete now: nothing more without the grant.
    assert fetch(url, {**wget, "Range": "bytes=1000-"})[0] == 410
    assert Archive.objects.get(pk=archive.pk).download_count == 1
