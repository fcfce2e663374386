"""The notifications page in real Chromium: add a webhook, reveal its secret, send a test
to a real receiver on 127.0.0.1 and see it delivered in the log, delete it after the
confirmation. The screenshot lands in ``test-artifacts/`` (git-ignored)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from config.celery import app
from notifications.models import Event, Webhook
from tests.browser.support import ARTIFACTS, TIMEOUT, log_in
from tests.notifications.receiver import Receiver, run_receiver

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from playwright.sync_api import Route
    from pytest_django.fixtures import Settings as DjangoSettings
    from pytest_django.live_server_helper import LiveServer

    from accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from run_receiver(Receiver())


@pytest.fixture
def tasks_in_process(settings: DjangoSettings) -> Iterator[None]:
    """Deliveries run in the live server's thread (Celery's eager mode), to a receiver on
    127.0.0.1, which the allow rule then has to permit."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_add_reveal_test_and_delete_a_webhook(
    browser: Browser,
    live_server: LiveServer,
    user: User,
    password: str,
    receiver: Receiver,
    tasks_in_process: None,
) -> None:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT)
    page: Page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(reverse("accounts:login"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))

    page.get_by_role("link", name="Notifications").click()
    form = page.locator("form", has=page.get_by_role("button", name="Add the webhook"))
    form.get_by_label("URL").fill(receiver.url)
    form.get_by_label("The archive is ready").check()
    form.get_by_role("button", name="Add the webhook").click()

    webhook = Webhook.objects.get(owner=user)
    receiver.secret = webhook.secret
    secret = page.get_by_label("Secret")
    expect(secret).to_have_attribute("type", "password")
    page.get_by_role("button", name="Show").click()
    expect(secret).to_have_attribute("type", "text")
    expect(secret).to_have_value(webhook.secret)

    page.get_by_role("button", name="Send a test").click()
    log = page.locator("table[data-deliveries] tbody")
    expect(log).to_contain_text("webhook.test")
    expect(log).to_contain_text("delivered")
    expect(log).to_contain_text("200")
    [request] = receiver.requests
    assert request.signature_ok
    assert request.headers["X-Event"] == "webhook.test"
    page.screenshot(path=str(ARTIFACTS / "notifications.png"), full_page=True)

    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete this webhook?")).to_be_visible()
    page.get_by_role("button", name="Delete for good").click()
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()
    assert not Webhook.objects.exists()
    assert errors == []
    context.close()


def test_the_show_and_copy_buttons_wait_for_the_scripts_that_make_them_work(
    open_page: Callable[..., Page], user: User, password: str
) -> None:
    Webhook.objects.create(
        owner=user, url="https://hooks.example.org/in", events=[Event.READY],
        created_at=timezone.now(),
    )  # fmt: skip
    page = open_page()
    log_in(page, user, password)
    scripts = re.compile(r"/js/(site|notifications)\b[^/]*\.js$")
    held: list[Route] = []
    page.route(scripts, lambda route: held.append(route))

    page.goto(reverse("notifications:page"), wait_until="commit")
    show = page.get_by_role("button", name="Show")
    copy = page.get_by_role("button", name="Copy")
    # Clicked now, they would do nothing: no script has given them their work yet.
    expect(show).to_be_disabled()
    expect(copy).to_be_disabled()
    assert held, "the page's scripts were not held back"
    for route in held:
        route.continue_()
    page.unroute(scripts)  # lets through one asked for after these, if any
    expect(show).to_be_enabled()
    expect(copy).to_be_enabled()
    show.click()
    expect(page.get_by_label("Secret")).to_have_attribute("type", "text")
