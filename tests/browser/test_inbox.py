"""Upload requests in real Chromium: the owner creates one on the requests page, a sender
opens its link on a phone (360 px, dark mode), gives the password, sends a file and gets
the receipt; the owner sees the submission.

Screenshots land in ``test-artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from archives import storage
from archives.build import build_archive
from inbox.models import Submission, UploadRequest
from tests.browser.support import DROP_FOLDER, log_in, shot, zip_members
from tests.factories import UploadRequestFactory

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from playwright.sync_api import Page

    from accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_creates_a_request_and_a_sender_sends_through_it(
    open_page: Callable[..., Page], user: User, password: str, tmp_path: Path
) -> None:
    owner = open_page()
    log_in(owner, user, password)
    owner.get_by_role("link", name="Requests").click()
    owner.get_by_label("Name").fill("Tax papers")
    owner.get_by_label("Message to senders").fill("Please send the scans.")
    owner.get_by_label("Password", exact=True).fill("letmein")
    owner.get_by_role("button", name="Create the request").click()
    link = owner.locator("[data-request-url]")
    expect(link).to_have_value(
        f"{owner.url.split('/requests/')[0]}/r/{UploadRequest.objects.get().slug}/"
    )
    expect(owner.locator("[data-qr] svg")).to_be_visible()
    shot(owner, "inbox-01-requests")
    url = link.input_value()

    sender = open_page(width=360, height=780)
    sender.emulate_media(color_scheme="dark")
    sender.goto(url)
    expect(sender.locator("html")).to_have_attribute("data-bs-theme", "dark")
    expect(sender.locator("[data-request-message]")).to_have_text("Please send the scans.")
    sender.get_by_label("Password").fill("letmein")
    sender.get_by_role("button", name="Continue").click()
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 scan" * 1000)
    sender.get_by_label("Files", exact=True).set_input_files(str(scan))
    expect(sender.locator("[data-file-list]")).to_contain_text("scan.pdf")
    sender.get_by_label("Your name").fill("Ann")
    sender.get_by_label("Note").fill("All three pages.")
    shot(sender, "inbox-02-send-360-dark")
    sender.get_by_role("button", name="Send the files").click()
    # Sent with tus from the page (no account, the token of the first creation), then
    # submitted as JSON: the receipt replaces the form in place.
    expect(sender.locator("[data-js-receipt] [data-receipt-files]")).to_contain_text(
        hashlib.sha256(scan.read_bytes()).hexdigest()
    )
    expect(sender.locator("[data-total-progress]")).to_have_attribute("aria-valuenow", "100")
    shot(sender, "inbox-03-receipt-360-dark")
    # No horizontal scrolling on a phone.
    assert sender.evaluate("document.documentElement.scrollWidth") <= 360

    assert Submission.objects.get().sender_name == "Ann"
    owner.get_by_role("link", name="Submissions Tax papers").click()
    expect(owner.locator("[data-submissions]")).to_contain_text("All three pages.")
    shot(owner, "inbox-04-submissions")


def test_the_sender_page_in_russian_and_a_closed_request(
    open_page: Callable[..., Page],
) -> None:
    open_request = UploadRequestFactory(message="Пришлите сканы", max_files=3)
    closed = UploadRequestFactory(closed_at=timezone.now())
    page = open_page(locale="ru-RU", width=360, height=780)

    page.goto(f"/r/{open_request.slug}/")
    expect(page.get_by_role("button", name="Отправить файлы")).to_be_visible()
    expect(page.locator("[data-request-limits]")).to_contain_text("3 файлов")
    shot(page, "inbox-05-send-ru")
    response = page.goto(f"/r/{closed.slug}/")
    assert response is not None and response.status == 410
    expect(page.get_by_role("heading")).to_have_text("Этот запрос больше не принимает файлы")
    shot(page, "inbox-06-closed-ru")


def test_a_sender_drops_a_folder_and_its_paths_reach_the_archive(
    open_page: Callable[..., Page],
) -> None:
    upload_request = UploadRequestFactory()
    page = open_page()
    page.goto(f"/r/{upload_request.slug}/")
    tree = {"scans": {"a.txt": "alpha", "2026": {"b.txt": "beta", "c.txt": "gamma"}}}
    page.evaluate(DROP_FOLDER, tree)
    expect(page.locator("[data-file-list] li")).to_have_count(3)
    expect(page.locator("[data-file-list]")).to_contain_text("scans/2026/c.txt")
    shot(page, "inbox-07-dropped-folder")
    page.get_by_role("button", name="Send the files").click()
    expect(page.locator("[data-js-receipt] [data-receipt-files] tbody tr")).to_have_count(3)
    archive = Submission.objects.get().archive
    assert archive is not None
    build_archive(archive.id)
    archive.refresh_from_db()
    assert zip_members(storage.local_path(archive.zip_name)) == {
        "scans/a.txt": b"alpha",
        "scans/2026/b.txt": b"beta",
        "scans/2026/c.txt": b"gamma",
    }
