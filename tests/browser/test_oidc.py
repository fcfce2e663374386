"""Sign-in with an OpenID Connect provider in real Chromium, against a real provider
(node's oidc-provider, tests/accounts/oidc_provider.mjs): our login page, its button, the
provider's login, and back signed in as a new user; a refused e-mail domain's page. On a
phone, in the dark, in English and Russian. Screenshots land in ``test-artifacts/``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts.models import User
from tests.accounts.oidc_support import (
    ACCOUNT_PASSWORD,
    LABEL,
    account,
    identity_provider,
    use_provider,
)
from tests.browser.support import fits, shot

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from pytest_django.fixtures import Settings as DjangoSettings
    from pytest_django.live_server_helper import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_with_the_provider_makes_an_account_and_comes_back(
    open_page: Callable[..., Page],
    live_server: LiveServer,
    tmp_path: Path,
    settings: DjangoSettings,
) -> None:
    dana = account("dana", email="dana@example.org")
    with identity_provider(tmp_path, site=live_server.url, accounts=dana) as provider:
        use_provider(settings, provider)
        page = open_page(width=360, height=780)
        page.emulate_media(color_scheme="dark")

        page.goto(reverse("accounts:login") + "?next=/dashboard/")
        button = page.get_by_role("button", name=f"Sign in with {LABEL}")
        expect(button).to_be_visible()
        expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
        assert fits(page, 360)
        shot(page, "oidc-1-login-with-provider-360-dark")

        button.click()
        expect(page).to_have_url(re.compile(re.escape(provider.issuer) + r"/interaction/"))
        page.get_by_label("Login").fill("dana")
        page.get_by_label("Password").fill(ACCOUNT_PASSWORD)
        shot(page, "oidc-2-provider-login")
        page.get_by_role("button", name="Sign in").click()

        expect(page).to_have_url(f"{live_server.url}/dashboard/")
        # The URL is there once the redirect lands, before the page's scripts have run:
        # a tap on Menu before Bootstrap's has would open nothing.
        page.wait_for_load_state()
        page.get_by_role("button", name="Menu").click()
        expect(page.get_by_text("dana", exact=True)).to_be_visible()
        # The menu has finished opening: the screenshot shows who is signed in.
        expect(page.locator("#site-nav.collapsing")).to_have_count(0)
        assert fits(page, 360)
        shot(page, "oidc-3-signed-in-360-dark")

    dana_user = User.objects.get(username="dana")
    assert dana_user.email == "dana@example.org"
    assert not dana_user.has_usable_password()


def test_a_domain_not_allowed_gets_a_page_that_says_so_in_russian(
    open_page: Callable[..., Page],
    live_server: LiveServer,
    tmp_path: Path,
    settings: DjangoSettings,
) -> None:
    erin = account("erin", email="erin@elsewhere.example")
    with identity_provider(tmp_path, site=live_server.url, accounts=erin) as provider:
        use_provider(settings, provider, allowed_domains=["corp.example"])
        page = open_page(width=360, height=780, locale="ru-RU")
        page.emulate_media(color_scheme="dark")
        page.goto(reverse("accounts:login"))
        expect(page.locator("html")).to_have_attribute("lang", "ru")

        page.get_by_role("button", name=f"Войти через {LABEL}").click()
        page.get_by_label("Login").fill("erin")
        page.get_by_label("Password").fill(ACCOUNT_PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        expect(page.get_by_role("heading", name="Вход отклонён", level=1)).to_be_visible()
        expect(page.get_by_text("erin@elsewhere.example", exact=False)).to_be_visible()
        expect(page.get_by_text("@corp.example")).to_be_visible()
        assert fits(page, 360)
        shot(page, "oidc-4-domain-refused-360-dark-ru")

    assert not User.objects.filter(username="erin").exists()
