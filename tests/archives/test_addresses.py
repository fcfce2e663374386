"""The share URL: built in one place, on the request's host or on SITE_URL, and the same
wherever a page or the API shows it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from archives.addresses import share_download_url, share_url
from archives.services import create_link

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.test import Client
    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import APIClient

    from accounts.models import User
    from archives.models import Archive


def test_share_urls_are_on_the_host_the_request_came_to() -> None:
    request = RequestFactory().get("/", secure=True)

    assert share_url("abc", request=request) == "https://testserver/s/abc/"
    assert share_download_url("abc", request=request) == (
        "https://testserver/api/shares/abc/download"
    )


def test_share_urls_without_a_request_are_on_site_url(settings: DjangoSettings) -> None:
    settings.SITE_URL = "https://share.example.org"

    assert share_url("abc") == "https://share.example.org/s/abc/"
    assert share_download_url("abc") == "https://share.example.org/api/shares/abc/download"


@pytest.mark.django_db
def test_pages_and_api_show_one_share_url(
    client: Client,
    api: APIClient,
    anon: APIClient,
    user: User,
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive()
    link = create_link(
        archive, label="Alice", password="", max_downloads=None, ttl=None, now=timezone.now()
    )
    client.force_login(user)
    own, alice = f"http://testserver/s/{archive.slug}/", f"http://testserver/s/{link.slug}/"

    assert api.get(f"/api/archives/{archive.id}/").json()["share_url"] == own
    assert anon.get(f"/api/shares/{archive.slug}/").json()["share_url"] == own
    assert client.get(f"/s/{archive.slug}/").context["share_url"] == own
    assert f'data-copy="{own}"' in client.get(reverse("archives:dashboard")).content.decode()
    links = api.get(f"/api/archives/{archive.id}/links/").json()
    assert [row["share_url"] for row in links] == [alice]
    assert anon.get(f"/api/shares/{link.slug}/").json()["share_url"] == alice
    page = client.get(reverse("archives:links", args=[archive.id]))
    assert [row.share_url for row in page.context["rows"]] == [alice]
