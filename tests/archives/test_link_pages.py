"""The recipient link pages through Django's test client: list, create, edit, revoke,
someone else's archive, and hostile labels shown as text."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.hashers import check_password
from django.urls import reverse
from django.utils import timezone

from archives.models import Archive, AuditEntry, Link
from archives.services import create_link

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.test import Client

    from accounts.models import User

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert('label')</script>"


@pytest.fixture
def client_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def links_url(archive: Archive) -> str:
    return reverse("archives:links", args=[archive.id])


def edit_url(link: Link) -> str:
    return reverse("archives:link-edit", args=[link.archive_id, link.id])


def revoke_url(link: Link) -> str:
    return reverse("archives:link-revoke", args=[link.archive_id, link.id])


def new_link(
    archive: Archive,
    label: str = "Alice",
    *,
    password: str = "",
    max_downloads: int | None = None,
    ttl: int | None = None,
) -> Link:
    return create_link(
        archive,
        label=label,
        password=password,
        max_downloads=max_downloads,
        ttl=ttl,
        now=timezone.now(),
    )


def test_links_page_needs_login(client: Client, make_archive: Callable[..., Archive]) -> None:
    archive = make_archive()
    response = client.get(links_url(archive))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_links_page_lists_links_with_url_qr_and_counts(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(max_downloads=10)
    link = new_link(archive, "Alice", password="pw", max_downloads=3)
    Link.objects.filter(pk=link.pk).update(download_count=1, view_count=4)
    response = client_in.get(links_url(archive))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Alice" in body
    assert f"http://testserver{reverse('sharing:share', args=[link.slug])}" in body
    assert 'class="qr-code"' in body
    assert "1 / 3" in body
    assert "data-link-views>4<" in body
    assert "data-link-password>yes<" in body
    assert link.archive.expires_at.isoformat() in body


def test_links_page_shows_an_empty_state(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    response = client_in.get(links_url(make_archive()))
    assert response.status_code == 200
    assert "data-no-links" in response.content.decode()


def test_dashboard_row_links_to_the_links_page(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    response = client_in.get(reverse("archives:dashboard"))
    assert links_url(archive) in response.content.decode()


def test_dashboard_marks_a_damaged_archive(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    damaged = make_archive(name="Damaged")
    sound = make_archive(name="Sound")
    Archive.objects.filter(pk=damaged.pk).update(integrity_error="sha256 mismatch")
    body = client_in.get(reverse("archives:dashboard")).content.decode()
    assert body.count("data-damaged-badge") == 1
    damaged_row = body.split(f'data-archive-row="{damaged.id}"')[1].split("</tr>")[0]
    sound_row = body.split(f'data-archive-row="{sound.id}"')[1].split("</tr>")[0]
    assert "data-damaged-badge" in damaged_row
    assert "data-damaged-badge" not in sound_row


def test_create_link_with_password_limit_and_lifetime(
    client_in: Client, make_archive: Callable[..., Archive], user: User
) -> None:
    archive = make_archive(ttl=30 * 24 * 3600)
    before = timezone.now()
    response = client_in.post(
        links_url(archive),
        {
            "label": "Bob",
            "password": "s3cret",
            "lifetime": str(24 * 3600),
            "max_downloads": "2",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == links_url(archive)
    link = Link.objects.get(archive=archive)
    assert link.label == "Bob"
    assert check_password("s3cret", link.password)
    assert link.max_downloads == 2
    assert link.expires_at is not None
    assert timedelta(hours=23) < link.expires_at - before <= timedelta(days=1, minutes=1)
    entry = AuditEntry.objects.get(archive_id=archive.pk, action="link_created")
    assert entry.actor == user
    assert "s3cret" not in entry.new
    page = client_in.get(links_url(archive)).content.decode()
    assert "The link “Bob” is ready." in page


def test_create_link_with_the_archives_own_lifetime(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    response = client_in.post(links_url(archive), {"label": "Carol", "lifetime": "archive"})
    assert response.status_code == 302
    link = Link.objects.get(archive=archive)
    assert link.expires_at is None
    assert link.password == ""
    assert link.max_downloads is None


def test_create_link_with_a_custom_lifetime(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    client_in.post(
        links_url(archive),
        {"label": "Dan", "lifetime": "custom", "custom_lifetime": "90", "custom_unit": "60"},
    )
    link = Link.objects.get(archive=archive)
    assert link.expires_at is not None
    assert timedelta(minutes=89) < link.expires_at - timezone.now() <= timedelta(minutes=90)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"label": "", "lifetime": "archive"}, "This field is required."),
        ({"label": "x", "lifetime": "archive", "max_downloads": "0"}, "greater than or equal"),
        ({"label": "x", "lifetime": "custom"}, "Enter the custom lifetime"),
    ],
)
def test_create_link_refuses_bad_input(
    client_in: Client,
    make_archive: Callable[..., Archive],
    data: dict[str, str],
    error: str,
) -> None:
    archive = make_archive()
    response = client_in.post(links_url(archive), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Link.objects.filter(archive=archive).exists()


def test_edit_link_changes_label_limit_and_password(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    link = new_link(archive, "Alice", max_downloads=5)
    page = client_in.get(edit_url(link))
    assert page.status_code == 200
    assert 'value="Alice"' in page.content.decode()
    response = client_in.post(
        edit_url(link),
        {"label": "Alice B.", "new_password": "hidden", "lifetime": "keep", "max_downloads": "9"},
    )
    assert response.status_code == 302
    assert response["Location"] == links_url(archive)
    link.refresh_from_db()
    assert link.label == "Alice B."
    assert link.max_downloads == 9
    assert check_password("hidden", link.password)
    assert link.expires_at is None
    changes = AuditEntry.objects.filter(
        archive_id=archive.pk, action__in=["update", "link_updated"]
    )
    assert all("hidden" not in entry.old + entry.new for entry in changes)
    assert {entry.new for entry in changes} >= {"set", "Alice B.", "9"}


def test_edit_link_clears_password_and_sets_then_drops_lifetime(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    link = new_link(archive, "Eve", password="pw")
    client_in.post(edit_url(link), {"label": "Eve", "remove_password": "on", "lifetime": str(3600)})
    link.refresh_from_db()
    assert link.password == ""
    assert link.expires_at is not None
    client_in.post(edit_url(link), {"label": "Eve", "lifetime": "archive"})
    link.refresh_from_db()
    assert link.expires_at is None


def test_edit_link_refuses_a_new_password_and_its_removal_together(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    link = new_link(make_archive(), "Eve", password="pw")
    response = client_in.post(
        edit_url(link),
        {"label": "Eve", "new_password": "x", "remove_password": "on", "lifetime": "keep"},
    )
    assert response.status_code == 400
    assert "Either set a new password or remove it" in response.content.decode()


def test_revoke_asks_then_revokes_and_the_link_is_404(
    client_in: Client, client: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    gone = new_link(archive, "Gone")
    kept = new_link(archive, "Kept")
    confirm = client_in.get(revoke_url(gone))
    assert confirm.status_code == 200
    assert "Revoke this link?" in confirm.content.decode()
    assert Link.objects.get(pk=gone.pk).revoked_at is None
    response = client_in.post(revoke_url(gone))
    assert response.status_code == 302
    assert Link.objects.get(pk=gone.pk).revoked_at is not None
    assert AuditEntry.objects.filter(archive_id=archive.pk, action="link_revoked").count() == 1
    page = client_in.get(links_url(archive)).content.decode()
    assert "The link “Gone” is revoked." in page
    gone_row = page.split(f'data-link-row="{gone.id}"')[1].split("</article>")[0]
    assert "revoked" in gone_row
    assert reverse("sharing:share", args=[gone.slug]) not in gone_row
    assert revoke_url(gone) not in gone_row
    assert client.get(reverse("sharing:share", args=[gone.slug])).status_code == 404
    assert client.get(reverse("sharing:share", args=[kept.slug])).status_code == 200


@pytest.mark.parametrize("method", ["get", "post"])
def test_someone_elses_links_pages_are_404(
    client: Client,
    other_user: User,
    make_archive: Callable[..., Archive],
    method: str,
) -> None:
    archive = make_archive()
    link = new_link(archive)
    client.force_login(other_user)
    for url in [links_url(archive), edit_url(link), revoke_url(link)]:
        data = {"label": "mine now", "lifetime": "archive"}
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, url
    link.refresh_from_db()
    assert link.label == "Alice"
    assert link.revoked_at is None
    assert Link.objects.filter(archive=archive).count() == 1


def test_a_link_of_another_archive_is_404(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    first = make_archive(name="First")
    second = make_archive(name="Second")
    link = new_link(first)
    url = reverse("archives:link-edit", args=[second.id, link.id])
    assert client_in.get(url).status_code == 404


def test_a_script_label_is_escaped_on_every_page_that_shows_it(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    response = client_in.post(links_url(archive), {"label": HOSTILE, "lifetime": "archive"})
    assert response.status_code == 302
    link = Link.objects.get(archive=archive)
    pages = [
        links_url(archive),
        edit_url(link),
        revoke_url(link),
        reverse("sharing:share", args=[link.slug]),
    ]
    escaped = "&lt;script&gt;alert(&#x27;label&#x27;)&lt;/script&gt;"
    for url in pages:
        body = client_in.get(url).content.decode()
        assert HOSTILE not in body, url
        if url != pages[-1]:
            assert escaped in body, url
    # The success message of the creation carries the label too.
    client_in.post(links_url(archive), {"label": HOSTILE, "lifetime": "archive"})
    body = client_in.get(links_url(archive)).content.decode()
    assert HOSTILE not in body
    assert f"The link “{escaped}” is ready." in body


def test_stats_page_has_the_new_sections(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    body = client_in.get(reverse("archives:stats", args=[archive.id])).content.decode()
    assert reverse("archives-api:downloads-csv", args=[archive.id]) in body
    assert reverse("archives-api:archive-audit", args=[archive.id]) in body
    for marker in ["chart-sources", "data-recipient-rows", "data-audit-rows", "data-audit-more"]:
        assert marker in body
    assert links_url(archive) in body


def test_export_csv_link_works_with_the_session(
    client_in: Client, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    response = client_in.get(reverse("archives-api:downloads-csv", args=[archive.id]))
    assert response.status_code == 200
    header = response.content.decode().splitlines()[0]
    assert header == "at,ip,referer,user_agent,source,recipient,bytes_sent,completed,members"
