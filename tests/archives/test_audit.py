"""Every owner change writes an audit row; passwords never appear in clear."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from archives.models import AuditEntry
from tests.conftest import upload

if TYPE_CHECKING:
    from collections.abc import Callable

    from rest_framework.test import APIClient

    from accounts.models import User
    from archives.models import Archive

pytestmark = pytest.mark.django_db


def rows(archive_id: str) -> list[tuple[str, str, str, str]]:
    return list(
        AuditEntry.objects.filter(archive_id=archive_id)
        .order_by("id")
        .values_list("action", "field", "old", "new")
    )


def test_create_edit_links_and_delete_are_audited(api: APIClient, user: User) -> None:
    created = api.post(
        "/api/archives/",
        {"files": [upload("a.txt", b"a")], "name": "First", "password": "hunter2-secret"},
        format="multipart",
    ).json()
    url = f"/api/archives/{created['id']}/"
    api.patch(url, {"name": "Second", "max_downloads": 5}, format="json")
    api.patch(url, {"password": ""}, format="json")
    link = api.post(f"{url}links/", {"label": "Alice", "password": "alice-secret"},
                    format="json").json()  # fmt: skip
    api.patch(f"{url}links/{link['id']}/", {"password": "another-secret"}, format="json")
    api.delete(f"{url}links/{link['id']}/")
    api.delete(url)

    audit = rows(created["id"])

    assert [row[0] for row in audit] == [
        "create", "update", "update", "update", "update", "link_created", "update",
        "link_revoked", "delete",
    ]  # fmt: skip
    assert ("update", "name", "First", "Second") in audit
    assert ("update", "max_downloads", "none", "5") in audit
    assert ("update", "password", "set", "cleared") in audit
    assert ("update", "link Alice: password", "set", "changed") in audit
    every_value = " ".join(" ".join(row) for row in audit)
    assert "secret" not in every_value
    assert AuditEntry.objects.filter(archive_id=created["id"], actor=user).count() == len(audit)


def test_audit_api_is_owner_only_and_newest_first(
    api: APIClient, make_archive: Callable[..., Archive], other_user: User
) -> None:
    mine = make_archive(name="Mine")
    api.patch(f"/api/archives/{mine.pk}/", {"description": "new"}, format="json")
    theirs = make_archive(owner=other_user)

    body = api.get(f"/api/archives/{mine.pk}/audit/").json()

    assert body["results"][0]["action"] == "update"
    assert body["results"][0]["field"] == "description"
    assert body["results"][-1]["action"] == "create"
    assert body["results"][0]["actor"] == mine.owner.username
    assert api.get(f"/api/archives/{theirs.pk}/audit/").status_code == 404


def test_unchanged_fields_write_no_row(
    api: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(name="Same")
    before = AuditEntry.objects.count()

    api.patch(f"/api/archives/{archive.pk}/", {"name": "Same"}, format="json")

    assert AuditEntry.objects.count() == before
