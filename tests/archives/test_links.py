"""Recipient links: each its own slug, password, limit, expiry and revocation."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests
import time_machine
from django.utils import timezone

from archives.models import Archive, Download, Link
from tests.conftest import streamed_body

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.live_server_helper import LiveServer
    from rest_framework.test import APIClient

    from accounts.models import User

pytestmark = pytest.mark.django_db


def add_link(api: APIClient, archive: Archive, **fields: object) -> dict[str, Any]:
    response = api.post(f"/api/archives/{archive.pk}/links/", fields, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_link_has_its_own_slug_password_and_limit(
    api: APIClient, anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(password="owner-pw")
    link = add_link(api, archive, label="Alice", password="alice-pw", max_downloads=1)
    url = f"/api/shares/{link['slug']}/download"

    assert link["slug"] != archive.slug
    assert link["share_url"].endswith(f"/s/{link['slug']}/")
    public = anon.get(f"/api/shares/{link['slug']}/").json()
    assert (public["has_password"], public["downloads_left"]) == (True, 1)
    assert anon.get(url, HTTP_X_ARCHIVE_PASSWORD="owner-pw").status_code == 403
    assert anon.get(url, HTTP_X_ARCHIVE_PASSWORD="alice-pw").status_code == 200
    # Another client: this one's grant cookie would go on with its unfinished download.
    anon.cookies.clear()
    assert anon.get(url, HTTP_X_ARCHIVE_PASSWORD="alice-pw").status_code == 410
    # The archive's own link keeps working as before.
    own = anon.get(f"/api/shares/{archive.slug}/download", HTTP_X_ARCHIVE_PASSWORD="owner-pw")
    assert own.status_code == 200
    assert Download.objects.filter(link__label="Alice").count() == 1


def test_link_expiry_is_its_own(
    api: APIClient, anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(ttl=86400)
    link = add_link(api, archive, label="Short", ttl=60)

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert anon.get(f"/api/shares/{link['slug']}/download").status_code == 410
        assert anon.get(f"/api/shares/{archive.slug}/download").status_code == 200


def test_archive_limit_caps_every_link(
    api: APIClient, anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(max_downloads=1)
    link = add_link(api, archive, label="Bob")

    assert anon.get(f"/api/shares/{link['slug']}/download").status_code == 200
    assert anon.get(f"/api/shares/{archive.slug}/download").status_code == 410


def test_patch_and_list_links(api: APIClient, make_archive: Callable[..., Archive]) -> None:
    archive = make_archive()
    link = add_link(api, archive, label="Carol", password="pw")
    url = f"/api/archives/{archive.pk}/links/{link['id']}/"

    changed = api.patch(url, {"label": "Carol B", "password": "", "max_downloads": 3},
                        format="json").json()  # fmt: skip

    assert (changed["label"], changed["has_password"], changed["max_downloads"]) == (
        "Carol B", False, 3,
    )  # fmt: skip
    listed = api.get(f"/api/archives/{archive.pk}/links/").json()
    assert [row["label"] for row in listed] == ["Carol B"]


def test_revoked_link_is_404_and_others_work(
    api: APIClient, anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    gone = add_link(api, archive, label="Gone")
    kept = add_link(api, archive, label="Kept")

    response = api.delete(f"/api/archives/{archive.pk}/links/{gone['id']}/")

    assert response.status_code == 204
    assert anon.get(f"/api/shares/{gone['slug']}/").status_code == 404
    assert anon.get(f"/api/shares/{gone['slug']}/download").status_code == 404
    assert anon.get(f"/s/{gone['slug']}/").status_code == 404
    assert anon.get(f"/api/shares/{kept['slug']}/download").status_code == 200
    revoked = api.get(f"/api/archives/{archive.pk}/links/{gone['id']}/").json()
    assert revoked["is_revoked"] is True


def test_someone_elses_links_are_404(
    api: APIClient, make_archive: Callable[..., Archive], other_user: User
) -> None:
    archive = make_archive(owner=other_user)
    link = Link.objects.create(archive=archive, label="x", created_at=timezone.now())

    assert api.get(f"/api/archives/{archive.pk}/links/").status_code == 404
    assert api.post(f"/api/archives/{archive.pk}/links/", {"label": "mine"}).status_code == 404
    assert api.get(f"/api/archives/{archive.pk}/links/{link.pk}/").status_code == 404
    assert api.delete(f"/api/archives/{archive.pk}/links/{link.pk}/").status_code == 404
    assert Link.objects.get(pk=link.pk).revoked_at is None


def test_log_and_stats_group_by_recipient(
    api: APIClient, anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    alice = add_link(api, archive, label="Alice")
    streamed_body(anon.get(f"/api/shares/{alice['slug']}/download"))
    streamed_body(anon.get(f"/api/shares/{alice['slug']}/download"))
    streamed_body(anon.get(f"/api/shares/{archive.slug}/download"))
    anon.get(f"/s/{alice['slug']}/")

    log = api.get(f"/api/archives/{archive.pk}/downloads/").json()["results"]
    stats = api.get(f"/api/archives/{archive.pk}/stats/").json()

    assert [row["recipient"] for row in log] == [None, "Alice", "Alice"]
    assert stats["recipients"] == [
        {"link": None, "label": "(own link)", "views": 0, "downloads": 1, "completed": 1},
        {"link": alice["id"], "label": "Alice", "views": 1, "downloads": 2, "completed": 2},
    ]


@pytest.mark.django_db(transaction=True)
def test_revocation_during_parallel_downloads_stops_new_ones(
    live_server: LiveServer, make_archive: Callable[..., Archive], user: User
) -> None:
    import threading
    import time

    from archives.services import create_link, revoke_link

    archive = make_archive({"data.bin": b"x" * 300_000})
    link = create_link(archive, label="Leaky", password="", max_downloads=None, ttl=None,
                       now=timezone.now())  # fmt: skip
    target = f"{live_server.url}/api/shares/{link.slug}/download"
    revoked_at: list[float] = []
    seen: list[tuple[float, int]] = []
    lock = threading.Lock()

    def download_until_refused(_: int) -> None:
        for _attempt in range(200):
            started = time.monotonic()
            status = requests.get(target, timeout=60).status_code
            with lock:
                seen.append((started, status))
            if status != 200:
                return

    with ThreadPoolExecutor(max_workers=8) as pool:
        running = [pool.submit(download_until_refused, n) for n in range(8)]
        while Download.objects.filter(link=link).count() < 10:
            time.sleep(0.01)
        revoke_link(link, now=timezone.now())
        revoked_at.append(time.monotonic())
        for future in running:
            future.result()

    statuses = Counter(status for _, status in seen)
    after = [status for started, status in seen if started > revoked_at[0]]
    # Every download served was counted; every request begun after the revocation was
    # refused as unknown; each of the 8 clients ended on a 404.
    assert statuses[200] == Download.objects.filter(link=link).count()
    assert set(statuses) == {200, 404}
    assert set(after) <= {404}
    assert statuses[404] == 8
    assert requests.get(target, timeout=30).status_code == 404
