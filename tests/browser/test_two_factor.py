"""Two-factor sign-in in real Chromium: an authenticator app set up from its QR code's
secret (codes made by pyotp), recovery codes, the code prompt after the password; and a
passkey on Chromium's virtual authenticator (DevTools' WebAuthn domain: CTAP2, internal,
resident keys, user verified), added, then signing in alone and as the second factor.
Screenshots go to ``test-artifacts/``; those of the brief also to /tmp/shots/mfa/ when
that folder exists."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pyotp
import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.support import ARTIFACTS, shot

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import CDPSession, Route
    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/mfa")
PASSWORD_SUBMIT = "form:has(input[name=password]) button[type=submit]"


def keep(page: Page, name: str) -> None:
    shot(page, name)
    if SHOTS.is_dir():
        shutil.copy(ARTIFACTS / f"{name}.png", SHOTS / f"{name}.png")


def enter_password(page: Page, user: User, password: str) -> None:
    page.goto(reverse("accounts:login"))
    page.locator("input[name=login]").fill(user.username)
    page.locator("input[name=password]").fill(password)
    page.locator(PASSWORD_SUBMIT).click()


def confirm_password(page: Page, password: str) -> None:
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Confirm").click()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in", exact=True)).to_be_visible()


def add_virtual_authenticator(page: Page) -> tuple[CDPSession, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def test_authenticator_app_recovery_codes_and_the_code_prompt(
    open_page: Callable[..., Page], user: User, password: str
) -> None:
    page = open_page()
    enter_password(page, user, password)
    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page.locator("[data-mfa-off]")).to_be_visible()
    page.get_by_role("link", name="Set up the app").click()
    confirm_password(page, password)

    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    qr = page.locator("img[data-totp-qr]")
    expect(qr).to_be_visible()
    assert page.evaluate("document.querySelector('img[data-totp-qr]').naturalWidth") > 0
    secret = page.get_by_label("Secret, to type in instead of scanning").input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    keep(page, "mfa-1-totp-enrolment")
    app = pyotp.TOTP(secret)
    page.get_by_label("Code of the app").fill(app.now())
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_text("Authenticator app activated.")).to_be_visible()
    codes = page.locator("[data-recovery-codes] li").all_inner_texts()
    assert len(codes) == 10
    keep(page, "mfa-2-recovery-codes")
    log_out(page)

    enter_password(page, user, password)
    expect(page).to_have_url(re.compile(re.escape(reverse("mfa_authenticate"))))
    keep(page, "mfa-3-code-prompt")
    page.get_by_label("Code of the app, or a recovery code").fill("000000")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Incorrect code.")).to_be_visible()
    page.get_by_label("Code of the app, or a recovery code").fill(codes[0])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".navbar-text")).to_contain_text(user.username)
    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page.get_by_text("9 of 10 codes left.")).to_be_visible()


def test_the_code_prompt_at_360px_dark_and_in_russian(
    open_page: Callable[..., Page], user: User, password: str
) -> None:
    page = open_page(locale="ru-RU", width=360, height=780)
    page.emulate_media(color_scheme="dark")
    enter_password(page, user, password)
    page.goto(reverse("mfa_activate_totp"))
    page.locator("input[name=password]").fill(password)
    page.locator("main button[type=submit]").click()
    secret = page.locator("#authenticator_secret").input_value()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    keep(page, "mfa-4-totp-enrolment-360-dark-ru")
    page.locator("input[name=code]").fill(pyotp.TOTP(secret).now())
    page.locator("main button[type=submit]").click()
    expect(page.locator("[data-recovery-codes]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.goto(reverse("mfa_index"))
    expect(page.get_by_role("heading", name="Двухфакторная аутентификация")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    keep(page, "mfa-5-index-360-dark-ru")
    page.goto(reverse("mfa_add_webauthn"))
    expect(page.get_by_role("heading", name="Добавить ключ доступа")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page = open_page(locale="ru-RU", width=360, height=780)
    page.emulate_media(color_scheme="dark")
    enter_password(page, user, password)
    expect(page.get_by_role("button", name="Использовать ключ доступа")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    keep(page, "mfa-9-code-prompt-360-dark-ru")


def test_a_passkey_is_added_then_signs_in_alone_and_as_second_factor(
    open_page: Callable[..., Page], user: User, password: str
) -> None:
    page = open_page(host="localhost")
    cdp, authenticator_id = add_virtual_authenticator(page)
    enter_password(page, user, password)
    page.get_by_role("link", name="Two-factor authentication").click()
    page.get_by_role("link", name="Add a passkey").click()
    confirm_password(page, password)
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Add the passkey").click()

    expect(page.get_by_text("Security key added.")).to_be_visible()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert [c["isResidentCredential"] for c in credentials["credentials"]] == [True]
    page.goto(reverse("mfa_list_webauthn"))
    row = page.locator("[data-passkey]")
    expect(row).to_contain_text("laptop")
    expect(row).to_contain_text("signs in alone")
    expect(row).to_contain_text("never used")
    keep(page, "mfa-6-passkey-list")
    log_out(page)

    page.goto(reverse("accounts:login"))
    keep(page, "mfa-7-login-with-a-passkey")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator(".navbar-text")).to_contain_text(user.username)
    page.goto(reverse("mfa_list_webauthn"))
    expect(page.locator("[data-passkey]")).to_contain_text("last used")
    log_out(page)

    enter_password(page, user, password)
    expect(page).to_have_url(re.compile(re.escape(reverse("mfa_authenticate"))))
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.locator(".navbar-text")).to_contain_text(user.username)


def test_a_site_that_requires_two_factor_sends_a_user_without_one_to_enrol(
    open_page: Callable[..., Page], user: User, password: str, settings: DjangoSettings
) -> None:
    settings.REQUIRE_TWO_FACTOR = True
    page = open_page()
    enter_password(page, user, password)

    expect(page).to_have_url(re.compile(re.escape(reverse("mfa_index")) + "$"))
    expect(page.get_by_text("This site requires two-factor authentication")).to_be_visible()
    keep(page, "mfa-8-required")
    page.goto(reverse("archives:dashboard"))
    expect(page).to_have_url(re.compile(re.escape(reverse("mfa_index")) + "$"))
    page.get_by_role("link", name="Set up the app").click()
    confirm_password(page, password)
    secret = page.get_by_label("Secret, to type in instead of scanning").input_value()
    page.get_by_label("Code of the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("[data-recovery-codes]")).to_be_visible()

    page.goto(reverse("archives:dashboard"))
    expect(page).to_have_url(re.compile(re.escape(reverse("archives:dashboard")) + "$"))


def test_turning_on_two_factor_signs_the_other_browser_out(
    open_page: Callable[..., Page], user: User, password: str
) -> None:
    laptop = open_page()
    enter_password(laptop, user, password)
    phone = open_page(width=360, height=780)
    enter_password(phone, user, password)
    phone.goto(reverse("archives:dashboard"))
    expect(phone.locator(".navbar-text")).to_contain_text(user.username)

    laptop.goto(reverse("mfa_activate_totp"))
    confirm_password(laptop, password)
    expect(laptop.get_by_text("Your other browsers and devices are signed out")).to_be_visible()
    secret = laptop.get_by_label("Secret, to type in instead of scanning").input_value()
    laptop.get_by_label("Code of the app").fill(pyotp.TOTP(secret).now())
    laptop.get_by_role("button", name="Turn on").click()
    expect(laptop.locator("[data-recovery-codes]")).to_be_visible()

    phone.goto(reverse("archives:dashboard"))
    expect(phone).to_have_url(re.compile(re.escape(reverse("accounts:login"))))
    expect(phone.locator("input[name=login]")).to_be_visible()
    keep(phone, "mfa-10-other-browser-signed-out")
    laptop.goto(reverse("archives:dashboard"))
    expect(laptop.locator(".navbar-text")).to_contain_text(user.username)
    keep(laptop, "mfa-11-this-browser-stays")


def test_a_passkey_button_waits_for_the_script_that_makes_it_work(
    open_page: Callable[..., Page],
) -> None:
    page = open_page(host="localhost")
    held: list[Route] = []
    page.route("**/mfa/js/webauthn.js", lambda route: held.append(route))

    page.goto(reverse("accounts:login"), wait_until="commit")
    button = page.get_by_role("button", name="Sign in with a passkey")
    # Clicked now, it would send the sign-in form without a passkey.
    expect(button).to_be_disabled()
    assert len(held) == 1
    held[0].continue_()
    expect(button).to_be_enabled()
