"""The download limit under real parallel requests against a live server."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
import requests

from archives.models import Archive, Download
from core.models import FailureWindow
from sharing.downloads import Share, share_scope

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
