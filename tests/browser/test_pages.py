"""The web pages in real Chromium: every flow a person goes through, every refusal page,
both languages, a phone-sized screen, escaping, and no request leaving 127.0.0.1.

Screenshots land in ``test-artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO
from typing import TYPE_CHECKING

import pytest
import requests
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from archives.build import build_archive
from archives.models import Archive, Download, Status
from tests.browser.support import log_in, shot, wait_until, zip_members

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.fixtures import Settings as DjangoSettings
    from pytest_django.live_server_helper import LiveServer

    from accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Records every value the progress bars take, so a test can tell that it moved.


UNLABELLED_FIELDS = """
Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea"))
  .filter(field => !field.labels.length && !field.getAttribute("aria-label"))
  .map(field => field.outerHTML)
"""


def assert_fields_labelled(page: Page) -> None:
    assert page.evaluate(UNLABELLED_FIELDS) == [], page.url


def decode_qr(page: Page) -> str:
    """The text of the QR code as Chromium drew it, read by the ZXing decoder."""
    import zxingcpp
    from PIL import Image

    image = Image.open(BytesIO(page.locator("[data-qr] svg").screenshot()))
    results = zxingcpp.read_barcodes(image)
    assert results, "no QR code found in the picture of the share page"
    return results[0].text


def share_path(archive: Archive) -> str:
    return reverse("sharing:share", args=[archive.slug])


def download_path(archive: Archive) -> str:
    return reverse("sharing:download", args=[archive.slug])


def test_register_upload_three_files_share_and_download(
    open_page: Callable[..., Page],
    live_server: LiveServer,
    live_worker: object,
) -> None:
    page = open_page()
    page.goto("/")
    shot(page, "01-home")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password", exact=True).fill("a long and unusual passphrase")
    page.get_by_label("Password again").fill("a long and unusual passphrase")
    assert_fields_labelled(page)
    shot(page, "02-register")
    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(re.compile(r"/upload/$"))
    expect(page.get_by_text("Welcome, ada!")).to_be_visible()

    contents = {
        "report.pdf": bytes(range(256)) * 6000,
        "photo.jpg": b"\xff\xd8" + bytes(reversed(range(256))) * 4000,
        "notes.txt": b"several lines of notes\n" * 20_000,
    }
    page.set_input_files(
        "#id_uploads",
        [
            {"name": name, "mimeType": "application/octet-stream", "buffer": data}
            for name, data in contents.items()
        ],
    )
    listed = page.locator("[data-file-list] li")
    expect(listed).to_have_count(3)
    expect(listed.nth(0)).to_contain_text("report.pdf")
    expect(listed.nth(0)).to_contain_text("1.5 MB")
    expect(page.locator("[data-file-summary]")).to_contain_text("3 files")
    page.get_by_label("Name", exact=True).fill("Quarterly papers")
    page.get_by_label("Description").fill("Everything for the meeting.")
    page.get_by_label("Lifetime", exact=True).select_option(label="Custom…")
    page.get_by_label("Custom lifetime").fill("3")
    page.get_by_label("Unit").select_option(label="days")
    page.get_by_label("Download limit").fill("5")
    shot(page, "03-upload-chosen")

    # Slow the upload down so its progress bar has something to show.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 1.5e6},
    )
    with page.expect_request(lambda request: request.url.endswith("/api/archives/")) as sent:
        page.get_by_role("button", name="Upload and share").click()
    assert sent.value.method == "POST"
    assert sent.value.headers.get("x-csrftoken")
    expect(page.locator("[data-progress-card]")).to_be_visible()
    wait_until(page, "window.__progress.upload.some(v => v > 0 && v < 100)")
    shot(page, "04-upload-progress")
    result = page.locator("[data-result]")
    expect(result).to_be_visible(timeout=60_000)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    progress = page.evaluate("window.__progress")
    assert any(0 < value < 100 for value in progress["upload"]), progress
    assert progress["upload"][-1] == 100
    assert progress["build"][-1] == 100
    expect(page.locator("[data-upload-progress]")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("[data-build-progress]")).to_have_attribute("aria-valuenow", "100")

    archive = Archive.objects.get(name="Quarterly papers")
    assert archive.status == Status.READY
    assert archive.max_downloads == 5
    assert timedelta(days=3) - timedelta(minutes=1) < archive.expires_at - archive.created_at
    url = f"{live_server.url}{share_path(archive)}"
    expect(page.locator("[data-result-url]")).to_have_value(url)
    wait_until(
        page,
        "document.querySelector('[data-result-qr]').complete"
        " && document.querySelector('[data-result-qr]').naturalWidth > 0",
    )
    shot(page, "05-upload-done")

    page.get_by_role("link", name="Open the share page").click()
    expect(page.get_by_role("heading", name="Quarterly papers")).to_be_visible()
    for name in contents:
        expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()
    expect(page.locator("[data-downloads-left]")).to_have_text("5")
    local_expiry = page.locator("time[data-local-time]").first
    expect(local_expiry).not_to_contain_text("UTC")
    assert decode_qr(page) == url
    shot(page, "06-share")

    with page.expect_download() as started:
        page.locator("[data-download-button]").click()
    download = started.value
    assert download.suggested_filename == "Quarterly papers.zip"
    assert zip_members(download.path()) == contents
    page.reload()
    expect(page.locator("[data-downloads-left]")).to_have_text("4")
    assert Download.objects.filter(archive=archive).count() == 1


def test_page_waits_for_build_then_turns_into_download(
    open_page: Callable[..., Page], make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.txt": b"alpha" * 1000}, build=False)
    # Hold the archive in "building" so no worker takes it while the page watches.
    Archive.objects.filter(pk=archive.pk).update(
        status=Status.BUILDING, progress=10, heartbeat_at=timezone.now()
    )
    page = open_page()
    response = page.goto(download_path(archive))
    assert response is not None
    assert response.status == 409
    expect(page.get_by_text("The archive is being built.")).to_be_visible()
    Archive.objects.filter(pk=archive.pk).update(progress=60)
    expect(page.locator("[data-build-progress]")).to_have_attribute("aria-valuenow", "60")
    shot(page, "07-refusal-409-building")
    Archive.objects.filter(pk=archive.pk).update(status=Status.PENDING, progress=0)
    build_archive(archive.id)
    expect(page).to_have_url(re.compile(re.escape(share_path(archive)) + "$"))
    expect(page.locator("[data-download-button]")).to_be_visible()


def test_failed_build_page_says_so(
    open_page: Callable[..., Page], make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(build=False)
    Archive.objects.filter(pk=archive.pk).update(
        status=Status.FAILED, error="A source file could not be read."
    )
    page = open_page()
    response = page.goto(download_path(archive))
    assert response is not None
    assert response.status == 409
    expect(page.get_by_text("The archive could not be built.")).to_be_visible()
    expect(page.get_by_text("A source file could not be read.")).to_be_visible()
    shot(page, "08-refusal-409-failed")


def test_password_pages_401_403_then_download(
    open_page: Callable[..., Page], make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"secret.txt": b"hush"}, password="open sesame")
    page = open_page()
    response = page.goto(download_path(archive))
    assert response is not None
    assert response.status == 401
    expect(page.get_by_text("This archive is protected by a password.")).to_be_visible()
    shot(page, "09-refusal-401-password")

    page.get_by_label("Password").fill("guess")
    with page.expect_navigation() as answer:
        page.get_by_role("button", name="Unlock").click()
    assert answer.value is not None
    assert answer.value.status == 403
    expect(page.get_by_text("Wrong password. Check it and try again.")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    assert "guess" not in page.url
    shot(page, "10-refusal-403-wrong-password")

    page.get_by_label("Password").fill("open sesame")
    page.get_by_role("button", name="Unlock").click()
    expect(page).to_have_url(re.compile(re.escape(share_path(archive)) + "$"))
    with page.expect_download() as started:
        page.locator("[data-download-button]").click()
    assert zip_members(started.value.path()) == {"secret.txt": b"hush"}


def test_too_many_wrong_passwords_page_429(
    open_page: Callable[..., Page],
    make_archive: Callable[..., Archive],
    settings: DjangoSettings,
) -> None:
    settings.PASSWORD_ATTEMPTS_LIMIT = 2
    archive = make_archive(password="open sesame")
    page = open_page()
    page.goto(share_path(archive))
    for _ in range(2):
        page.get_by_label("Password").fill("guess")
        page.get_by_role("button", name="Unlock").click()
        expect(page.get_by_text("Wrong password.")).to_be_visible()
    page.get_by_label("Password").fill("open sesame")
    with page.expect_navigation() as answer:
        page.get_by_role("button", name="Unlock").click()
    assert answer.value is not None
    assert answer.value.status == 429
    assert int(answer.value.headers["retry-after"]) > 0
    expect(page.get_by_text("Too many wrong passwords.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Try again in \d+ minutes?"))).to_be_visible()
    shot(page, "11-refusal-429-throttled")


def test_expired_and_used_up_pages_410(
    open_page: Callable[..., Page], make_archive: Callable[..., Archive]
) -> None:
    expired = make_archive(name="Old photos")
    Archive.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    page = open_page()
    response = page.goto(share_path(expired))
    assert response is not None
    assert response.status == 410
    expect(page.get_by_text("This archive has expired.")).to_be_visible()
    shot(page, "12-refusal-410-expired")

    once = make_archive({"once.txt": b"1"}, name="One time", max_downloads=1)
    page.goto(share_path(once))
    with page.expect_download() as started:
        page.locator("[data-download-button]").click()
    assert zip_members(started.value.path()) == {"once.txt": b"1"}
    response = page.goto(download_path(once))
    assert response is not None
    assert response.status == 410
    expect(page.get_by_text("its download limit is reached").first).to_be_visible()
    shot(page, "13-refusal-410-limit")


def test_not_found_and_form_expired_pages(
    open_page: Callable[..., Page], user: User, password: str
) -> None:
    page = open_page()
    response = page.goto("/s/no-such-link/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Nothing here")).to_be_visible()
    shot(page, "14-not-found")

    page.goto(reverse("accounts:login"))
    page.context.clear_cookies()
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation() as answer:
        page.get_by_role("button", name="Log in").click()
    assert answer.value is not None
    assert answer.value.status == 403
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    shot(page, "15-csrf-failure")


def test_dashboard_progress_copy_edit_and_delete(
    open_page: Callable[..., Page],
    make_archive: Callable[..., Archive],
    user: User,
    password: str,
    live_server: LiveServer,
) -> None:
    ready = make_archive({"a.txt": b"alpha"}, name="Alpha", max_downloads=3)
    building = make_archive({"b.txt": b"beta"}, name="Beta", build=False)
    Archive.objects.filter(pk=building.pk).update(
        status=Status.BUILDING, progress=30, heartbeat_at=timezone.now()
    )
    page = open_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, user, password)
    page.goto(reverse("archives:dashboard"))
    beta = page.locator(f"tr[data-archive-row='{building.id}']")
    alpha = page.locator(f"tr[data-archive-row='{ready.id}']")
    expect(beta.locator("[data-status-badge]")).to_have_text("building")
    expect(alpha.locator("[data-status-badge]")).to_have_text("ready")
    expect(alpha).to_contain_text("0 / 3")
    Archive.objects.filter(pk=building.pk).update(progress=70)
    expect(beta.locator("[data-row-progress]")).to_have_attribute("aria-valuenow", "70")
    shot(page, "16-dashboard")
    Archive.objects.filter(pk=building.pk).update(status=Status.READY, progress=100, size=4321)
    expect(beta.locator("[data-status-badge]")).to_have_text("ready")
    expect(beta.locator("[data-row-progress]")).to_have_count(0)

    alpha.get_by_role("button", name="Copy link").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f"{live_server.url}{share_path(ready)}"

    alpha.get_by_role("link", name="Edit").click()
    page.get_by_label("Name", exact=True).fill("Alpha, renamed")
    page.get_by_label("Download limit").fill("0")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Ensure this value is greater than or equal to 1.")).to_be_visible()
    shot(page, "17-edit-error")
    page.get_by_label("Download limit").fill("7")
    page.get_by_label("New password").fill("letmein")
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_text("Your changes to “Alpha, renamed” are saved.")).to_be_visible()
    expect(alpha).to_contain_text("0 / 7")
    edited = Archive.objects.get(pk=ready.pk)
    assert edited.name == "Alpha, renamed"
    assert edited.has_password

    alpha.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete this archive?")).to_be_visible()
    shot(page, "18-delete-confirm")
    page.get_by_role("button", name="Delete for good").click()
    expect(page.get_by_text("“Alpha, renamed” is deleted.")).to_be_visible()
    expect(page.locator(f"tr[data-archive-row='{ready.id}']")).to_have_count(0)
    assert not Archive.objects.filter(pk=ready.pk).exists()


def test_statistics_charts_and_log_after_downloads(
    open_page: Callable[..., Page],
    make_archive: Callable[..., Archive],
    user: User,
    password: str,
    live_server: LiveServer,
) -> None:
    archive = make_archive({"a.txt": b"alpha"}, name="Popular")
    referers = ["https://news.example/item/1"] * 12 + ["https://blog.example/"] * 8 + [""] * 5
    for number, referer in enumerate(referers):
        answer = requests.get(
            f"{live_server.url}{download_path(archive)}",
            headers={"Referer": referer, "User-Agent": f"TestAgent/{number}"},
            timeout=10,
        )
        assert answer.status_code == 200
    page = open_page()
    log_in(page, user, password)
    api_calls: list[str] = []
    page.on("request", lambda request: api_calls.append(request.url))
    page.goto(reverse("archives:stats", args=[archive.id]))
    stats = page.locator("#stats")
    expect(stats).to_have_attribute("data-loaded", "30")
    expect(stats).to_have_attribute("data-log-loaded", "1")
    assert any("/stats/?days=30" in url for url in api_calls)
    assert any(url.endswith("/downloads/") for url in api_calls)
    expect(page.locator("[data-period-total]")).to_have_text("25")
    expect(page.locator("canvas#chart-days")).to_be_visible()
    expect(page.locator("canvas#chart-referrers")).to_be_visible()
    per_day = page.evaluate(
        "Chart.getChart('chart-days').data.datasets[0].data.reduce((a, b) => a + b, 0)"
    )
    assert per_day == 25
    referrers = page.evaluate(
        "(() => { const c = Chart.getChart('chart-referrers');"
        " const counts = c.data.datasets[0].data;"
        " return Object.fromEntries(c.data.labels.map((l, i) => [l, counts[i]])); })()"
    )
    assert referrers == {"news.example": 12, "blog.example": 8, "(direct)": 5}
    rows = page.locator("[data-log-rows] tr")
    expect(rows).to_have_count(20)
    expect(rows.first).to_contain_text("127.0.0.1")
    expect(rows.first).to_contain_text("TestAgent/24")
    expect(page.locator("[data-log-page]")).to_have_text("Page 1 of 2")
    shot(page, "19-statistics")

    page.get_by_role("button", name="Next").click()
    expect(stats).to_have_attribute("data-log-loaded", "2")
    expect(rows).to_have_count(5)
    expect(page.locator("[data-log-page]")).to_have_text("Page 2 of 2")

    page.locator("label[for='days-7']").click()
    expect(stats).to_have_attribute("data-loaded", "7")
    assert any("/stats/?days=7" in url for url in api_calls)
    labels = page.evaluate("Chart.getChart('chart-days').data.labels.length")
    assert labels == 7


def test_pages_fit_a_360px_screen(
    open_page: Callable[..., Page],
    make_archive: Callable[..., Archive],
    user: User,
    password: str,
) -> None:
    archive = make_archive(
        {"a-file-with-a-rather-long-name-that-must-wrap-somewhere.txt": b"x" * 5000},
        name="A long archive name that needs to wrap on a narrow phone screen",
        password="pw",
    )
    page = open_page(width=360, height=780)
    pages = {
        "20-phone-home": "/",
        "21-phone-share": share_path(archive),
    }
    for name, path in pages.items():
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        assert_fields_labelled(page)
        shot(page, name)
    log_in(page, user, password)
    pages = {
        "22-phone-upload": reverse("archives:upload"),
        "23-phone-dashboard": reverse("archives:dashboard"),
        "24-phone-stats": reverse("archives:stats", args=[archive.id]),
        "25-phone-edit": reverse("archives:edit", args=[archive.id]),
    }
    for name, path in pages.items():
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        assert_fields_labelled(page)
        shot(page, name)
    # Everything is reachable from the keyboard, with a visible focus ring.
    page.goto(reverse("archives:upload"))
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_russian_from_the_browser_and_the_switcher(
    open_page: Callable[..., Page], make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.txt": b"alpha"}, name="Отчёт", max_downloads=2)
    page = open_page(locale="ru-RU")
    page.goto(share_path(archive))
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", name="Внутри ZIP")).to_be_visible()
    expect(page.get_by_text("Осталось скачиваний")).to_be_visible()
    expect(page.locator("[data-download-button]")).to_contain_text("Скачать")
    shot(page, "26-share-russian")
    page.get_by_role("button", name="EN English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Inside the ZIP")).to_be_visible()
    expect(page.locator("[data-download-button]")).to_contain_text("Download")


def test_dark_mode_follows_the_system(
    open_page: Callable[..., Page], make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()
    page = open_page()
    page.emulate_media(color_scheme="dark")
    page.goto(share_path(archive))
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    shot(page, "27-share-dark")
    page.emulate_media(color_scheme="light")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")


def test_hostile_names_are_shown_as_text_everywhere(
    open_page: Callable[..., Page],
    user: User,
    password: str,
    live_worker: object,
) -> None:
    script = "<script>alert('name')</script>"
    image = "<img src=x onerror=alert('file')>"
    page = open_page()
    log_in(page, user, password)
    page.goto(reverse("archives:upload"))
    page.set_input_files(
        "#id_uploads",
        [
            {"name": f"{image}.txt", "mimeType": "text/plain", "buffer": b"one"},
            {"name": f"{script}.txt", "mimeType": "text/plain", "buffer": b"two"},
        ],
    )
    expect(page.locator("[data-file-list]")).to_contain_text(f"{image}.txt")
    page.get_by_label("Name", exact=True).fill(script)
    page.get_by_label("Description").fill(image)
    page.get_by_role("button", name="Upload and share").click()
    expect(page.locator("[data-result]")).to_be_visible(timeout=60_000)
    archive = Archive.objects.get(owner=user)
    pages = [
        share_path(archive),
        reverse("archives:dashboard"),
        reverse("archives:edit", args=[archive.id]),
        reverse("archives:delete", args=[archive.id]),
        reverse("archives:stats", args=[archive.id]),
    ]
    for path in pages:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.locator("img[src='x']").count() == 0, path
        scripts = page.evaluate(
            "Array.from(document.scripts).filter(s => !s.src).map(s => s.textContent)"
        )
        assert scripts == [], path
        assert script in page.locator("body").inner_text(), path
    page.goto(share_path(archive))
    expect(page.get_by_role("heading", name=script)).to_be_visible()
    expect(page.get_by_text(image).first).to_be_visible()
    shot(page, "28-hostile-names")


def test_dragged_files_join_the_list_and_can_be_removed(
    open_page: Callable[..., Page], user: User, password: str
) -> None:
    page = open_page()
    log_in(page, user, password)
    page.goto(reverse("archives:upload"))
    page.evaluate(
        """() => {
          const transfer = new DataTransfer();
          transfer.items.add(new File(["a".repeat(2048)], "dragged-one.txt"));
          transfer.items.add(new File(["b"], "dragged-two.txt"));
          const zone = document.querySelector("[data-drop-zone]");
          zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true}));
          zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
        }"""
    )
    listed = page.locator("[data-file-list] li")
    expect(listed).to_have_count(2)
    expect(listed.nth(0)).to_contain_text("dragged-one.txt")
    expect(listed.nth(0)).to_contain_text("2 KB")
    page.get_by_role("button", name="Remove dragged-one.txt").click()
    expect(listed).to_have_count(1)
    expect(page.locator("[data-file-summary]")).to_contain_text("1 file")
