"""The download log as CSV: fixed columns, formulas defused, the owner's archives only."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

import pytest

from tests.conftest import streamed_body

if TYPE_CHECKING:
    from collections.abc import Callable

    from rest_framework.test import APIClient

    from accounts.models import User
    from archives.models import Archive

pytestmark = pytest.mark.django_db


def test_csv_export_has_fixed_columns_and_defuses_formulas(
    api: APIClient, anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(name="Report")
    streamed_body(
        anon.get(
            f"/api/shares/{archive.slug}/download?src=mail",
            HTTP_USER_AGENT='=HYPERLINK("http://evil")',
            HTTP_REFERER="https://example.org/a,b",
        )
    )

    response = api.get(f"/api/archives/{archive.pk}/downloads.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="Report-downloads.csv"' in response["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0] == [
        "at", "ip", "referer", "user_agent", "source", "recipient", "bytes_sent", "completed",
        "members",
    ]  # fmt: skip
    assert table[1][1:] == [
        "127.0.0.1", "https://example.org/a,b", "'=HYPERLINK(\"http://evil\")", "mail", "",
        str(archive.size), "yes", "",
    ]  # fmt: skip


def test_csv_export_of_someone_elses_archive_is_404(
    api: APIClient, make_archive: Callable[..., Archive], other_user: User
) -> None:
    archive = make_archive(owner=other_user)

    assert api.get(f"/api/archives/{archive.pk}/downloads.csv").status_code == 404
