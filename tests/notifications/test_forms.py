"""The notifications page's forms: a webhook needs a URL and an event; the e-mail choice
may be empty; both forms' ids stay apart on the one page."""

from __future__ import annotations

from notifications.forms import EmailChoiceForm, WebhookForm
from notifications.models import Event


def test_a_webhook_needs_a_url_and_at_least_one_event() -> None:
    form = WebhookForm(data={"url": "", "events": []})

    assert not form.is_valid()
    assert set(form.errors) == {"url", "events"}


def test_a_webhook_url_without_a_scheme_is_read_as_https() -> None:
    form = WebhookForm(data={"url": "hooks.example.org/in", "events": [Event.READY.value]})

    assert form.is_valid(), form.errors
    assert form.cleaned_data["url"] == "https://hooks.example.org/in"


def test_an_unknown_event_is_refused() -> None:
    form = WebhookForm(data={"url": "https://example.org/", "events": ["archive.eaten"]})

    assert not form.is_valid()
    assert "events" in form.errors


def test_the_e_mail_choice_may_be_empty_but_not_malformed() -> None:
    assert EmailChoiceForm(data={"email": "", "events": []}).is_valid()
    assert not EmailChoiceForm(data={"email": "not an address", "events": []}).is_valid()


def test_the_two_forms_label_their_events_with_distinct_ids() -> None:
    webhook = WebhookForm()["events"].auto_id
    mail = EmailChoiceForm()["events"].auto_id

    assert webhook == "webhook_events"
    assert mail == "mail_events"
