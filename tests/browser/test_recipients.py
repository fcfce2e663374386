"""Recipient links, the statistics that group by them, the audit, the CSV export and the
share page that turns into the download in place, in real Chromium.

Screenshots land in ``test-artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from archives.build import build_archive
from archives.models import Archive, Download, Link, Status
from archives.services import create_link, update_archive
from tests.browser.support import log_in, shot, zip_members

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.live_server_helper import LiveServer

    from accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV_HEADER = "at,ip,referer,user_agent,source,recipient,bytes_sent,completed,members"


def chart_data(page: Page, canvas_id: str) -> dict[str, Any]:
    """Labels and datasets of the Chart.js chart drawn on ``canvas#canvas_id``."""
    return page.evaluate(
        """(id) => {
          const chart = Chart.getChart(document.getElementById(id));
          return {
            labels: chart.data.labels,
            datasets: chart.data.datasets.map(d => ({label: d.label, data: d.data})),
          };
        }""",
        canvas_id,
    )


def create_link_on_page(page: Page, label: str, *, password: str = "", limit: str = "") -> None:
    page.get_by_label("Label").fill(label)
    if password:
        page.get_by_label("Password", exact=True).fill(password)
    if limit:
        page.get_by_label("Download limit").fill(limit)
    page.get_by_role("button", name="Create the link").click()
    expect(page.get_by_text(f"The link “{label}” is ready.")).to_be_visible()


def test_two_recipient_links_downloads_stats_csv_and_audit(
    open_page: Callable[..., Page],
    make_archive: Callable[..., Archive],
    user: User,
    password: str,
    live_server: LiveServer,
) -> None:
    contents = {"report.pdf": bytes(range(256)) * 400}
    archive = make_archive(contents, name="Board pack")
    page = open_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, user, password)
    page.goto(reverse("archives:dashboard"))
    page.locator(f"tr[data-archive-row='{archive.id}']").get_by_role(
        "link", name="Recipient links"
    ).click()
    expect(page.get_by_role("heading", name="Recipient links", level=1)).to_be_visible()
    expect(page.locator("[data-no-links]")).to_be_visible()
    shot(page, "r01-links-empty")

    create_link_on_page(page, "Alice (legal)", limit="3")
    create_link_on_page(page, "Bob (finance)", password="bob's word")
    alice = Link.objects.get(archive=archive, label="Alice (legal)")
    bob = Link.objects.get(archive=archive, label="Bob (finance)")
    rows = page.locator("[data-link-row]")
    expect(rows).to_have_count(2)
    alice_row = page.locator(f"[data-link-row='{alice.id}']")
    bob_row = page.locator(f"[data-link-row='{bob.id}']")
    alice_url = f"{live_server.url}{reverse('sharing:share', args=[alice.slug])}"
    expect(alice_row.locator("[data-link-url]")).to_have_value(alice_url)
    expect(alice_row.locator("[data-link-downloads]")).to_have_text("0 / 3")
    expect(alice_row.locator("[data-link-password]")).to_have_text("no")
    expect(bob_row.locator("[data-link-password]")).to_have_text("yes")
    expect(alice_row.locator("[data-qr] svg.qr-code")).to_be_visible()
    expect(alice_row.locator("time[data-local-time]")).not_to_contain_text("UTC")
    alice_row.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == alice_url
    shot(page, "r02-links-two")

    # Alice downloads it all from a newsletter; Bob's first try stops after 100 bytes.
    whole = requests.get(
        f"{live_server.url}{reverse('sharing:download', args=[alice.slug])}?src=newsletter",
        headers={"User-Agent": "AliceAgent/1"},
        timeout=10,
    )
    assert whole.status_code == 200
    part = requests.get(
        f"{live_server.url}{reverse('sharing-api:share-download', args=[bob.slug])}?src=chat",
        headers={"X-Archive-Password": "bob's word", "Range": "bytes=0-99"},
        timeout=10,
    )
    assert part.status_code == 206
    assert len(part.content) == 100
    page.reload()
    expect(alice_row.locator("[data-link-downloads]")).to_have_text("1 / 3")
    by_link = {row.link_id: row for row in Download.objects.filter(archive=archive)}
    assert by_link[alice.pk].completed
    assert by_link[alice.pk].source == "newsletter"
    assert by_link[bob.pk].source == "chat"
    assert not by_link[bob.pk].completed
    assert by_link[bob.pk].bytes_sent == 100

    page.goto(reverse("archives:stats", args=[archive.id]))
    stats = page.locator("#stats")
    expect(stats).to_have_attribute("data-loaded", "30")
    expect(stats).to_have_attribute("data-log-loaded", "1")
    expect(stats).to_have_attribute("data-audit-loaded", "1")
    completed = Download.objects.filter(archive=archive, completed=True).count()
    expect(page.locator("[data-total]")).to_have_text("2")
    expect(page.locator("[data-total-completed]")).to_have_text(str(completed))
    days = chart_data(page, "chart-days")
    assert [dataset["label"] for dataset in days["datasets"]] == ["Started", "Completed"]
    assert sum(days["datasets"][0]["data"]) == 2
    assert sum(days["datasets"][1]["data"]) == completed
    assert len(days["labels"]) == 30
    sources = chart_data(page, "chart-sources")
    assert dict(zip(sources["labels"], sources["datasets"][0]["data"], strict=True)) == {
        "newsletter": 1,
        "chat": 1,
    }
    expect(page.locator("canvas#chart-referrers")).to_be_visible()
    recipients = page.locator("[data-recipient-rows] tr")
    expect(recipients).to_have_count(3)
    expect(recipients.nth(0)).to_contain_text("The archive's own link")
    expect(recipients.nth(1)).to_have_text(re.compile(r"Alice \(legal\)\s*0\s*1\s*1"))
    expect(recipients.nth(2)).to_contain_text("Bob (finance)")
    log = page.locator("[data-log-rows] tr")
    expect(log).to_have_count(2)
    alice_log = log.filter(has_text="AliceAgent/1")
    expect(alice_log).to_contain_text("Alice (legal)")
    expect(alice_log).to_contain_text("newsletter")
    expect(alice_log).to_contain_text("yes")
    audit = page.locator("[data-audit-rows] tr")
    expect(audit.filter(has_text="link created")).to_have_count(2)
    expect(audit.filter(has_text="link Alice (legal)")).to_have_count(1)
    expect(audit.last).to_contain_text("created")
    expect(audit.first).to_contain_text(user.username)
    shot(page, "r03-stats-recipients")

    with page.expect_download() as exported:
        page.get_by_role("link", name="Export CSV").click()
    lines = Path(exported.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == CSV_HEADER
    assert len(lines) == 3
    assert any(",newsletter,Alice (legal)," in line and line.endswith(",yes,") for line in lines)

    # Revoke Bob's link on the page: it goes 404, Alice's keeps working.
    page.goto(reverse("archives:links", args=[archive.id]))
    bob_row.get_by_role("link", name="Revoke Bob (finance)").click()
    expect(page.get_by_role("heading", name="Revoke this link?")).to_be_visible()
    shot(page, "r04-revoke-confirm")
    page.get_by_role("button", name="Revoke the link").click()
    expect(page.get_by_text("The link “Bob (finance)” is revoked.")).to_be_visible()
    expect(bob_row.locator("[data-link-state]")).to_have_text("revoked")
    expect(bob_row.locator("[data-link-url]")).to_have_count(0)
    shot(page, "r05-links-after-revoke")
    gone = requests.get(f"{live_server.url}{reverse('sharing:share', args=[bob.slug])}", timeout=10)
    assert gone.status_code == 404
    kept = requests.get(alice_url, timeout=10)
    assert kept.status_code == 200

    # Edit Alice's link: new label and limit.
    alice_row.get_by_role("link", name="Edit Alice (legal)").click()
    page.get_by_label("Label").fill("Alice")
    page.get_by_label("Download limit").fill("5")
    shot(page, "r06-link-edit")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Your changes to the link “Alice” are saved.")).to_be_visible()
    expect(alice_row.locator("[data-link-downloads]")).to_have_text("1 / 5")

    page.goto(reverse("archives:stats", args=[archive.id]))
    expect(stats).to_have_attribute("data-audit-loaded", "1")
    expect(audit.filter(has_text="link revoked")).to_have_count(1)
    expect(audit.filter(has_text="Alice (legal) → Alice")).to_have_count(1)


def test_audit_shows_the_latest_page_then_more(
    open_page: Callable[..., Page],
    make_archive: Callable[..., Archive],
    user: User,
    password: str,
) -> None:
    archive = make_archive(name="Version 0")
    for number in range(1, 25):
        archive = update_archive(archive, name=f"Version {number}", now=timezone.now())
    page = open_page()
    log_in(page, user, password)
    page.goto(reverse("archives:stats", args=[archive.id]))
    stats = page.locator("#stats")
    expect(stats).to_have_attribute("data-audit-loaded", "1")
    audit = page.locator("[data-audit-rows] tr")
    expect(audit).to_have_count(20)
    expect(audit.first).to_contain_text("Version 23 → Version 24")
    more = page.get_by_role("button", name="Show older changes")
    expect(more).to_be_visible()
    more.click()
    expect(stats).to_have_attribute("data-audit-loaded", "2")
    expect(audit).to_have_count(25)
    expect(audit.last).to_contain_text("created")
    expect(more).to_be_hidden()


def test_building_share_page_turns_into_the_download_in_place(
    open_page: Callable[..., Page], make_archive: Callable[..., Archive]
) -> None:
    contents = {"a.txt": b"alpha" * 1000}
    archive = make_archive(contents, build=False)
    link = Link.objects.create(archive=archive, label="Zoe", created_at=timezone.now())
    # Hold the archive in "building" so no worker takes it while the page watches.
    Archive.objects.filter(pk=archive.pk).update(
        status=Status.BUILDING, progress=20, heartbeat_at=timezone.now()
    )
    page = open_page()
    loads: list[str] = []
    page.on("load", lambda loaded: loads.append(loaded.url))
    path = f"{reverse('sharing:share', args=[link.slug])}?src=qr"
    page.goto(path)
    expect(page.locator("[data-build-progress]")).to_be_visible()
    expect(page.locator("[data-download-button]")).to_have_count(0)
    page.evaluate("window.__stillHere = 'same document'")
    url_before = page.url
    shot(page, "r07-share-building")
    Archive.objects.filter(pk=archive.pk).update(status=Status.PENDING, progress=0)
    build_archive(archive.id)
    button = page.locator("[data-download-button]")
    expect(button).to_be_visible()
    expect(button).to_have_text(re.compile(r"Download Holiday photos\.zip"))
    assert page.evaluate("window.__stillHere") == "same document"
    assert page.url == url_before
    assert loads == [url_before]
    expect(page.locator("[data-build-progress]")).to_have_count(0)
    built = Archive.objects.get(pk=archive.pk)
    expect(page.locator("[data-archive-sha256]")).to_have_text(built.sha256)
    expect(page.locator("[data-archive-sha256]")).to_be_visible()
    shot(page, "r08-share-ready-in-place")
    with page.expect_download() as started:
        button.click()
    assert zip_members(started.value.path()) == contents
    row = Download.objects.get(archive=archive)
    assert row.link_id == link.pk
    assert row.source == "qr"


def test_building_share_page_with_a_password_reloads_into_the_form(
    open_page: Callable[..., Page], make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(build=False, password="pw")
    Archive.objects.filter(pk=archive.pk).update(
        status=Status.BUILDING, progress=20, heartbeat_at=timezone.now()
    )
    page = open_page()
    page.goto(reverse("sharing:share", args=[archive.slug]))
    expect(page.locator("[data-build-progress]")).to_be_visible()
    Archive.objects.filter(pk=archive.pk).update(status=Status.PENDING, progress=0)
    build_archive(archive.id)
    expect(page.get_by_text("This archive is protected by a password.")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()


def test_damaged_archive_page_and_dashboard_badge(
    open_page: Callable[..., Page],
    make_archive: Callable[..., Archive],
    user: User,
    password: str,
) -> None:
    archive = make_archive(name="Bit rot")
    Archive.objects.filter(pk=archive.pk).update(integrity_error="sha256 does not match")
    page = open_page()
    response = page.goto(reverse("sharing:share", args=[archive.slug]))
    assert response is not None
    assert response.status == 409
    expect(page.get_by_text("The stored archive is damaged")).to_be_visible()
    log_in(page, user, password)
    page.goto(reverse("archives:dashboard"))
    row = page.locator(f"tr[data-archive-row='{archive.id}']")
    expect(row.locator("[data-damaged-badge]")).to_have_text("damaged")
    shot(page, "r09-dashboard-damaged")


def test_links_and_stats_pages_in_russian_and_on_a_phone(
    open_page: Callable[..., Page],
    make_archive: Callable[..., Archive],
    user: User,
    password: str,
) -> None:
    archive = make_archive(name="Отчёт")
    create_link(
        archive,
        label="Анна, очень длинная подпись получателя",
        password="",
        max_downloads=None,
        ttl=None,
        now=timezone.now(),
    )
    page = open_page(locale="ru-RU", width=360, height=780)
    page.goto(reverse("accounts:login"))
    page.locator("#id_login").fill(user.username)
    page.locator("#id_password").fill(password)
    page.locator("form button[type=submit]").last.click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    page.goto(reverse("archives:links", args=[archive.id]))
    expect(page.get_by_role("heading", name="Ссылки получателей", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "r10-links-phone-russian")
    page.goto(reverse("archives:stats", args=[archive.id]))
    expect(page.locator("#stats")).to_have_attribute("data-audit-loaded", "1")
    expect(page.locator("[data-audit-rows]")).to_contain_text("ссылка создана")
    expect(page.locator("[data-recipient-rows]")).to_contain_text("Собственная ссылка архива")
    # No downloads yet: both bar charts give way to a sentence.
    expect(page.locator('[data-empty="referrers"]')).to_contain_text("скачиваний нет")
    expect(page.locator('[data-chart="referrers"]')).to_be_hidden()
    expect(page.locator('[data-empty="sources"]')).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "r11-stats-phone-russian")
