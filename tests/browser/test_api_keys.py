"""The API keys page and the dashboard's storage bar in real Chromium: make a key, copy
it, use it against the live server (a read-only key is refused an upload, naming the
scope), see it listed by its prefix only, revoke it; the bar at 360 px, dark and in
Russian. Screenshots land in ``test-artifacts/`` (git-ignored)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
import requests
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts.models import ApiKey
from tests.browser.support import fits, log_in, shot

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.live_server_helper import LiveServer

    from accounts.models import User
    from archives.models import Archive

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_make_copy_use_and_revoke_a_key(
    open_page: Callable[..., Page], user: User, password: str, live_server: LiveServer
) -> None:
    page = open_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, user, password)

    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    expect(page.get_by_text("No API keys yet.")).to_be_visible()
    page.get_by_label("Name").fill("read-only script")
    page.get_by_label("archives:read").check()
    page.get_by_label("Expires").select_option(label="In 30 days")
    page.get_by_role("button", name="Create the key").click()

    shown = page.get_by_label("New API key")
    key = shown.input_value()
    assert re.fullmatch(r"adk_[\w-]{24}", key)
    page.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == key
    row = page.locator(f"[data-key='{ApiKey.objects.get().pk}']")
    expect(row).to_contain_text("read-only script")
    expect(row).to_contain_text(key[:8])
    shot(page, "keys-1-created")

    headers = {"Authorization": f"Bearer {key}"}
    listed = requests.get(f"{live_server.url}/api/archives/", headers=headers, timeout=10)
    upload = requests.post(
        f"{live_server.url}/api/archives/",
        headers=headers,
        files={"files": ("a.txt", b"hello")},
        timeout=10,
    )
    assert listed.status_code == 200
    assert upload.status_code == 403
    assert upload.json() == {"detail": "This key lacks the scope archives:write."}

    page.goto(reverse("accounts:keys"))
    expect(page.get_by_label("New API key")).to_have_count(0)
    assert key not in page.content()
    expect(row).to_contain_text("last used")
    shot(page, "keys-2-listed")

    row.get_by_role("button", name="Revoke read-only script").click()
    expect(page.get_by_text("The key “read-only script” is revoked.")).to_be_visible()
    expect(page.locator("[data-key]")).to_have_count(0)
    refused = requests.get(f"{live_server.url}/api/archives/", headers=headers, timeout=10)
    assert refused.status_code == 401


def test_the_keys_page_on_a_phone_in_the_dark_and_in_russian(
    open_page: Callable[..., Page], user: User, password: str
) -> None:
    page = open_page(width=360, height=780)
    page.emulate_media(color_scheme="dark")
    log_in(page, user, password)
    page.goto(reverse("accounts:keys"))
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="RU Русский").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    expect(page.get_by_role("heading", name="API-ключи", level=1)).to_be_visible()
    page.get_by_label("Название").fill("телефон")
    page.get_by_label("webhooks:write").check()
    page.get_by_role("button", name="Создать ключ").click()
    expect(page.get_by_label("Новый API-ключ")).to_be_visible()
    assert fits(page, 360)
    shot(page, "keys-3-phone-dark-ru")


def test_the_storage_bar_on_the_dashboard(
    open_page: Callable[..., Page],
    make_archive: Callable[..., Archive],
    user: User,
    password: str,
) -> None:
    make_archive({"a.bin": b"a" * 3000}, build=False)
    make_archive({"b.bin": b"b" * 1000}, build=False)
    user.quota_bytes = 5000
    user.save()
    page = open_page(width=360, height=780)
    log_in(page, user, password)
    page.goto(reverse("archives:dashboard"))

    bar = page.locator("[data-quota] [role=progressbar]")
    expect(bar).to_have_attribute("aria-valuenow", "80")
    expect(page.locator("[data-quota-text]")).to_have_text(
        re.compile(r"3\.9\sKB of 4\.9\sKB used, in 2 archives")
    )
    fill = page.locator("[data-quota] .progress-bar")
    expect(fill).to_have_class(re.compile(r"bg-warning"))
    ratio = fill.evaluate(
        "el => el.getBoundingClientRect().width / el.parentElement.getBoundingClientRect().width"
    )
    assert 0.78 < ratio < 0.82
    assert fits(page, 360)
    shot(page, "keys-4-quota-bar-phone")
    page.emulate_media(color_scheme="dark")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    shot(page, "keys-5-quota-bar-dark")
