"""The upload page sends files resumably (tus) in real Chromium: a chosen or dropped folder
keeps its structure in the ZIP, and the share link and QR code appear as soon as the upload
ends, while the ZIP is still to be built.
"""

from __future__ import annotations

import os
import zipfile
from io import BytesIO
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from archives import storage
from archives.build import build_archive
from archives.models import Archive, Status
from resumable.models import ResumableUpload
from tests.browser.support import DROP_FOLDER, log_in, shot, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

    from accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# A folder as a person would pick it: nested folders, a file of several megabytes.
TREE = {
    "album/notes.txt": b"what we saw\n" * 500,
    "album/day1/photo.jpg": os.urandom(3 * 1024 * 1024 + 123),
    "album/day1/deep/er/map.txt": b"turn left\n" * 50,
    "album/day2/empty.txt": b"",
}


def zip_members(archive: Archive) -> dict[str, bytes]:
    with zipfile.ZipFile(storage.local_path(archive.zip_name)) as built:
        assert built.testzip() is None
        return {name: built.read(name) for name in built.namelist()}


def decode_image(page: Page, selector: str) -> str:
    import zxingcpp
    from PIL import Image

    picture = Image.open(BytesIO(page.locator(selector).screenshot()))
    found = zxingcpp.read_barcodes(picture)
    assert found, f"no QR code in {selector}"
    return found[0].text


def write_tree(root: Path) -> Path:
    for path, data in TREE.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root / "album"


def test_chosen_folder_keeps_its_structure_and_the_link_comes_before_the_build(
    open_page: Callable[..., Page],
    live_server: LiveServer,
    user: User,
    password: str,
    tmp_path: Path,
) -> None:
    page = open_page()
    log_in(page, user, password)
    page.goto(reverse("archives:upload"))
    page.set_input_files("#folder-input", write_tree(tmp_path))
    listed = page.locator("[data-file-list] li")
    expect(listed).to_have_count(len(TREE))
    expect(page.locator("[data-file-list]")).to_contain_text("album/day1/deep/er/map.txt")
    page.get_by_label("Name", exact=True).fill("Album")
    shot(page, "40-upload-folder-chosen")

    with page.expect_request(lambda request: request.url.endswith("/api/archives/")) as sent:
        page.get_by_role("button", name="Upload and share").click()
    assert (sent.value.post_data_json or {})["uploads"]
    # No worker runs: the archive stays pending, yet its link and QR code are there.
    share = page.locator("[data-share]")
    expect(share).to_be_visible()
    archive = Archive.objects.get(owner=user)
    assert archive.status == Status.PENDING
    url = f"{live_server.url}{reverse('sharing:share', args=[archive.slug])}"
    expect(page.locator("[data-result-url]")).to_have_value(url)
    wait_until(
        page,
        "document.querySelector('[data-result-qr]').complete"
        " && document.querySelector('[data-result-qr]').naturalWidth > 0",
    )
    assert decode_image(page, "[data-result-qr]") == url
    expect(page.locator("[data-result]")).to_be_hidden()
    expect(page.locator("[data-build-status]")).to_have_text("waiting")
    expect(page.locator("[data-upload-progress]")).to_have_attribute("aria-valuenow", "100")
    assert not ResumableUpload.objects.exists()
    shot(page, "41-upload-link-before-build")

    build_archive(archive.id)
    expect(page.locator("[data-result]")).to_be_visible()
    expect(page.locator("[data-build-progress]")).to_have_attribute("aria-valuenow", "100")
    shot(page, "42-upload-folder-ready")
    archive.refresh_from_db()
    assert zip_members(archive) == TREE


def test_dropped_folder_is_walked_and_sent_with_its_paths(
    open_page: Callable[..., Page], user: User, password: str
) -> None:
    page = open_page()
    log_in(page, user, password)
    page.goto(reverse("archives:upload"))
    tree = {"trip": {"a.txt": "alpha", "sub": {"b.txt": "beta", "c.txt": "gamma"}}}
    page.evaluate(DROP_FOLDER, tree)
    expect(page.locator("[data-file-list] li")).to_have_count(3)
    expect(page.locator("[data-file-list]")).to_contain_text("trip/sub/c.txt")
    page.get_by_role("button", name="Upload and share").click()
    expect(page.locator("[data-share]")).to_be_visible()
    archive = Archive.objects.get(owner=user)
    build_archive(archive.id)
    expect(page.locator("[data-result]")).to_be_visible()
    archive.refresh_from_db()
    assert zip_members(archive) == {
        "trip/a.txt": b"alpha",
        "trip/sub/b.txt": b"beta",
        "trip/sub/c.txt": b"gamma",
    }
